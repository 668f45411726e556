import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import type { StepPlan } from "../../src/core/action.js";
import type { Fact, FactReader } from "../../src/core/fact.js";
import type { HostSpec } from "../../src/core/host.js";
import type { StepContext } from "../../src/core/step.js";
import { Inventory } from "../../src/config/schema.js";
import { RECIPES } from "../../src/recipes/index.js";
import { hostSpec } from "../helpers/host-spec.js";

/**
 * Issue #19: design D destroys a corosync cluster only when it is the one-node "debian" cluster
 * Debian's package starts, and only if it was so when the run began (a fresh-at-start guard). A
 * node in any other corosync cluster is refused before anything is stopped.
 */
const inventory = Inventory.parse({
  cluster: { name: "prod-d", mode: "pacemaker", vip: "10.0.0.100", pacemaker: { fencing: "disabled" } },
  hosts: ["cp1", "cp2", "cp3"].map((name, i) => ({
    name,
    address: `10.0.0.1${i + 1}`,
    roles: ["control-plane"],
  })),
});
const hosts: HostSpec[] = inventory.hosts.map((h) => hostSpec(h.name, h.address, h.roles));
const step = RECIPES.pacemaker.phases!({ inventory, hosts, limit: undefined })
  .flatMap((p) => p.steps)
  .find((s) => s.name === "leave Debian's default cluster")!;
const otherFact = step.facts({} as StepContext).find((f) => f.key === "corosync-other:prod-d") as Fact<
  string[]
>;

interface Seen {
  member?: boolean;
  idle?: boolean;
  other?: string[];
}

function plan(seen: Seen): StepPlan | Error {
  const facts: FactReader = {
    get<T>(f: Fact<T>): T {
      if (f === otherFact) return (seen.other ?? []) as T;
      if (f.script.includes("cluster_name:")) return (seen.member ?? false) as T;
      if (f.script.includes("systemctl is-active")) return (seen.idle ?? false) as T;
      throw new Error(`unexpected fact ${f.key}`);
    },
  };
  const ctx: StepContext = {
    host: hosts[1]!,
    scope: { registered: {}, gathered: {} },
    interpolate: (t) => t,
    interpolateShell: (t) => t,
    interpolatePath: (t) => t,
    renderTemplate: () => "",
  };
  try {
    return step.plan(facts, ctx);
  } catch (e) {
    return e as Error;
  }
}

describe("leaving Debian's default corosync cluster", () => {
  it("a member of this cluster, or a node without corosync, is left alone", () => {
    expect(plan({ member: true, other: [] })).toMatchObject({ kind: "noop" });
    expect(plan({ idle: true })).toMatchObject({ kind: "noop", reason: "no corosync cluster on this node" });
  });

  it("Debian's default is destroyed behind a guard on what the run saw when it began", () => {
    const p = plan({ other: [] });
    if (p instanceof Error || p.kind !== "change") throw new Error(`expected a change, got ${String(p)}`);
    expect(p.actions).toHaveLength(1);
    const destroy = p.actions[0]!;
    expect(destroy).toMatchObject({ kind: "exec", what: "pcs cluster destroy" });
    expect(destroy.kind === "exec" && destroy.command).toContain("pcs cluster destroy --force");
    expect(destroy.kind === "exec" && destroy.guards).toEqual([
      { kind: "fresh-at-start", what: "corosync cluster other than the package's default", state: otherFact },
    ]);
  });

  it("a node in another corosync cluster is refused: nothing is stopped", () => {
    const p = plan({ other: ["corosync cluster 'payments' with 3 node(s) in /etc/corosync/corosync.conf"] });
    expect(p).toBeInstanceOf(Error);
    expect((p as Error).message).toBe(
      "cp2 is in another corosync cluster 'payments' with 3 node(s) in /etc/corosync/corosync.conf: " +
        "haprov does not destroy a cluster it did not make",
    );
  });

  describe("the fact that tells the package's default from another cluster (run by sh)", () => {
    const dir = mkdtempSync(join(tmpdir(), "haprov-corosync-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, "corosync.conf");
    const read = (text: string | undefined): string[] => {
      rmSync(conf, { force: true });
      if (text !== undefined) writeFileSync(conf, text);
      const script = otherFact.script.replaceAll("/etc/corosync/corosync.conf", conf);
      const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
      expect(r.status).toBe(0);
      return otherFact.parse(r.stdout.replaceAll(conf, "CONF"), 0);
    };
    const corosync = (name: string, addrs: string[]) =>
      `totem {\n    version: 2\n    cluster_name: ${name}\n}\nnodelist {\n${addrs
        .map(
          (a, i) =>
            `    node {\n        name: n${i}\n        nodeid: ${i + 1}\n        ring0_addr: ${a}\n    }\n`,
        )
        .join("")}}\n`;

    it.each<[string, string | undefined, string[]]>([
      ["no corosync.conf", undefined, []],
      ["Debian's package default", corosync("debian", ["127.0.0.1"]), []],
      ["this cluster", corosync("prod-d", ["10.0.0.11", "10.0.0.12", "10.0.0.13"]), []],
      [
        "a cluster named debian with real nodes",
        corosync("debian", ["10.9.0.1", "10.9.0.2"]),
        ["corosync cluster 'debian' with 2 node(s) in CONF"],
      ],
      [
        "a one-node cluster named debian on a real address",
        corosync("debian", ["10.9.0.1"]),
        ["corosync cluster 'debian' with 1 node(s) in CONF"],
      ],
      [
        "another cluster",
        corosync("payments", ["10.9.0.1", "10.9.0.2", "10.9.0.3"]),
        ["corosync cluster 'payments' with 3 node(s) in CONF"],
      ],
    ])("%s", (_what, text, want) => {
      expect(read(text)).toEqual(want);
    });
  });
});
