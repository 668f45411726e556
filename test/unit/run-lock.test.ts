import { describe, expect, it } from "vitest";
import { acquireRunLock, LockBusyError } from "../../src/engine/run-lock.js";
import { FakeHost } from "../helpers/fake-host.js";

/** The run lock's rules (issue #15), on in-memory hosts; the real flock and sshd are in the e2e test. */
const holder = (verb: string, pid: number) => ({
  user: "alice",
  machine: "laptop",
  pid,
  started: "2026-12-01T07:00:00Z",
  verb,
});
const hosts = () => {
  const clock = { seq: 0 };
  return ["cp1", "cp2", "cp3"].map((n) => ({ host: n, conn: new FakeHost(n, clock) }));
};

describe("run lock", () => {
  it("a second run fails fast and names the holder; once released, the next run gets it", async () => {
    const hs = hosts();
    const first = await acquireRunLock(hs, "lab", holder("up", 11));
    const second = acquireRunLock(hs, "lab", holder("up", 22));
    await expect(second).rejects.toThrow(LockBusyError);
    await expect(second).rejects.toThrow(
      /cluster lab is being changed by another run: up by alice@laptop \(pid 11\) since 2026-12-01T07:00:00Z \(lock held on cp1\)/,
    );
    // the refused run gave back nothing it did not own, and took nothing
    expect(hs.map((h) => h.conn.lockedBy && JSON.parse(h.conn.lockedBy).pid)).toEqual([11, 11, 11]);
    await first.release();
    expect(hs.every((h) => h.conn.lockedBy === undefined)).toBe(true);
    const third = await acquireRunLock(hs, "lab", holder("up", 33));
    await third.release();
  });

  it("all or nothing: a host already held makes the run give back the hosts it took", async () => {
    const hs = hosts();
    const other = await acquireRunLock([hs[2]!], "lab", holder("up", 44));
    await expect(acquireRunLock(hs, "lab", holder("up", 55))).rejects.toThrow(/lock held on cp3/);
    expect(hs.map((h) => h.conn.lockedBy !== undefined)).toEqual([false, false, true]);
    await other.release();
  });

  it("two inventory hosts on one machine share its lock: the run that holds it does not refuse itself; another run still meets it", async () => {
    const hs = hosts();
    hs[1]!.conn.machine = hs[0]!.conn.machine; // cp1 and cp2 are the same machine
    const first = await acquireRunLock(hs, "lab", holder("up", 88));
    await expect(acquireRunLock([hs[1]!], "lab", holder("up", 99))).rejects.toThrow(/pid 88/);
    await first.release();
    expect(hs.every((h) => h.conn.lockedBy === undefined)).toBe(true);
  });

  it("with a wait, the second run goes on once the first is done", async () => {
    const hs = hosts();
    const first = await acquireRunLock(hs, "lab", holder("up", 66));
    const waits: string[] = [];
    setTimeout(() => void first.release(), 700);
    const t0 = Date.now();
    const second = await acquireRunLock(hs, "lab", holder("up", 77), {
      waitMs: 10_000,
      onWait: (e) => waits.push(e.message),
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    expect(waits).toEqual([expect.stringMatching(/up by alice@laptop \(pid 66\)/)]);
    await second.release();
  });
});
