import type { Fact } from "../core/fact.js";
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
