import { randomBytes } from "node:crypto";
import type { Fact, FactReader } from "../core/fact.js";

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
}

/** Answers from `known` where it has them; the rest from `fresh`. */
export function mergeFacts(known: KnownFacts, fresh: FactReader): FactReader {
  return { get: (fact) => (known.has(fact.key) ? known.get(fact) : fresh.get(fact)) };
}

export function buildBatch(facts: Fact<unknown>[]): FactBatch {
  const unique = new Map<string, Fact<unknown>>();
  for (const f of facts) unique.set(f.key, f);
  const list = [...unique.values()];
  const nonce = randomBytes(6).toString("hex");
  const begin = (i: number) => `@@haprov-${nonce}-${i}-begin`;
  const lines = ["exec 2>/dev/null"];
  list.forEach((f, i) => {
    // A subshell per fact: an `exit` in one cannot end the batch.
    lines.push(
      `printf '\\n%s\\n' '${begin(i)}'`,
      `( ${f.script}\n)`,
      `printf '\\n@@haprov-${nonce}-end %d\\n' "$?"`,
    );
  });
  return {
    script: lines.join("\n"),
    parse(stdout: string): KnownFacts {
      const values = new Map<string, unknown>();
      list.forEach((f, i) => {
        const start = stdout.indexOf(`\n${begin(i)}\n`);
        if (start < 0) throw new Error(`fact ${f.key}: no output (the batch script was cut short)`);
        const bodyStart = start + begin(i).length + 2;
        const endMarker = `\n@@haprov-${nonce}-end `;
        const end = stdout.indexOf(endMarker, bodyStart);
        if (end < 0) throw new Error(`fact ${f.key}: output not terminated`);
        const code = Number.parseInt(stdout.slice(end + endMarker.length), 10);
        values.set(f.key, f.parse(stdout.slice(bodyStart, end), code));
      });
      return {
        has: (key) => values.has(key),
        get<T>(fact: Fact<T>): T {
          if (!values.has(fact.key)) throw new Error(`fact ${fact.key} was not read in this batch`);
          return values.get(fact.key) as T;
        },
      };
    },
  };
}
