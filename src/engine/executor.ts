import type { Action } from "../core/action.js";
import { CommandError } from "../core/errors.js";
import type { HostConnection } from "../core/transport.js";
import type { RunValues } from "./values.js";

/**
 * The one place where actions reach a host. Dry-run never gets here: the runner stops after
 * planning. Non-zero exits fail unless the action lists them in okCodes.
 */
export async function execute(conn: HostConnection, actions: Action[], values: RunValues): Promise<void> {
  for (const action of actions) {
    if (action.kind === "write") {
      await conn.writeFileAtomic(action.path, action.content, {
        mode: action.mode,
        owner: action.owner,
        group: action.group,
        validate: action.validate,
      });
      continue;
    }
    const res = await conn.exec(action.command, action.timeoutMs ? { timeoutMs: action.timeoutMs } : {});
    const ok = action.okCodes ?? [0];
    if (res.code === null || !ok.includes(res.code)) {
      throw new CommandError(conn.host, action.command, res.code, res.stdout, res.stderr);
    }
    if (action.register) values.set(action.register.name, res.stdout.trim(), action.register.secret);
  }
}
