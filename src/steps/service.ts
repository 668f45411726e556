import { z } from "zod";
import { change, noop } from "../core/action.js";
import { command } from "../core/quote.js";
import { serviceState, unitName } from "../facts/service.js";
import type { StepType } from "./step.js";

export const ServiceParams = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9@_.:-]*$/, {
    error: "expected a systemd unit name (letters, digits, @ _ . : -, not starting with '-')",
  }),
  enabled: z.boolean().default(true),
  state: z
    .enum(["started", "stopped", "unmanaged"], { error: "expected started, stopped or unmanaged" })
    .default("started")
    .describe("unmanaged: another manager (Pacemaker) starts and stops it; only enabled is kept"),
});
export type ServiceParams = z.infer<typeof ServiceParams>;

const ENABLED = new Set(["enabled", "enabled-runtime", "static", "generated", "indirect", "alias"]);

/** Enabled/started state only; restarts happen through handlers when a config changed. */
export const serviceStep: StepType<ServiceParams> = {
  type: "service",
  params: ServiceParams,
  describe: (p) => `service ${p.name}`,
  facts: (p) => [serviceState(p.name)],
  plan(p, facts) {
    const s = facts.get(serviceState(p.name));
    const unit = unitName(p.name);
    const cmds: string[] = [];
    const what: string[] = [];
    if (s.enabled === "masked") {
      cmds.push(command("systemctl", "unmask", "--", unit));
      what.push("unmask");
    }
    const isEnabled = ENABLED.has(s.enabled);
    if (p.enabled && !isEnabled) {
      cmds.push(command("systemctl", "enable", "--", unit));
      what.push("enable");
    } else if (!p.enabled && s.enabled === "enabled") {
      cmds.push(command("systemctl", "disable", "--", unit));
      what.push("disable");
    }
    const running = s.active === "active" || s.active === "activating" || s.active === "reloading";
    if (p.state === "started" && !running) {
      cmds.push(command("systemctl", "start", "--", unit));
      what.push(`start (was ${s.active || "not installed"})`);
    } else if (p.state === "stopped" && running) {
      cmds.push(command("systemctl", "stop", "--", unit));
      what.push("stop");
    }
    if (cmds.length === 0) {
      const state =
        p.state === "unmanaged" ? "left to its manager" : p.state === "started" ? "active" : "stopped";
      return noop(`${unit} already ${p.enabled ? "enabled" : "disabled"} and ${state}`);
    }
    return change(`${unit}: ${what.join(", ")}`, [{ kind: "exec", command: cmds.join(" && ") }]);
  },
};
