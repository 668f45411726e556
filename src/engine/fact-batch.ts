import { randomBytes } from "node:crypto";
import type { Fact, FactReader } from "../core/fact.js";
import type { HostConnection } from "../core/transport.js";

/**
 * Runs many facts in one remote script (one round trip, STYLE.md habit 4). Each fact's output is
 * framed by markers carrying a per-batch nonce, so no file content can forge a boundary.
 */
export interface FactBatch {
  script: string;
  parse(stdout: string): KnownFacts;
}

/** Facts already read, by key: a reader that can also say what it holds. */
export interface KnownFacts extends FactReader {
  has(key: string): boolean;
  /** Every answer it holds, by fact key (a saved plan's record of the state it was made against). */
  entries(): [string, unknown][];
}

/** Answers from `known` where it has them; the rest from `fresh`. */
export function mergeFacts(known: KnownFacts, fresh: FactReader): FactReader {
  return { get: (fact) => (known.has(fact.key) ? known.get(fact) : fresh.get(fact)) };
}

export function buildBatch(facts: Fact<unknown>[]): FactBatch {
  const unique = new Map<string, Fact<unknown>>();
  for (const f of facts) unique.set(f.key, f);
  const all = [...unique.values()];
  // Combinable facts are asked together: one snippet per combiner, answers split per fact.
  const groups = new Map<string, Fact<unknown>[]>();
  for (const f of all) if (f.combine) groups.set(f.combine.id, [...(groups.get(f.combine.id) ?? []), f]);
  const combined = [...groups.values()].filter((g) => g.length > 1);
  const inGroup = new Set(combined.flat());
  const list = all.filter((f) => !inGroup.has(f));
  const nonce = randomBytes(6).toString("hex");
  const begin = (i: number | string) => `@@haprov-${nonce}-${i}-begin`;
  const lines = ["exec 2>/dev/null"];
  const block = (i: number | string, script: string) =>
    // A subshell per block: an `exit` in one cannot end the batch.
    lines.push(
      `printf '\\n%s\\n' '${begin(i)}'`,
      `( ${script}\n)`,
      `printf '\\n@@haprov-${nonce}-end %d\\n' "$?"`,
    );
  list.forEach((f, i) => block(i, f.script));
  combined.forEach((g, gi) => block(`g${gi}`, g[0]!.combine!.script(g)));
  return {
    script: lines.join("\n"),
    parse(stdout: string): KnownFacts {
      const values = new Map<string, unknown>();
      const body = (i: number | string, what: string): { out: string; code: number } => {
        const start = stdout.indexOf(`\n${begin(i)}\n`);
        if (start < 0) throw new Error(`${what}: no output (the batch script was cut short)`);
        const bodyStart = start + begin(i).length + 2;
        const endMarker = `\n@@haprov-${nonce}-end `;
        const end = stdout.indexOf(endMarker, bodyStart);
        if (end < 0) throw new Error(`${what}: output not terminated`);
        return {
          out: stdout.slice(bodyStart, end),
          code: Number.parseInt(stdout.slice(end + endMarker.length), 10),
        };
      };
      list.forEach((f, i) => {
        const { out, code } = body(i, `fact ${f.key}`);
        values.set(f.key, f.parse(out, code));
      });
      combined.forEach((g, gi) => {
        const { out, code } = body(`g${gi}`, `facts ${g[0]!.combine!.id}`);
        if (code !== 0) throw new Error(`facts ${g[0]!.combine!.id}: exit ${code}`);
        const parts = g[0]!.combine!.split(out, g);
        g.forEach((f, i) => values.set(f.key, f.parse(parts[i]!, 0)));
      });
      return {
        has: (key) => values.has(key),
        entries: () => [...values.entries()],
        get<T>(fact: Fact<T>): T {
          if (!values.has(fact.key)) throw new Error(`fact ${fact.key} was not read in this batch`);
          return values.get(fact.key) as T;
        },
      };
    },
  };
}

/** The batch script itself failed (not one fact: those keep their own exit codes). */
export class BatchFailed extends Error {
  override readonly name = "BatchFailed";
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`exit ${code}: ${stderr}`);
  }
}

const NOTHING: FactReader = {
  get: (fact) => {
    throw new Error(`fact ${fact.key} was not read`);
  },
};

/**
 * The answers to `facts` on one host: those `known` already holds (read earlier in the run and
 * still current) without asking again, the rest in one round trip — none when nothing is missing.
 */
export async function readFacts(
  conn: HostConnection,
  facts: Fact<unknown>[],
  known?: KnownFacts,
): Promise<FactReader> {
  const missing = known ? facts.filter((f) => !known.has(f.key)) : facts;
  if (missing.length === 0) return known ?? NOTHING;
  const batch = buildBatch(missing);
  const res = await conn.exec(batch.script);
  if (res.code !== 0) throw new BatchFailed(res.code, res.stderr.trim());
  const fresh = batch.parse(res.stdout);
  return known ? mergeFacts(known, fresh) : fresh;
}
