import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildBatch } from "../../src/engine/fact-batch.js";
import { commandSucceeds, EMPTY_SHA256, fileState, pathExists } from "../../src/facts/file-state.js";
import { kernelModule } from "../../src/facts/kernel-module.js";
import { osRelease } from "../../src/facts/os-release.js";
import { installedPackages } from "../../src/facts/packages.js";
import { serviceState } from "../../src/facts/service.js";
import { sysctlValue } from "../../src/facts/sysctl.js";

/** Runs a batch with the local /bin/sh, as sshd would on a host, and parses it. */
function runLocally(script: string): string {
  return execFileSync("sh", ["-c", script], { encoding: "utf8" });
}

describe("fact batch", () => {
  it("reads many facts in one script, each with its own exit code", () => {
    const dir = mkdtempSync(join(tmpdir(), "haprov-facts-"));
    const f = join(dir, "a b.conf"); // a space: quoting matters
    writeFileSync(f, "hello\n@@haprov-fake-0-begin\n"); // content that looks like a marker
    chmodSync(f, 0o640);
    const facts = [
      fileState(f, true),
      fileState(join(dir, "missing"), true),
      pathExists(dir),
      commandSucceeds("false"),
      osRelease,
      sysctlValue("kernel.ostype"),
    ];
    const batch = buildBatch([...facts, fileState(f, true)]); // duplicates are asked once
    expect(batch.script.match(/-begin'/g)).toHaveLength(5); // the two files are asked together
    const r = batch.parse(runLocally(batch.script));
    const live = r.get(fileState(f, true));
    expect(live).toMatchObject({ exists: true, mode: "0640", owner: "root", group: "root" });
    expect(live.exists && live.content?.toString()).toBe("hello\n@@haprov-fake-0-begin\n");
    expect(r.get(fileState(join(dir, "missing"), true))).toEqual({ exists: false });
    expect(r.get(pathExists(dir))).toBe(true);
    expect(r.get(commandSucceeds("false"))).toBe(false);
    expect(r.get(osRelease).id).toBe("debian");
    expect(r.get(sysctlValue("kernel.ostype"))).toBe("Linux");
  });

  it("keeps empty files distinguishable from unread content", () => {
    const dir = mkdtempSync(join(tmpdir(), "haprov-facts-"));
    const f = join(dir, "empty");
    writeFileSync(f, "");
    const batch = buildBatch([fileState(f, true)]);
    const live = batch.parse(runLocally(batch.script)).get(fileState(f, true));
    expect(live).toMatchObject({ exists: true, sha256: EMPTY_SHA256 });
    expect(live.exists && live.content?.length).toBe(0);
  });

  it("a fact that exits early cannot end the batch", () => {
    const batch = buildBatch([commandSucceeds("exit 3"), osRelease]);
    const r = batch.parse(runLocally(batch.script));
    expect(r.get(commandSucceeds("exit 3"))).toBe(false);
    expect(r.get(osRelease).id).toBe("debian");
  });

  it("throws when the output was cut short", () => {
    const batch = buildBatch([osRelease, sysctlValue("kernel.ostype")]);
    const out = runLocally(batch.script);
    expect(() => batch.parse(out.slice(0, out.length / 2))).toThrow(/cut short|not terminated/);
  });

  it("a sysctl that does not exist reads as undefined", () => {
    const batch = buildBatch([sysctlValue("net.nope.nothing")]);
    expect(batch.parse(runLocally(batch.script)).get(sysctlValue("net.nope.nothing"))).toBeUndefined();
  });

  it("installed packages come from dpkg on Debian", () => {
    const facts = installedPackages(["coreutils", "surely-not-a-package-xyz"]);
    const batch = buildBatch([facts]);
    const set = batch.parse(runLocally(batch.script)).get(facts);
    expect(set.has("coreutils")).toBe(true);
    expect(set.has("surely-not-a-package-xyz")).toBe(false);
  });
});

describe("fact parsers (table)", () => {
  const rows: {
    name: string;
    fact: { parse(o: string, c: number): unknown };
    out: string;
    code: number;
    want: unknown;
  }[] = [
    {
      name: "service active+enabled",
      fact: serviceState("haproxy"),
      out: "LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nActiveEnterTimestampMonotonic=123\n",
      code: 0,
      want: { exists: true, enabled: "enabled", active: "active", activeSinceMonotonic: 123 },
    },
    {
      name: "service not installed",
      fact: serviceState("nope"),
      out: "LoadState=not-found\nUnitFileState=\nActiveState=inactive\nActiveEnterTimestampMonotonic=0\n",
      code: 0,
      want: { exists: false, enabled: "", active: "inactive", activeSinceMonotonic: 0 },
    },
    { name: "module loaded", fact: kernelModule("br_netfilter"), out: "loaded\n", code: 0, want: "loaded" },
    { name: "module built in", fact: kernelModule("overlay"), out: "builtin\n", code: 0, want: "builtin" },
    { name: "module absent", fact: kernelModule("ip_vs"), out: "absent\n", code: 0, want: "absent" },
    {
      name: "dpkg removed-but-config is not installed",
      fact: installedPackages(["haproxy", "curl"]),
      out: "haproxy rc\ncurl ii \n",
      code: 0,
      want: new Set(["curl"]),
    },
    {
      name: "multi-arch package name",
      fact: installedPackages(["libc6"]),
      out: "libc6:amd64 ii \n",
      code: 0,
      want: new Set(["libc6"]),
    },
    {
      name: "sysctl with tabs",
      fact: sysctlValue("net.ipv4.ip_local_port_range"),
      out: "32768\t60999\n",
      code: 0,
      want: "32768 60999",
    },
    {
      name: "os-release rocky",
      fact: osRelease,
      out: 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4"\n',
      code: 0,
      want: {
        id: "rocky",
        idLike: ["rhel", "centos", "fedora"],
        versionId: "9.4",
        prettyName: "Rocky Linux 9.4",
      },
    },
  ];
  it.each(rows)("$name", ({ fact, out, code, want }) => {
    expect(fact.parse(out, code)).toEqual(want);
  });

  it("the kernel-module fact recognises a built-in module on this kernel", () => {
    const fact = kernelModule("overlay");
    const batch = buildBatch([fact]);
    // Any kernel running Docker has overlay, loaded or built in (LAB-NOTES: built in here).
    expect(["loaded", "builtin"]).toContain(batch.parse(runLocally(batch.script)).get(fact));
  });
});

describe("file facts asked together", () => {
  it("one snippet for every file of a batch gives each file what it would get alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "haprov-files-"));
    const names = ["a b.conf", "empty", "secret.key", "x\\y.conf", "big.bin"];
    writeFileSync(join(dir, names[0]!), "hello\n@@\n@@haprov-fake-0-begin\n");
    writeFileSync(join(dir, names[1]!), "");
    writeFileSync(join(dir, names[2]!), "do not read me\n");
    writeFileSync(join(dir, names[3]!), "backslash in the name\n");
    writeFileSync(join(dir, names[4]!), Buffer.alloc(300 * 1024, 7)); // over the content limit
    chmodSync(join(dir, names[2]!), 0o600);
    const facts = [
      fileState(join(dir, names[0]!), true),
      fileState(join(dir, "missing"), true),
      fileState(join(dir, names[1]!), true),
      fileState(join(dir, names[2]!), false), // secret: hash only
      fileState(join(dir, names[3]!), true),
      fileState(join(dir, names[4]!), true),
    ];
    const together = buildBatch(facts);
    expect(together.script.match(/-begin'/g)).toHaveLength(1);
    const r = together.parse(runLocally(together.script));
    for (const f of facts) {
      const alone = buildBatch([f, pathExists("/")]); // a second fact of another kind: not combined
      expect(alone.script).toContain(f.script);
      expect(r.get(f), f.key).toEqual(alone.parse(runLocally(alone.script)).get(f));
    }
    const secret = r.get(facts[3]!);
    expect(secret.exists && secret.content).toBeUndefined();
    const big = r.get(facts[5]!);
    expect(big.exists && big.content).toBeUndefined();
    const first = r.get(facts[0]!);
    expect(first.exists && first.content?.toString()).toBe("hello\n@@\n@@haprov-fake-0-begin\n");
  });
});

describe("service facts asked together", () => {
  it("one systemctl show for every unit of a batch; each unit gets its own block", () => {
    // A stand-in systemctl that prints what systemd prints: one block per unit, blank-line separated.
    const bin = mkdtempSync(join(tmpdir(), "haprov-systemctl-"));
    writeFileSync(
      join(bin, "systemctl"),
      `#!/bin/sh
echo "$@" > ${bin}/args
printf 'LoadState=loaded\\nActiveState=active\\nUnitFileState=enabled\\nActiveEnterTimestampMonotonic=5\\n\\n'
printf 'LoadState=not-found\\nActiveState=inactive\\nUnitFileState=\\nActiveEnterTimestampMonotonic=0\\n'
`,
    );
    chmodSync(join(bin, "systemctl"), 0o755);
    const batch = buildBatch([serviceState("haproxy"), serviceState("nope.service")]);
    const out = execFileSync("sh", ["-c", batch.script], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    const r = batch.parse(out);
    expect(r.get(serviceState("haproxy"))).toEqual({
      exists: true,
      active: "active",
      enabled: "enabled",
      activeSinceMonotonic: 5,
    });
    expect(r.get(serviceState("nope.service"))).toMatchObject({ exists: false, active: "inactive" });
    expect(execFileSync("cat", [join(bin, "args")], { encoding: "utf8" })).toMatch(
      /-- haproxy\.service nope\.service\n$/,
    );
  });
});
