import type { Action, Later } from "../core/action.js";
import { CommandError, errorDetail, errorMessage, HaprovError } from "../core/errors.js";
import type { Guard } from "../core/guard.js";
import type { RunScope } from "../core/step.js";
import type { HostConnection } from "../core/transport.js";
import type { RunValues } from "./values.js";

/** The connection an action runs on: its own host's, or `action.on`'s (acting on its behalf). */
export type ConnectionFor = (host: string | undefined) => HostConnection;

/**
 * Why a guard does not hold for an action on `host` (undefined: it holds). The engine's checker
 * (engine/guards.ts); a run without one refuses every guarded action.
 */
export type GuardCheck = (guard: Guard, host: string) => Promise<string | undefined>;

export interface ExecuteOptions {
  /** The host the step runs for (an action without `on` acts on it). */
  host: string;
  checkGuard?: GuardCheck;
}

/** A guarded action the engine would not run, and why. */
export class GuardRefusedError extends HaprovError {
  override readonly name = "GuardRefusedError";
}

/** The step failed; what was (or was not) undone after it is said too. */
export class FailedWithCleanupError extends HaprovError {
  override readonly name = "FailedWithCleanupError";
  constructor(
    readonly original: unknown,
    readonly notes: string[],
  ) {
    super(`${errorMessage(original)}; ${notes.join("; ")}`, { cause: original });
  }
  override detail(): string {
    return [errorDetail(this.original), ...this.notes.map((n) => `after the failure: ${n}`)].join("\n");
  }
}

const now = <T>(v: Later<T>, values: RunValues): T =>
  typeof v === "function" ? (v as (s: RunScope) => T)(values.snapshot()) : v;

/** Why the action may not run now (its first failed guard), or undefined. */
async function refusal(action: Action, o: ExecuteOptions): Promise<string | undefined> {
  if (action.kind !== "exec" || !action.guards?.length) return undefined;
  if (!o.checkGuard) return "nothing checks its precondition here";
  // Guards are about the host the step works on, even for an action run elsewhere on its behalf
  // (its Node deleted from the init node): "fresh at start" is that host's state.
  for (const g of action.guards) {
    const why = await o.checkGuard(g, o.host);
    if (why !== undefined) return why;
  }
  return undefined;
}

/**
 * The one place where actions reach a host. Dry-run never gets here: the runner stops after
 * planning. Non-zero exits fail unless the action lists them in okCodes; a guarded action runs
 * only once the engine has checked its guards (GuardRefusedError otherwise, nothing run).
 */
export async function execute(
  connFor: ConnectionFor,
  actions: Action[],
  values: RunValues,
  o: ExecuteOptions,
): Promise<void> {
  for (const action of actions) {
    const conn = connFor(action.on);
    if (action.kind === "write") {
      await conn.writeFileAtomic(action.path, now(action.content, values), {
        mode: action.mode,
        owner: action.owner,
        group: action.group,
        validate: action.validate,
      });
      continue;
    }
    const refused = await refusal(action, o);
    if (refused !== undefined)
      throw new GuardRefusedError(`${action.what ?? "a destructive step"} not run: ${refused}`);
    const command = now(action.command, values);
    const res = await conn.exec(command, {
      ...(action.timeoutMs ? { timeoutMs: action.timeoutMs } : {}),
      ...(action.stdin !== undefined ? { stdin: now(action.stdin, values) } : {}),
    });
    const ok = action.okCodes ?? [0];
    if (res.code === null || !ok.includes(res.code)) {
      throw new CommandError(conn.host, command, res.code, res.stdout, res.stderr);
    }
    if (action.register) values.set(action.register.name, res.stdout.trim(), action.register.secret);
  }
}

/**
 * `actions`; when they fail, `onFailure` (each guarded action only if its guards hold, each
 * refusal said); then `always` whatever happened. The first failure is the one reported, with
 * what was and was not undone after it.
 */
export async function executeWithCleanup(
  connFor: ConnectionFor,
  plan: { actions: Action[]; always?: Action[] | undefined; onFailure?: Action[] | undefined },
  values: RunValues,
  o: ExecuteOptions,
): Promise<void> {
  try {
    await execute(connFor, plan.actions, values, o);
  } catch (e) {
    const notes: string[] = [];
    // In order, and not past the first one that fails or is refused: each undoes what the one
    // before it leaves (a Node is deleted only after its node was reset).
    const undo = plan.onFailure ?? [];
    for (const [i, a] of undo.entries()) {
      const what = a.kind === "exec" ? (a.what ?? "cleanup") : `write ${a.path}`;
      try {
        await execute(connFor, [a], values, o);
        notes.push(`${what} done`);
      } catch (c) {
        notes.push(
          c instanceof GuardRefusedError
            ? `${c.message}: left as it was for you to look at`
            : `${what} failed: ${errorMessage(c)}`,
        );
        const rest = undo.slice(i + 1).flatMap((r) => (r.kind === "exec" && r.what ? [r.what] : []));
        if (rest.length > 0) notes.push(`not done either: ${rest.join(", ")}`);
        break;
      }
    }
    await execute(connFor, plan.always ?? [], values, o).catch(() => undefined);
    throw notes.length > 0 ? new FailedWithCleanupError(e, notes) : e;
  }
  await execute(connFor, plan.always ?? [], values, o);
}
