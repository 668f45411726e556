import { execFileSync } from "node:child_process";
import { haprov } from "../helpers/haprov-cli.js";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LAB_LABEL } from "../../src/lab/host-options.js";
import { dockerAvailable } from "../helpers/lab.js";

const labResources = (name: string) =>
  execFileSync(
    "sh",
    [
      "-c",
      `docker ps -aq --filter label=${LAB_LABEL}=${name}; docker network ls -q --filter label=${LAB_LABEL}=${name}`,
    ],
    { encoding: "utf8" },
  ).trim();

describe.runIf(dockerAvailable())("haprov lab", () => {
  const cwd = mkdtempSync(join(tmpdir(), "haprov-labcli-"));
  const name = `e2e${process.pid}`;
  afterAll(async () => {
    if (labResources(name)) await haprov(["lab", "down", "--name", name], { cwd });
    rmSync(cwd, { recursive: true, force: true });
  });

  it("lab up writes a working inventory; lab ls lists it; lab down removes everything", async () => {
    const up = await haprov(["lab", "up", "--name", name, "--hosts", "2"], { cwd });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`inventory: inventories/lab.${name}.yaml`));
    expect(up.stdout).toContain(`haprov up -i inventories/lab.${name}.yaml`);
    const inv = join(cwd, `inventories/lab.${name}.yaml`);
    expect(readFileSync(inv, "utf8")).toMatch(/mode: keepalived-haproxy\n {2}vip: 172\.31\.\d+\.100/);

    expect((await haprov(["validate", "-i", inv, "--playbook", "prepare"], { cwd })).code).toBe(0);
    // Reachable hosts, but nothing built yet: status reports it and exits 1 (it is a health check).
    const status = await haprov(["status", "-i", inv, "--json"], { cwd });
    const lines = status.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; reachable?: boolean; problems?: string[] });
    expect(lines.filter((l) => l.event === "status").map((l) => l.reachable)).toEqual([true, true]);
    expect(lines.find((l) => l.event === "cluster")?.problems).toContain("no node holds the VIP");
    expect(status.code).toBe(1);

    expect((await haprov(["lab", "ls"], { cwd })).stdout).toContain(`haprov-${name}-cp1 (running)`);
    const again = await haprov(["lab", "up", "--name", name], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);

    const down = await haprov(["lab", "down", "--name", name], { cwd });
    expect(down.code).toBe(0);
    expect(labResources(name)).toBe("");
    expect(existsSync(inv)).toBe(false);
    expect(existsSync(join(cwd, `inventories/lab.${name}`))).toBe(false);
  });
});
