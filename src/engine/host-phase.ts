import type { FactReader } from "../core/fact.js";
import { CommandError, errorDetail, errorMessage, HaprovError } from "../core/errors.js";
import type { EventListener } from "../core/events.js";
import type { HostSpec } from "../core/host.js";
import { UnknownValueError, type BoundStep, type StepContext } from "../core/step.js";
import type { HostConnection } from "../core/transport.js";
import { BatchFailed, readFacts, type KnownFacts } from "./fact-batch.js";
import { execute, executeWithCleanup, type ConnectionFor, type ExecuteOptions } from "./executor.js";
import { guardChecker } from "./guards.js";
import { changeKey } from "./change-key.js";
import { describeGuard } from "../core/guard.js";
import type { Action } from "../core/action.js";
import type { CompiledPhase, HandlerDef } from "../core/phase.js";
import { clearPending, pendingDir, pendingHandlers, recordPending } from "./pending.js";
import type { Tally } from "./tally.js";
import type { RunScope, RunValues } from "./values.js";

export interface HostPhaseDeps {
  conn: HostConnection;
  /** Another host's connection, for actions performed on this host's behalf (`on`). */
  connOf(host: string): HostConnection | undefined;
  host: HostSpec;
  phase: CompiledPhase;
  dryRun: boolean;
  emit: EventListener;
  tally: Tally;
  values: RunValues;
  signal: AbortSignal | undefined;
  /** Names the host's state on disk (pending-handler records). */
  cluster: string;
  context(host: HostSpec, scope: RunScope): StepContext;
  /** Facts read in the run's first round trip, while they are still current (see lookahead.ts). */
  readAhead?: () => KnownFacts | undefined;
  /** Called the moment this host changes something: read-ahead answers are stale from then on. */
  markChanged?: () => void;
  /** A host's answers from the run's first round trip, kept all run (guards: "fresh at start"). */
  baseline?: (host: string) => KnownFacts | undefined;
  /** `up --plan`: the changes the saved plan showed (change-key.ts); anything else is refused. */
  allowed?: ReadonlySet<string>;
}

/**
 * One host through one phase: read the facts of all its steps in one round trip, plan each step,
 * apply changes, re-read only after something changed. Returns the handlers this host owes
 * (notified now or recorded by an earlier run) and whether the host failed.
 */
export async function runHostPhase(d: HostPhaseDeps): Promise<{ owed: string[]; failed: boolean }> {
  const { host, phase } = d;
  const handlerNames = new Set(phase.handlers.map((h) => h.name));
  const owed = new Set<string>();
  let failed = false;
  let facts: FactReader | undefined;

  const ctx = () => d.context(host, d.values.snapshot());
  const readFacts = (from: number) => readPhaseFacts(d, from);

  for (const [index, step] of phase.steps.entries()) {
    const base = { phase: phase.name, host: host.name, step: step.name, index };
    if (d.signal?.aborted || failed) {
      const message = failed ? "not run: an earlier step failed on this host" : "not run: interrupted";
      d.emit({
        kind: "step",
        ...base,
        status: "skipped",
        changed: false,
        durationMs: 0,
        message,
      });
      d.tally.count(host.name, "skipped");
      continue;
    }
    d.emit({ kind: "step-start", ...base });
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    try {
      facts ??= await readFacts(index);
      if (index === 0 && phase.handlers.length > 0) {
        for (const name of facts.get(pendingHandlers(pendingDir(d.cluster, host.name))))
          if (handlerNames.has(name)) owed.add(name);
      }
      const result = await runStep(step, facts, ctx(), d);
      if (result.changedHost) {
        facts = undefined; // stale: re-read before the next step
        d.markChanged?.();
      }
      if (result.status === "changed") for (const n of step.notify) owed.add(n);
      d.emit({
        kind: "step",
        ...base,
        status: result.status,
        changed: result.status === "changed",
        durationMs: ms(),
        message: result.message,
        ...(result.diff ? { diff: result.diff } : {}),
      });
      d.tally.count(host.name, result.status);
    } catch (e) {
      failed = true;
      d.emit({
        kind: "step",
        ...base,
        status: "failed",
        changed: false,
        durationMs: ms(),
        message: errorMessage(e),
        detail: errorDetail(e),
      });
      d.tally.fail(host.name, phase.name, step.name, errorMessage(e));
    }
  }

  if (failed) return { owed: [], failed };
  // After Ctrl-C no handler starts either: their records stay on the host for the next run.
  if (d.signal?.aborted) return { owed: [], failed: false };
  const ordered = phase.handlers.filter((h) => owed.has(h.name));
  for (const h of ordered.filter((h) => !h.serial)) {
    if (!d.dryRun) d.markChanged?.();
    if (!(await runHandler(d, h))) return { owed: [], failed: true };
  }
  return {
    owed: ordered.filter((h) => h.serial).map((h) => h.name),
    failed: false,
  };
}

/** One round trip: the facts of a phase's steps (from `from` on) and its pending-handler record. */
export async function readPhaseFacts(
  d: Pick<HostPhaseDeps, "conn" | "host" | "phase" | "cluster" | "context" | "values" | "readAhead">,
  from = 0,
): Promise<FactReader> {
  const c = d.context(d.host, d.values.snapshot());
  const list = d.phase.steps.slice(from).flatMap((s) => s.facts(c));
  if (d.phase.handlers.length > 0) list.push(pendingHandlers(pendingDir(d.cluster, d.host.name)));
  try {
    return await readFacts(d.conn, list, d.readAhead?.());
  } catch (e) {
    if (!(e instanceof BatchFailed)) throw e;
    throw new HaprovError(`reading state failed on ${d.host.name} (exit ${e.code}): ${e.stderr}`);
  }
}

/** Reports every step of a phase as skipped on a host that will not run it. */
export function skipHostPhase(
  phase: CompiledPhase,
  host: string,
  message: string,
  emit: EventListener,
  tally: Tally,
): void {
  phase.steps.forEach((step, index) => {
    emit({
      kind: "step",
      phase: phase.name,
      host,
      step: step.name,
      index,
      status: "skipped",
      changed: false,
      durationMs: 0,
      message,
    });
    tally.count(host, "skipped");
  });
}

async function runStep(
  step: BoundStep,
  facts: FactReader,
  ctx: StepContext,
  d: HostPhaseDeps,
): Promise<{
  status: "ok" | "changed" | "skipped";
  message: string;
  diff?: string;
  changedHost: boolean;
}> {
  let plan;
  try {
    plan = step.plan(facts, ctx);
  } catch (e) {
    if (e instanceof UnknownValueError && d.dryRun) {
      return {
        status: "changed",
        message: `would run; ${e.message}`,
        changedHost: false,
      };
    }
    throw e;
  }
  if (plan.kind === "noop") {
    for (const v of plan.produces ?? []) d.values.set(v.name, v.value, v.secret);
    for (const message of plan.warnings ?? []) d.emit({ kind: "warning", host: d.host.name, message });
    return { status: "ok", message: plan.reason, changedHost: false };
  }
  if (plan.kind === "skip") return { status: "skipped", message: plan.reason, changedHost: false };
  const diff = plan.diff ? { diff: plan.diff } : {};
  if (plan.observeOnly) {
    // A wait changes nothing on the host: ok, with what it waited for (and how long, when it ran).
    if (d.dryRun) return { status: "ok", message: `would ${plan.summary}`, changedHost: false };
    const t0 = performance.now();
    await executeWithCleanup(connectionFor(d), plan, d.values, executeOptions(d));
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    return { status: "ok", message: `${plan.summary}: waited ${s} s`, changedHost: false };
  }
  if (!d.dryRun && d.allowed && !d.allowed.has(changeKey(d.host.name, d.phase.name, step.name)))
    throw new HaprovError(
      `not in the saved plan: ${d.host.name} now needs "${plan.summary}", which the plan did not show; nothing was done here`,
      {
        hint: "the host changed since the plan was made: make a new plan (haprov plan -o FILE) and review it",
      },
    );
  if (d.dryRun)
    return {
      status: "changed",
      message: `would ${plan.summary}${guardedText(plan.actions, d.host.name)}${onFailureText(plan.onFailure, d.host.name)}`,
      ...diff,
      changedHost: false,
    };
  const record =
    step.notify.length > 0
      ? [{ kind: "exec" as const, command: recordPending(pendingDir(d.cluster, d.host.name), step.notify) }]
      : [];
  await executeWithCleanup(
    connectionFor(d),
    { ...plan, actions: [...record, ...plan.actions] },
    d.values,
    executeOptions(d),
  );
  return {
    status: "changed",
    message: plan.summary,
    ...diff,
    changedHost: true,
  };
}

/** The destructive actions of a change and their guards, as plan shows them (issue #21). */
function guardedText(actions: Action[], host: string): string {
  const parts = actions.flatMap((a) =>
    a.kind === "exec" && a.what && a.guards?.length
      ? [`${a.what}, ${a.guards.map((g) => describeGuard(g, host)).join(", ")}`]
      : [],
  );
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

/** What plan says a failed attempt would be followed by, guards included. */
function onFailureText(actions: Action[] | undefined, host: string): string {
  const parts = (actions ?? []).flatMap((a) =>
    a.kind === "exec" && a.what
      ? [`${a.what}${(a.guards ?? []).map((g) => `, ${describeGuard(g, host)}`).join("")}`]
      : [],
  );
  return parts.length > 0 ? ` (if it fails: ${parts.join("; ")})` : "";
}

export function executeOptions(
  d: Pick<HostPhaseDeps, "host" | "baseline" | "connOf" | "conn">,
): ExecuteOptions {
  return {
    host: d.host.name,
    checkGuard: guardChecker({
      baseline: (h) => d.baseline?.(h),
      connOf: (h) => (h === d.host.name ? d.conn : d.connOf(h)),
    }),
  };
}

function connectionFor(d: Pick<HostPhaseDeps, "conn" | "connOf" | "host">): ConnectionFor {
  return (on) => {
    if (on === undefined || on === d.host.name) return d.conn;
    const conn = d.connOf(on);
    if (!conn)
      throw new HaprovError(`${on} is not connected, and ${d.host.name} needs it to act on its behalf`);
    return conn;
  };
}

const VERIFY_TIMEOUT_MS = 60_000;

/** Runs a handler, waits until its verify command passes, then clears its pending record. */
export async function runHandler(
  d: Pick<
    HostPhaseDeps,
    | "conn"
    | "connOf"
    | "baseline"
    | "allowed"
    | "host"
    | "phase"
    | "dryRun"
    | "emit"
    | "tally"
    | "cluster"
    | "context"
    | "values"
  >,
  handler: HandlerDef,
): Promise<boolean> {
  const t0 = performance.now();
  const base = {
    kind: "handler" as const,
    phase: d.phase.name,
    host: d.host.name,
    handler: handler.name,
  };
  if (
    !d.dryRun &&
    d.allowed &&
    !d.allowed.has(changeKey(d.host.name, d.phase.name, `handler: ${handler.name}`))
  ) {
    const message = `not in the saved plan: ${handler.name} on ${d.host.name}; not run`;
    d.emit({ ...base, status: "failed", durationMs: 0, message });
    d.tally.fail(d.host.name, d.phase.name, `handler: ${handler.name}`, message);
    return false;
  }
  if (d.dryRun) {
    const guards = handler.guards?.(d.context(d.host, d.values.snapshot())) ?? [];
    d.emit({
      ...base,
      status: "changed",
      durationMs: 0,
      message: `would run ${handler.name}${guards.map((g) => `, ${describeGuard(g, d.host.name)}`).join("")}`,
    });
    d.tally.count(d.host.name, "changed");
    return true;
  }
  const h = handler;
  try {
    // A handler's commands are this host's (e.g. the VIP it probes).
    const ctx = d.context(d.host, d.values.snapshot());
    const check = executeOptions(d).checkGuard!;
    for (const g of h.guards?.(ctx) ?? []) {
      const why = await check(g, d.host.name);
      if (why !== undefined) throw new HaprovError(`${h.name} not run on ${d.host.name}: ${why}`);
    }
    const run = h.run(ctx);
    const verify = h.verify?.(ctx);
    // Through the executor like every action (issue #21): a failure keeps the command, its exit
    // code and output (shown with -v and in --json's detail).
    await execute(
      connectionFor(d),
      [
        {
          kind: "exec",
          // In a subshell each: a command that ends with `exit` must not skip clearing the record.
          command: verify
            ? run
            : `( ${run}
) && ${clearPending(pendingDir(d.cluster, d.host.name), h.name)}`,
        },
      ],
      d.values,
      executeOptions(d),
    ).catch((e: unknown) => {
      throw e instanceof CommandError
        ? new CommandError(e.host, e.command, e.exitCode, e.stdout, e.stderr, { what: h.name })
        : e;
    });
    if (verify)
      await waitFor(
        d.conn,
        `( ${verify}
) && ${clearPending(pendingDir(d.cluster, d.host.name), h.name)}`,
        VERIFY_TIMEOUT_MS,
        `${h.name}: not healthy again after ${VERIFY_TIMEOUT_MS / 1000}s`,
      );
    d.emit({
      ...base,
      status: "changed",
      durationMs: Math.round(performance.now() - t0),
      message: `ran ${h.name}`,
    });
    d.tally.count(d.host.name, "changed");
    return true;
  } catch (e) {
    d.emit({
      ...base,
      status: "failed",
      durationMs: Math.round(performance.now() - t0),
      message: errorMessage(e),
      detail: errorDetail(e),
    });
    d.tally.fail(d.host.name, d.phase.name, `handler: ${h.name}`, errorMessage(e));
    return false;
  }
}

/** Polls a read-only check; on timeout the error keeps its last command, exit code and output. */
async function waitFor(conn: HostConnection, cmd: string, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await conn.exec(cmd);
    if (res.code === 0) return;
    if (Date.now() > deadline)
      throw new CommandError(conn.host, cmd, res.code, res.stdout, res.stderr, { what: message });
    await new Promise((r) => setTimeout(r, 500));
  }
}
