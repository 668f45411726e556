import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
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

/** Whether `name` is an executable file on PATH (or in the sbin directories a root PATH may lack). */
export function onPath(name: string, path = process.env.PATH ?? "", extra: string[] = []): boolean {
  return [...path.split(delimiter), ...extra].filter(Boolean).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export type DockerState = "no-client" | "client-only" | "engine-stopped";

/**
 * Why no engine answers, in the operator's words. This kind of machine ships a docker *client*
 * without an engine (issue #8): `docker --version` answers there while nothing can ever run.
 */
export function dockerProblem(state: DockerState): HaprovError {
  const setup = "run scripts/setup-machine.sh (Debian, as root: installs docker.io and starts dockerd)";
  switch (state) {
    case "no-client":
      return new HaprovError("no docker command: the lab runs its hosts as Docker containers", {
        hint: `${setup}, or install Docker and start its engine`,
      });
    case "client-only":
      return new HaprovError(
        "a docker client is installed but no Docker engine (dockerd): the lab runs its hosts as containers",
        { hint: `${setup}; on Debian the engine is the docker.io package` },
      );
    case "engine-stopped":
      return new HaprovError("the Docker engine (dockerd) is installed but does not answer", {
        hint: "start it (systemctl start docker, or dockerd & as root), then retry",
      });
  }
}

/** dockerd lives in /usr/sbin, which a non-root PATH often lacks. */
const SBIN = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/** What is installed, from a lookup of executables by name. */
export function dockerState(installed: (name: string) => boolean): DockerState {
  if (!installed("docker")) return "no-client";
  return installed("dockerd") ? "engine-stopped" : "client-only";
}

export async function requireDocker(): Promise<void> {
  try {
    await docker(["info", "--format", "{{.ServerVersion}}"]);
  } catch (e) {
    const problem = dockerProblem(dockerState((name) => onPath(name, undefined, SBIN)));
    throw new HaprovError(problem.message, { cause: e, ...(problem.hint ? { hint: problem.hint } : {}) });
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
