import { randomAlnum } from "../core/random.js";
import { errorMessage } from "../core/errors.js";
import type { Fact } from "../core/fact.js";
import type { HostConnection } from "../core/transport.js";
import { buildBatch } from "./fact-batch.js";
import type { GatherDef } from "./model.js";
import type { RunValues } from "./values.js";

function answer(g: GatherDef, script: string): Fact<string> {
  return { key: `gather:${g.name}`, script, parse: (out, code) => (code === 0 ? out.trim() : "") };
}

/**
 * Asks every host the phase's gather questions in one round trip each, then registers the first
 * non-empty answer per question in host (inventory) order, or a value generated once for the run.
 * Returns the hosts whose read failed, with the reason.
 */
export async function gather(
  defs: GatherDef[],
  hosts: string[],
  conns: ReadonlyMap<string, HostConnection>,
  values: RunValues,
  limit: <T>(fn: () => Promise<T>) => Promise<T>,
  /** The script as this host runs it ({{ host.name }} and the like filled in). */
  scriptFor: (host: string, g: GatherDef) => string,
): Promise<Map<string, string>> {
  const answers = new Map<string, Map<string, string>>();
  const failed = new Map<string, string>();
  await Promise.all(
    hosts.map((host) =>
      limit(async () => {
        try {
          const facts = defs.map((g) => answer(g, scriptFor(host, g)));
          const batch = buildBatch(facts);
          const res = await conns.get(host)!.exec(batch.script);
          if (res.code !== 0) throw new Error(`exit ${res.code}: ${res.stderr.trim()}`);
          const read = batch.parse(res.stdout);
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
  for (const g of defs) {
    const byHost = Object.fromEntries(
      hosts.filter((h) => answers.has(h)).map((h) => [h, answers.get(h)!.get(g.name) ?? ""]),
    );
    values.setGathered(g.name, byHost, g.secret);
    const chosen =
      hosts.map((h) => byHost[h]).find((v) => v) ?? (g.generate ? randomAlnum(g.generate.length) : undefined);
    if (chosen !== undefined) values.set(g.name, chosen, g.secret);
  }
  return failed;
}
