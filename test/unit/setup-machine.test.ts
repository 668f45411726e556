import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dockerProblem, dockerState } from "../../src/lab/docker.js";

/**
 * Issue #8: this kind of machine ships a docker client without an engine. The set-up script must
 * ask for Debian's docker.io whenever dockerd is missing, whatever `docker` answers.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A PATH holding the basic tools the script needs, plus fake executables by name. */
function fakePath(fakes: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "haprov-setup-"));
  dirs.push(dir);
  for (const tool of ["bash", "dirname", "cat", "mkdir"]) {
    const real = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(real, join(dir, tool));
  }
  for (const f of fakes) {
    writeFileSync(join(dir, f), `#!/bin/sh\necho "${f} (fake) $*"\n`);
    chmodSync(join(dir, f), 0o755);
  }
  return dir;
}

const missing = (path: string) => {
  const r = spawnSync(join(path, "bash"), ["scripts/setup-machine.sh", "--print-missing"], {
    encoding: "utf8",
    env: { PATH: path },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split("\n");
};

describe("machine set-up", () => {
  it("asks for docker.io when PATH holds only a docker client", () => {
    expect(missing(fakePath(["docker"]))).toContain("docker.io");
  });

  it("does not ask for docker.io once dockerd is there, and asks for each other missing tool", () => {
    const got = missing(fakePath(["docker", "dockerd", "ssh-keygen", "sudo", "pgrep"]));
    expect(got).not.toContain("docker.io");
    expect(got).toEqual(expect.arrayContaining(["debootstrap"]));
    expect(got).not.toContain("openssh-client");
  });

  it("haprov lab tells a client without an engine from a stopped engine and from no docker at all", () => {
    const has = (names: string[]) => (n: string) => names.includes(n);
    expect(dockerState(has([]))).toBe("no-client");
    expect(dockerState(has(["docker"]))).toBe("client-only");
    expect(dockerState(has(["docker", "dockerd"]))).toBe("engine-stopped");
    const clientOnly = dockerProblem("client-only");
    expect(clientOnly.message).toMatch(/docker client is installed but no Docker engine \(dockerd\)/);
    expect(clientOnly.hint).toMatch(/setup-machine\.sh.*docker\.io/);
  });
});
