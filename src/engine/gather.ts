import { randomAlnum } from "../core/random.js";
import { errorMessage } from "../core/errors.js";
import type { Fact } from "../core/fact.js";
import type { HostConnection } from "../core/transport.js";
import { readFacts, type KnownFacts } from "./fact-batch.js";
import type { CompiledPhase, GatherDef } from "../core/phase.js";
import type { RunValues } from "./values.js";

/** A host's answer to a gather question; the key names the script as asked (values filled in). */
export function answer(g: GatherDef, script: string): Fact<string> {
  return {
    key: `gather:${g.name}:${script}`,
    script,
    parse: (out, code) => (code === 0 ? out.trim() : ""),
  };
}

const POLL_MS = 500;

/**
 * Asks every host the phase's gather questions in one round trip each, then registers, per
 * question, the first non-empty answer in host (inventory) order — or a value generated once for
 * the run, or the phase's first host (`otherwise: first-host`), or "" (`otherwise: empty`). A question
 * with `expect: one` must have exactly one host answering; with `waitSec` it is asked again until
 * it does. Returns the hosts that cannot go on, with the reason (an unmet expectation fails them all).
 */
export async function gather(
  phase: Pick<CompiledPhase, "name" | "gather" | "hosts" | "limitedOut">,
  hosts: string[],
  conns: ReadonlyMap<string, HostConnection>,
  values: RunValues,
  limit: <T>(fn: () => Promise<T>) => Promise<T>,
  /** The script as this host runs it ({{ host.name }} and the like filled in). */
  scriptFor: (host: string, g: GatherDef) => string,
  signal?: AbortSignal,
  /** Plan: no waiting, and an unmet expectation leaves the value unknown instead of failing. */
  dryRun = false,
  /** Answers read in the run's first round trip, while still current. */
  readAhead?: (host: string) => KnownFacts | undefined,
): Promise<Map<string, string>> {
  const defs = phase.gather;
  const failed = new Map<string, string>();
  const ask = async (asked: string[], useAhead: boolean) => {
    const answers = new Map<string, Map<string, string>>();
    await Promise.all(
      asked.map((host) =>
        limit(async () => {
          try {
            const facts = defs.map((g) => answer(g, scriptFor(host, g)));
            const read = await readFacts(conns.get(host)!, facts, useAhead ? readAhead?.(host) : undefined);
            answers.set(host, new Map(defs.map((g, i) => [g.name, read.get(facts[i]!)])));
          } catch (e) {
            failed.set(
              host,
              `gathering ${defs.map((g) => g.name).join(", ")} failed on ${host}: ${errorMessage(e)}`,
            );
          }
        }),
      ),
    );
    return answers;
  };
  const unmet = (answers: Map<string, Map<string, string>>) =>
    defs.filter((g) => g.expect === "one" && [...answers.values()].filter((a) => a.get(g.name)).length !== 1);

  let answers = await ask(hosts, true);
  const waitMs = dryRun
    ? 0
    : Math.max(0, ...defs.filter((g) => g.expect).map((g) => (g.waitSec ?? 0) * 1000));
  const deadline = Date.now() + waitMs;
  while (unmet(answers).length > 0 && failed.size === 0 && Date.now() < deadline && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    answers = await ask(hosts, false); // asked again: the live answer
  }
  if (failed.size > 0) return failed;

  const reasons: string[] = [];
  const unmetNow = unmet(answers);
  for (const g of dryRun ? [] : unmetNow) {
    const who = hosts.filter((h) => answers.get(h)!.get(g.name));
    const got = who.length === 0 ? "none did" : `${who.join(", ")} did`;
    const waited = g.waitSec ? ` (waited ${g.waitSec}s)` : "";
    reasons.push(`${g.message ?? `${g.name}: expected exactly one host to answer`}: ${got}${waited}`);
  }
  for (const g of defs) {
    const byHost = Object.fromEntries(hosts.map((h) => [h, answers.get(h)!.get(g.name) ?? ""]));
    values.setGathered(g.name, byHost, g.secret);
    if (unmetNow.includes(g)) continue; // plan: known at apply time
    let chosen = hosts.map((h) => byHost[h]).find((v) => v);
    if (chosen === undefined && g.generate) chosen = randomAlnum(g.generate.length);
    if (chosen === undefined && g.otherwise === "first-host") {
      // Deciding "nobody has it, so the first host starts it" needs every host's answer: a host
      // that was not asked may be the one that has it (an unreachable init node, a --limit).
      const unasked = [...phase.limitedOut, ...phase.hosts.filter((h) => !hosts.includes(h))];
      if (unasked.length > 0)
        reasons.push(
          `${g.name}: no host answered, and ${unasked.join(", ")} could not be asked (unreachable, failed or left out by --limit); refusing to choose ${phase.hosts[0]}`,
        );
      else chosen = phase.hosts[0];
    }
    if (chosen === undefined && g.otherwise === "empty") chosen = "";
    // No answer and no fallback: the value stays unknown, so a step that needs it fails (or, in
    // plan, says it is known at apply time) instead of writing an empty key or config.
    if (chosen !== undefined) values.set(g.name, chosen, g.secret);
  }
  if (reasons.length > 0) for (const h of hosts) failed.set(h, reasons.join("; "));
  return failed;
}
