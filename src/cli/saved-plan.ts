import { createHash, randomBytes, scryptSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { HaprovError } from "../core/errors.js";
import type { RunEvent } from "../core/events.js";
import type { CompiledPlaybook } from "../core/phase.js";
import type { Redactor } from "../core/secret.js";
import { changeKey } from "../engine/change-key.js";
import type { KnownFacts } from "../engine/fact-batch.js";

/**
 * What you reviewed is what runs (issue #19): `plan -o FILE` saves the changes it showed and a
 * record of each host's state it was made against; `up --plan FILE` refuses, before any change,
 * when the inventory, the playbook, haprov or a host's state differ, and refuses any change the
 * plan did not show. No secret is in the file: answers that carry one (a secret file's hash, a
 * secret gather, anything holding a registered secret) and the inventory itself are kept only as
 * a salted scrypt digest, so a short password cannot be recovered by hashing guesses quickly.
 */
export interface SavedPlan {
  format: "haprov-plan/1";
  created: string;
  haprov: string;
  cluster: string;
  playbook: string;
  /** The inventory as loaded (secrets resolved), the playbook and haprov's version. */
  input: Sealed;
  hosts: Record<string, HostRecord>;
  /** The changes the plan showed, for people and for `up --plan`. */
  changes: { host: string; phase: string; step: string; message: string }[];
}

interface Sealed {
  salt: string;
  digest: string;
}

interface HostRecord {
  /** sha256 of the question → what it was about and a sha256 of the answer (non-secret answers). */
  facts: Record<string, { about: string; answer: string }>;
  /** Every secret-bearing answer, sealed together. */
  secret: Sealed & { count: number };
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
// N = 2^14: ~50 ms per digest here; a guess costs the same.
const seal = (data: string, salt = randomBytes(16).toString("hex")): Sealed => ({
  salt,
  digest: scryptSync(data, salt, 32, { N: 16384, r: 8, p: 1 }).toString("hex"),
});
const sealedEqual = (s: Sealed, data: string) => seal(data, s.salt).digest === s.digest;

/** What a fact was about, in words that carry no value (its key may hold a script). */
function about(key: string): string {
  const [kind, ...rest] = key.split(":");
  const tail = rest.join(":");
  if (kind === "file") return `file ${tail.replace(/^[ch]:/, "")}`;
  if (kind === "service") return `service ${tail}`;
  if (kind === "exists") return `path ${tail}`;
  if (kind === "gather") return `what every host was asked for ${rest[0]}`;
  if (kind === "cmd") return "a check command's exit code";
  return kind ?? key;
}

export interface PlanInput {
  cluster: string;
  playbook: CompiledPlaybook;
  /** The loaded inventory (secrets resolved) and the playbook's text. */
  material: string;
  version: string;
  redactor: Redactor;
}

/** Gathers whose answers are secrets (VRRP password, CA keys), by their fact-key prefix. */
const secretGathers = (pb: CompiledPlaybook) =>
  pb.phases.flatMap((p) => p.gather.filter((g) => g.secret).map((g) => `gather:${g.name}:`));

/** A host's answers: the non-secret ones hashed one by one, the secret ones as one text to seal. */
function split(known: KnownFacts, input: PlanInput): { facts: HostRecord["facts"]; secret: string[] } {
  const secretPrefixes = secretGathers(input.playbook);
  const facts: HostRecord["facts"] = {};
  const secret: string[] = [];
  for (const [key, value] of known.entries().sort(([a], [b]) => a.localeCompare(b))) {
    const text = JSON.stringify(value) ?? "undefined";
    const isSecret =
      key.startsWith("file:h:") || // a file read without content is a secret one
      secretPrefixes.some((p) => key.startsWith(p)) ||
      input.redactor.redact(text) !== text ||
      input.redactor.redact(key) !== key;
    if (isSecret) secret.push(`${key}\n${text}`);
    else facts[sha(key)] = { about: about(key), answer: sha(text) };
  }
  return { facts, secret };
}

function record(known: KnownFacts, input: PlanInput): HostRecord {
  const { facts, secret } = split(known, input);
  return { facts, secret: { ...seal(secret.join("\n\n")), count: secret.length } };
}

/**
 * Each host's record, made from the run's first reads when they arrive: before the run has
 * registered any value of its own, as `up --plan` will see them.
 */
export function recordHosts(reads: Map<string, KnownFacts>, input: PlanInput): SavedPlan["hosts"] {
  return Object.fromEntries([...reads].map(([h, k]) => [h, record(k, input)]));
}

/** The saved plan of a `plan` run: its hosts' records and the changes its events showed. */
export function makeSavedPlan(input: PlanInput, hosts: SavedPlan["hosts"], events: RunEvent[]): SavedPlan {
  const changes = events.flatMap((e) => {
    if (e.kind === "step" && e.status === "changed")
      return [{ host: e.host, phase: e.phase, step: e.step, message: e.message }];
    if (e.kind === "handler" && e.status === "changed")
      return [{ host: e.host, phase: e.phase, step: `handler: ${e.handler}`, message: e.message }];
    return [];
  });
  return {
    format: "haprov-plan/1",
    created: new Date().toISOString(),
    haprov: input.version,
    cluster: input.cluster,
    playbook: input.playbook.name,
    input: seal(`${input.version}\n${input.material}`),
    hosts,
    changes: input.redactor.redactDeep(changes),
  };
}

export async function loadSavedPlan(path: string): Promise<SavedPlan> {
  let p: SavedPlan;
  try {
    p = JSON.parse(await readFile(path, "utf8")) as SavedPlan;
  } catch (e) {
    throw new HaprovError(`--plan ${path}: not a plan haprov saved (${e instanceof Error ? e.message : e})`);
  }
  if (p?.format !== "haprov-plan/1" || typeof p.hosts !== "object" || !Array.isArray(p.changes))
    throw new HaprovError(`--plan ${path}: not a plan haprov saved (format ${String(p?.format)})`);
  return p;
}

/** Why this run's input is not the one the plan was made from, or undefined. */
export function inputDiffers(p: SavedPlan, input: PlanInput): string | undefined {
  if (p.cluster !== input.cluster)
    return `the plan is for cluster ${p.cluster}, this inventory is ${input.cluster}'s`;
  if (p.haprov !== input.version) return `the plan was made by haprov ${p.haprov}, this is ${input.version}`;
  if (p.playbook !== input.playbook.name)
    return `the plan ran playbook ${p.playbook}, this run ${input.playbook.name}`;
  if (!sealedEqual(p.input, `${input.version}\n${input.material}`))
    return "the inventory (or a secret it reads from the environment) or the playbook changed since the plan was made";
  return undefined;
}

/** Per host, why its state now is not the one the plan was made against. */
export function stateDiffers(
  p: SavedPlan,
  reads: Map<string, KnownFacts>,
  input: PlanInput,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const host of new Set([...Object.keys(p.hosts), ...reads.keys()])) {
    const was = p.hosts[host];
    const known = reads.get(host);
    if (!was || !known) {
      out.set(host, was ? `${host} could not be read now` : `${host} was not read when the plan was made`);
      continue;
    }
    const now = split(known, input);
    const differ = [
      ...new Set(
        [...new Set([...Object.keys(was.facts), ...Object.keys(now.facts)])]
          .filter((k) => was.facts[k]?.answer !== now.facts[k]?.answer)
          .map((k) => (now.facts[k] ?? was.facts[k])!.about),
      ),
    ];
    if (now.secret.length !== was.secret.count || !sealedEqual(was.secret, now.secret.join("\n\n")))
      differ.push("a file or value that holds a secret");
    if (differ.length > 0)
      out.set(
        host,
        `${host} is not as it was when the plan was made (${p.created}): ${differ.slice(0, 5).join("; ")}${differ.length > 5 ? ` and ${differ.length - 5} more` : ""}; make a new plan`,
      );
  }
  return out;
}

/** The changes `up --plan` may make: exactly those the plan showed. */
export const allowedChanges = (p: SavedPlan) =>
  new Set(p.changes.map((c) => changeKey(c.host, c.phase, c.step)));
