import { HaprovError } from "../core/errors.js";
import { command } from "../core/quote.js";
import type { HeldCommand, HostConnection } from "../core/transport.js";

/**
 * The run lock (issue #15): a run that can change hosts holds `flock` on every host it locks, in a
 * command kept alive on its own SSH channel for the length of the run. The lock belongs to the
 * holder's SSH session, not to a file that outlives it: when the run ends, its process is killed or
 * its connection drops, the command ends and the kernel releases the lock. A connection that dies
 * silently (a laptop closed: no FIN) is caught by the heartbeat: the holder writes a line every
 * HEARTBEAT_MS, and the command gives the lock up after SILENCE_S seconds without one.
 */
export interface LockHolder {
  user: string;
  machine: string;
  pid: number;
  /** ISO time the run started. */
  started: string;
  verb: string;
}

const HEARTBEAT_MS = 1000;
const SILENCE_S = 4;
const DIR = "/run/lock/haprov";

/**
 * bash: hold the lock, or say who does. Arguments: cluster, holder JSON. The first line also names
 * the machine (/etc/machine-id): two inventory hosts on one machine share its lock file, and a run
 * that holds it there already must not refuse itself on the second.
 */
const SCRIPT = [
  `d=${DIR}; mkdir -p "$d"; exec 9>"$d/$1.lock"; m=$(cat /etc/machine-id 2>/dev/null)`,
  `if ! flock -n 9; then echo "BUSY $m"; cat "$d/$1.holder" 2>/dev/null; exit 75; fi`,
  `printf '%s\\n' "$2" > "$d/$1.holder"; echo "LOCKED $m"`,
  `while read -t ${SILENCE_S} -r _; do :; done`,
  `rm -f "$d/$1.holder"`,
].join("\n");

/** bash: who holds the lock right now, without taking it (for plan). */
const PEEK = [
  `d=${DIR}; [ -e "$d/$1.lock" ] || { echo FREE; exit 0; }`,
  `exec 9<"$d/$1.lock"`,
  `if flock -n -s 9; then echo FREE; else echo BUSY; cat "$d/$1.holder" 2>/dev/null; fi`,
].join("\n");

export class LockBusyError extends HaprovError {
  override readonly name = "LockBusyError";
  constructor(
    readonly cluster: string,
    readonly holder: LockHolder | undefined,
    readonly host: string,
  ) {
    super(
      `cluster ${cluster} is being changed by another run: ${describeHolder(holder)} (lock held on ${host})`,
      {
        hint: "wait for it to finish, or give --wait-lock DURATION (e.g. --wait-lock 10m) to wait here",
      },
    );
  }
}

export function describeHolder(h: LockHolder | undefined): string {
  return h
    ? `${h.verb} by ${h.user}@${h.machine} (pid ${h.pid}) since ${h.started}`
    : "a run that did not say who it is";
}

function parseHolder(output: string): LockHolder | undefined {
  const line = output.split("\n")[1];
  try {
    return line ? (JSON.parse(line) as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

export interface RunLock {
  release(): Promise<void>;
}

/**
 * Takes the cluster's lock on every host in `conns` (all at once), or none: when a host
 * says it is held, the ones taken are given back and, with `waitMs`, it is tried again until the
 * time is up; otherwise LockBusyError names the holder.
 */
export async function acquireRunLock(
  conns: { host: string; conn: HostConnection }[],
  cluster: string,
  holder: LockHolder,
  o: { waitMs?: number; onWait?: (e: LockBusyError) => void } = {},
): Promise<RunLock> {
  const deadline = Date.now() + (o.waitMs ?? 0);
  let told = false;
  for (;;) {
    // Every host at once (a round trip, not one per host); all or nothing: any host held by
    // another run gives back the ones taken, so two runs never both keep a part.
    const tries = await Promise.all(
      conns.map(async ({ host, conn }) => {
        const h = await conn.hold(
          `bash -c ${command(SCRIPT)} haprov-lock ${command(cluster, JSON.stringify(holder))}`,
        );
        const [word = "", machine = ""] = (await h.firstLine).split(" ");
        return { host, h, word, machine };
      }),
    );
    const held = tries.filter((t) => t.word === "LOCKED").map((t) => t.h);
    const machines = new Set(tries.filter((t) => t.word === "LOCKED" && t.machine).map((t) => t.machine));
    let busy: LockBusyError | undefined;
    for (const t of tries.filter((x) => x.word !== "LOCKED")) {
      await t.h.close();
      // this run holds that machine's lock through another inventory host on the same machine
      if (t.word === "BUSY" && t.machine && machines.has(t.machine)) continue;
      busy ??= new LockBusyError(cluster, t.word === "BUSY" ? parseHolder(t.h.output()) : undefined, t.host);
    }
    if (!busy) return heartbeat(held);
    await Promise.all(held.map((h) => h.close()));
    if (Date.now() >= deadline) throw busy;
    if (!told) o.onWait?.(busy);
    told = true;
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
  }
}

function heartbeat(held: HeldCommand[]): RunLock {
  const timer = setInterval(() => held.forEach((h) => h.write("\n")), HEARTBEAT_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await Promise.all(held.map((h) => h.close()));
    },
  };
}

/** Who holds the cluster's lock on this host now (undefined: nobody), without taking it. */
export async function peekRunLock(
  conn: HostConnection,
  cluster: string,
): Promise<LockHolder | "unknown" | undefined> {
  const r = await conn.exec(`bash -c ${command(PEEK)} haprov-lock ${command(cluster)}`);
  const first = r.stdout.split("\n")[0];
  if (first?.split(" ")[0] !== "BUSY") return undefined;
  return parseHolder(r.stdout) ?? "unknown";
}
