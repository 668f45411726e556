import type { Combiner, Fact } from "../core/fact.js";
import { quote } from "../core/quote.js";

export type FileState =
  | { exists: false }
  | {
      exists: true;
      mode: string;
      owner: string;
      group: string;
      sha256: string;
      /** Present when asked for (not for secret files) and the file is small enough. */
      content?: Buffer;
    };

const MAX_CONTENT = 256 * 1024;

/** Mode, owner, hash and (optionally) content of a file, in one snippet. */
export function fileState(path: string, withContent: boolean): Fact<FileState> {
  const p = quote(path);
  const content = withContent ? `; if [ "$4" -le ${MAX_CONTENT} ]; then base64 -w0 < ${p}; fi` : "";
  // Three processes per file (stat, sha256sum, base64): fact scripts run on every rerun, and on
  // small hosts the forks are what a no-op run spends its time on.
  return {
    ...(path.includes("\n") ? {} : { combine: FILES, path, withContent }),
    key: `file:${withContent ? "c" : "h"}:${path}`,
    script: `if [ -f ${p} ]; then set -- $(stat -c '%a %U %G %s' ${p}); echo "$1 $2 $3"; sha256sum < ${p}${content}; else echo absent; fi`,
    parse(out) {
      const [meta = "", hash = "", b64 = ""] = out.split("\n");
      if (meta.trim() === "absent" || meta.trim() === "") return { exists: false };
      const [mode = "", owner = "", group = ""] = meta.trim().split(" ");
      return {
        exists: true,
        mode: mode.padStart(4, "0"),
        owner,
        group,
        sha256: hash.trim().split(" ")[0]!,
        ...(withContent && (b64.trim() || hash.trim().split(" ")[0] === EMPTY_SHA256)
          ? { content: Buffer.from(b64.trim(), "base64") }
          : {}),
      };
    },
  };
}

export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export function pathExists(path: string): Fact<boolean> {
  return {
    key: `exists:${path}`,
    script: `test -e ${quote(path)}`,
    parse: (_out, code) => code === 0,
  };
}

/** Exit code of a read-only guard command (`unless`). */
export function commandSucceeds(command: string): Fact<boolean> {
  return {
    key: `cmd:${command}`,
    script: command,
    parse: (_out, code) => code === 0,
  };
}

interface FileFact extends Fact<FileState> {
  path: string;
  withContent: boolean;
}

/**
 * Every file of a batch in five processes (stat, sha256sum, find, cat, base64) instead of three
 * or four per file: on small hosts a rerun's time is mostly forks. Output sections, separated by
 * "@@" lines: y/n per file; `stat` of the existing ones; their `sha256sum`; which of the files whose
 * content is wanted are small enough; then all that content as one base64 blob, cut by the sizes.
 */
const FILES: Combiner = {
  id: "file-state",
  script(facts) {
    const files = facts as FileFact[];
    const all = files.map((f) => quote(f.path)).join(" ");
    const wanted = files.filter((f) => f.withContent).map((f) => quote(f.path));
    return [
      "set --",
      `for f in ${all}; do if [ -f "$f" ]; then set -- "$@" "$f"; echo y; else echo n; fi; done`,
      "echo @@",
      // -z: names are not escaped, so each line starts with the hash whatever the name
      `if [ $# -gt 0 ]; then stat -c '%a %U %G %s' -- "$@"; echo @@; sha256sum -z -- "$@" | tr '\\0' '\\n' | cut -c1-64; else echo @@; fi`,
      "echo @@",
      "set --",
      wanted.length > 0 ? `for f in ${wanted.join(" ")}; do [ -f "$f" ] && set -- "$@" "$f"; done` : ":",
      `if [ $# -gt 0 ]; then small=$(find "$@" -maxdepth 0 -size -${MAX_CONTENT + 1}c -print); else small=""; fi`,
      'printf "%s\\n" "$small"',
      "echo @@",
      "set --",
      'while IFS= read -r f; do [ -n "$f" ] && set -- "$@" "$f"; done <<HAPROV_EOF',
      "$small",
      "HAPROV_EOF",
      '[ $# -gt 0 ] && cat -- "$@" | base64 -w0',
      "true",
    ].join("\n");
  },
  split(out, facts) {
    const files = facts as FileFact[];
    const [flags = "", stats = "", sums = "", small = "", blob = ""] = out.split(/^@@\n/m);
    const lines = (t: string) => t.split("\n").filter((l) => l !== "");
    const exists = lines(flags).map((l) => l === "y");
    const statLines = lines(stats);
    const hashes = lines(sums);
    const smallPaths = lines(small);
    const content = Buffer.from(blob.trim(), "base64");
    const sizeOf = new Map<string, number>();
    let k = 0;
    files.forEach((f, i) => {
      if (exists[i]) sizeOf.set(f.path, Number(statLines[k++]!.split(" ")[3]));
    });
    const slices = new Map<string, Buffer>();
    let at = 0;
    for (const p of smallPaths) {
      const size = sizeOf.get(p) ?? 0;
      slices.set(p, content.subarray(at, at + size));
      at += size;
    }
    let e = 0;
    return files.map((f, i) => {
      if (!exists[i]) return "absent";
      const [mode, owner, group] = statLines[e]!.split(" ");
      const hash = hashes[e++]!;
      const body = f.withContent && slices.has(f.path) ? slices.get(f.path)!.toString("base64") : "";
      return `${mode} ${owner} ${group}\n${hash}\n${body}`;
    });
  },
};
