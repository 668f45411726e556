import type { Action, Later } from "../core/action.js";
import { CommandError } from "../core/errors.js";
import type { RunScope } from "../core/step.js";
import type { HostConnection } from "../core/transport.js";
import type { RunValues } from "./values.js";

/** The connection an action runs on: its own host's, or `action.on`'s (acting on its behalf). */
export type ConnectionFor = (host: string | undefined) => HostConnection;

const now = <T>(v: Later<T>, values: RunValues): T =>
  typeof v === "function" ? (v as (s: RunScope) => T)(values.snapshot()) : v;

/**
 * The one place where actions reach a host. Dry-run never gets here: the runner stops after
 * planning. Non-zero exits fail unless the action lists them in okCodes.
 */
export async function execute(connFor: ConnectionFor, actions: Action[], values: RunValues): Promise<void> {
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

/** `actions`, then `always` whatever happened; the first failure is the one reported. */
export async function executeWithCleanup(
  connFor: ConnectionFor,
  actions: Action[],
  always: Action[],
  values: RunValues,
): Promise<void> {
  try {
    await execute(connFor, actions, values);
  } catch (e) {
    await execute(connFor, always, values).catch(() => undefined);
    throw e;
  }
  await execute(connFor, always, values);
}
