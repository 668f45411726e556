import { execFile } from "node:child_process";
import { HaprovError } from "../core/errors.js";

/** The docker CLI, run without a shell. */
export async function docker(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("docker", args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new HaprovError(`docker ${args[0]} failed: ${(stderr || err.message).trim()}`, { cause: err }),
        );
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function requireDocker(): Promise<void> {
  try {
    await docker(["info", "--format", "{{.ServerVersion}}"]);
  } catch (e) {
    throw new HaprovError("no Docker engine answers: the lab runs its hosts as containers", {
      cause: e,
      hint: "install and start Docker (Debian: apt-get install docker.io && dockerd &), then retry",
    });
  }
}

export async function usedSubnets(): Promise<string[]> {
  const ids = (await docker(["network", "ls", "-q"])).split("\n").filter(Boolean);
  if (ids.length === 0) return [];
  const out = await docker([
    "network",
    "inspect",
    "--format",
    "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
    ...ids,
  ]);
  return out.split(/\s+/).filter(Boolean);
}
