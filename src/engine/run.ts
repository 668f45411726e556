import pLimit from "p-limit";
import { errorMessage } from "../core/errors.js";
import type { EventListener, RunSummary } from "../core/events.js";
import type { HostSpec } from "../core/host.js";
import type { StepContext } from "../core/step.js";
import type { HostConnection } from "../core/transport.js";
import type { KnownFacts } from "./fact-batch.js";
import { gather } from "./gather.js";
import { readAhead } from "./lookahead.js";
import { runHandler, runHostPhase, skipHostPhase, type HostPhaseDeps } from "./host-phase.js";
import type { CompiledPhase, CompiledPlaybook } from "../core/phase.js";
import { Tally } from "./tally.js";
import type { RunScope, RunValues } from "./values.js";

export interface RunOptions {
  /** Cluster name: scopes the state haprov keeps on hosts. */
  cluster: string;
  command: string;
  playbook: CompiledPlaybook;
  hosts: HostSpec[];
  connect(host: HostSpec): Promise<HostConnection>;
  context(host: HostSpec, scope: RunScope): StepContext;
  values: RunValues;
  dryRun: boolean;
  concurrency: number;
  emit: EventListener;
  signal?: AbortSignal;
  /**
   * A saved plan (issue #19): `firstRead` gets each host's first round trip, before anything is
   * planned; its sentences (a host whose state differs from the one the plan was made against)
   * stop the run before any change. `allowed` is what the plan showed: a change outside it is
   * refused before it touches the host.
   */
  savedPlan?: {
    firstRead(reads: Map<string, KnownFacts>): Map<string, string>;
    allowed?: ReadonlySet<string>;
  };
}

/**
 * Runs a compiled playbook: connect every host once (the caller owns and closes connections, so a
 * plan and the apply that follows it share them), then phase by phase (each a barrier), hosts
 * in parallel under p-limit. A failed host stops its own later steps; a phase that requires all
 * hosts does not start once any host failed. Ctrl-C (the signal) stops new steps from starting.
 */
export async function runPlaybook(o: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const byName = new Map(o.hosts.map((h) => [h.name, h]));
  const used = o.hosts.filter((h) => o.playbook.phases.some((p) => p.hosts.includes(h.name)));
  const tally = new Tally(used.map((h) => h.name));
  const limit = pLimit(Math.max(1, o.concurrency));
  const conns = new Map<string, HostConnection>();
  const failed = new Set<string>();

  o.emit({
    kind: "run-start",
    command: o.command,
    playbook: o.playbook.name,
    dryRun: o.dryRun,
    hosts: used.map((h) => h.name),
    phases: o.playbook.phases.map((p) => ({
      name: p.name,
      hosts: p.hosts,
      steps: p.steps.map((s) => s.name),
    })),
  });

  await Promise.all(
    used.map((h) =>
      limit(async () => {
        const c0 = performance.now();
        try {
          conns.set(h.name, await o.connect(h));
          o.emit({
            kind: "connect",
            host: h.name,
            ok: true,
            durationMs: Math.round(performance.now() - c0),
          });
        } catch (e) {
          failed.add(h.name);
          tally.hosts[h.name]!.unreachable = true;
          tally.failures.push({
            host: h.name,
            phase: "connect",
            step: "ssh",
            message: errorMessage(e),
          });
          o.emit({
            kind: "connect",
            host: h.name,
            ok: false,
            durationMs: Math.round(performance.now() - c0),
            error: errorMessage(e),
          });
        }
      }),
    ),
  );

  // One round trip per host for every question that can be put now (see lookahead.ts).
  const ahead = new Map<string, KnownFacts>();
  await Promise.all(
    [...conns].map(([name, conn]) =>
      limit(async () => {
        const known = await readAhead({
          host: byName.get(name)!,
          conn,
          // a phase that only runs after changes is read when (and if) it runs
          phases: o.playbook.phases.filter((p) => !p.onlyAfterChanges),
          cluster: o.cluster,
          values: o.values,
          context: o.context,
        });
        if (known) ahead.set(name, known);
      }),
    ),
  );
  const state = { clean: true };
  let stopped: string | undefined;
  if (o.savedPlan) {
    const differs = o.savedPlan.firstRead(ahead);
    for (const [host, message] of differs) {
      failed.add(host);
      tally.fail(host, "saved plan", "state as planned", message);
    }
    if (differs.size > 0)
      stopped =
        "not started: the hosts are not in the state the saved plan was made against (nothing was changed)";
  }
  for (const phase of o.playbook.phases) {
    const reason = o.signal?.aborted
      ? "interrupted"
      : stopped
        ? stopped
        : phase.requires === "all" && failed.size > 0
          ? `not started: ${[...failed].join(", ")} failed or unreachable, and this phase needs every host`
          : undefined;
    const hosts = phase.hosts.filter((n) => !failed.has(n));
    if (phase.hosts.length === 0) continue; // e.g. no worker in this inventory: nothing to say
    if (phase.onlyAfterChanges && !reason && !Object.values(tally.hosts).some((t) => t.changed > 0)) {
      o.emit({ kind: "phase-skipped", phase: phase.name, reason: phase.onlyAfterChanges, quiet: true });
      continue;
    }
    if (reason || hosts.length === 0) {
      const why = reason ?? "no healthy host left for this phase";
      o.emit({ kind: "phase-skipped", phase: phase.name, reason: why });
      tally.skippedPhases.push({ phase: phase.name, reason: why });
      for (const n of phase.hosts) for (let i = 0; i < phase.steps.length; i++) tally.count(n, "skipped");
      continue;
    }
    await runPhase(o, phase, hosts, { byName, conns, failed, tally, limit, ahead, state });
    if (phase.gate && phase.hosts.some((h) => failed.has(h)))
      stopped = `not started: the ${phase.name} check failed, and every later phase depends on it`;
  }

  const summary: RunSummary = {
    dryRun: o.dryRun,
    interrupted: o.signal?.aborted ?? false,
    wallMs: Math.round(performance.now() - t0),
    hosts: tally.hosts,
    skippedPhases: tally.skippedPhases,
    failures: tally.failures,
  };
  o.emit({ kind: "summary", summary });
  return summary;
}

interface PhaseState {
  byName: Map<string, HostSpec>;
  conns: Map<string, HostConnection>;
  failed: Set<string>;
  tally: Tally;
  limit: ReturnType<typeof pLimit>;
  /** The read-ahead answers per host, valid while `state.clean` (nothing changed in the run yet). */
  ahead: Map<string, KnownFacts>;
  state: { clean: boolean };
}

async function runPhase(o: RunOptions, phase: CompiledPhase, hosts: string[], s: PhaseState): Promise<void> {
  const p0 = performance.now();
  o.emit({ kind: "phase-start", phase: phase.name, hosts });
  const owed = new Map<string, string[]>();
  if (phase.gather.length > 0) {
    // A barrier inside the phase: every host answers before any host plans a step.
    const failedReads = await gather(
      phase,
      hosts,
      s.conns,
      o.values,
      s.limit,
      (name, g) => g.script(o.context(s.byName.get(name)!, o.values.snapshot())),
      o.signal,
      o.dryRun,
      (name) => (s.state.clean ? s.ahead.get(name) : undefined),
    );
    for (const [name, message] of failedReads) {
      s.failed.add(name);
      s.tally.failures.push({ host: name, phase: phase.name, step: "gather", message });
      skipHostPhase(phase, name, `not run: ${message}`, o.emit, s.tally);
      s.tally.hosts[name]!.failed += 1;
    }
    hosts = hosts.filter((n) => !failedReads.has(n));
  }
  const limit = phase.serial ? pLimit(Math.min(phase.serial, Math.max(1, o.concurrency))) : s.limit;
  let rollStopped: string | undefined;
  const deps = (name: string): HostPhaseDeps => ({
    conn: s.conns.get(name)!,
    connOf: (other) => s.conns.get(other),
    host: s.byName.get(name)!,
    phase,
    dryRun: o.dryRun,
    emit: o.emit,
    tally: s.tally,
    values: o.values,
    signal: o.signal,
    context: o.context,
    cluster: o.cluster,
    readAhead: () => (s.state.clean ? s.ahead.get(name) : undefined),
    // The first read stays the record of how each host began the run (guards: "fresh at start").
    baseline: (host) => s.ahead.get(host),
    ...(o.savedPlan?.allowed ? { allowed: o.savedPlan.allowed } : {}),
    markChanged: () => void (s.state.clean = false),
  });
  await Promise.all(
    hosts.map((name) =>
      limit(async () => {
        if (rollStopped) {
          skipHostPhase(
            phase,
            name,
            `not started: ${rollStopped} failed earlier in this serial phase`,
            o.emit,
            s.tally,
          );
          return;
        }
        const res = await runHostPhase(deps(name));
        if (res.failed) {
          s.failed.add(name);
          if (phase.serial) rollStopped ??= name;
        } else if (res.owed.length > 0) owed.set(name, res.owed);
      }),
    ),
  );

  // Serial handlers: one host at a time, so a restart never takes every node down at once.
  for (const handler of phase.handlers.filter((h) => h.serial)) {
    const due = hosts.filter((n) => owed.get(n)?.includes(handler.name) && !s.failed.has(n));
    const order = await rollOrder(o, phase, due, s);
    for (const name of order) {
      if (o.signal?.aborted || s.failed.has(name)) continue;
      if (!o.dryRun) s.state.clean = false;
      const ok = await runHandler(deps(name), handler);
      // A failed rolling restart stops the roll: the next host keeps serving.
      if (!ok) {
        s.failed.add(name);
        break;
      }
    }
  }
  o.emit({
    kind: "phase-end",
    phase: phase.name,
    durationMs: Math.round(performance.now() - p0),
  });
}

/**
 * Serial handlers visit hosts in inventory order, except that the hosts where the phase's
 * `rollLast` probe succeeds (the VIP holder) go last: a rolling restart then moves the VIP at most
 * once, and only after every other node is healthy again.
 */
async function rollOrder(
  o: RunOptions,
  phase: CompiledPhase,
  hosts: string[],
  s: PhaseState,
): Promise<string[]> {
  const probe = phase.rollLast;
  if (!probe || hosts.length < 2) return hosts;
  const last = await Promise.all(
    hosts.map(
      async (h) =>
        (await s.conns.get(h)!.exec(probe(o.context(s.byName.get(h)!, o.values.snapshot())))).code === 0,
    ),
  );
  return [...hosts.filter((_, i) => !last[i]), ...hosts.filter((_, i) => last[i])];
}
