import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../core/package-root.js";

let version: string | undefined;

/** haprov's own version, from its package.json (read once). */
export function haprovVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string })
    .version;
  return version;
}
