import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * The real kubectl binaries this machine has (Google's kubectl package ships static binaries
 * kubectl.1.NN; `dpkg -L kubectl` lists them), by minor, oldest first. Empty where there is none.
 */
export function realKubectls(): { minor: number; path: string }[] {
  let files: string[];
  try {
    files = execFileSync("dpkg", ["-L", "kubectl"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .filter((f) => /\/kubectl\.1\.\d+$/.test(f) && existsSync(f));
  } catch {
    return [];
  }
  return files
    .map((path) => ({ minor: Number(/\.1\.(\d+)$/.exec(path)![1]), path }))
    .sort((a, b) => a.minor - b.minor);
}

/** The newest real kubectl and the one for the lab's minor (the image's own), without repeats. */
export function kubectlsToTry(labMinor: number): { minor: number; path: string }[] {
  const all = realKubectls();
  const picks = [all.at(-1), all.find((k) => k.minor === labMinor)].filter((k) => k !== undefined);
  return [...new Map(picks.map((k) => [k.path, k])).values()];
}
