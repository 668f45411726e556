import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * haprov's own directory (where package.json, playbooks/ and docker/ are), found by walking up from
 * this module: the same answer from src/ (tests), dist/ (tsc output) and the bundle dist/haprov.mjs.
 */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "haprov")
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`haprov's package.json not found above ${fileURLToPath(from)}`);
    dir = up;
  }
}
