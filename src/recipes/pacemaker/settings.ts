import { z } from "zod";
import { commonClusterFields, modeField, vipFields } from "../../config/cluster-common.js";
import {
  FENCE_AGENTS,
  optionKeyProblem,
  optionValueProblem,
  RESERVED_RESOURCE_IDS,
} from "../../config/fence-agents.js";
import { dnsLabel as name, secretString, varValue } from "../../config/formats.js";

/**
 * A fence device (STONITH) for one node: a fence agent haprov knows and that agent's own options,
 * each with its format (config/fence-agents.ts, issue #20); secret options are masked everywhere.
 */
export const FenceDevice = z
  .strictObject({
    id: name
      .refine((id) => !RESERVED_RESOURCE_IDS.includes(id), {
        error: `expected an id of its own: ${RESERVED_RESOURCE_IDS.join(", ")} are haprov's resources`,
      })
      .describe("Resource id of the device, e.g. fence-cp1"),
    agent: z
      .enum(Object.keys(FENCE_AGENTS) as [string, ...string[]], {
        error: `expected a fence agent haprov knows: ${Object.keys(FENCE_AGENTS).join(", ")}`,
      })
      .describe("The fence agent (fence-agents package), e.g. fence_ipmilan, fence_redfish"),
    host: name.describe("The host (by inventory name) this device fences"),
    options: z
      .record(
        z
          .string()
          .regex(/^[a-z][a-z0-9_-]{0,63}$/, { error: "expected an option name such as ip or username" }),
        varValue,
      )
      .default({})
      .describe(
        "The agent's options as fence-agents documents them (ip, username, password, lanplus…); *_script, *_path, pcmk_*, action and debug options are refused; passwords, communities and keys are secrets",
      ),
  })
  .superRefine((d, ctx) => {
    for (const [key, value] of Object.entries(d.options)) {
      const keyProblem = optionKeyProblem(d.agent, key);
      if (keyProblem) {
        // located at the key itself (zod-issues.ts), as an unknown key is
        ctx.addIssue({ code: "custom", path: ["options", key], message: keyProblem, params: { at: "key" } });
        continue;
      }
      const format = FENCE_AGENTS[d.agent]?.[key];
      const valueProblem = format ? optionValueProblem(format, value) : undefined;
      if (valueProblem) ctx.addIssue({ code: "custom", path: ["options", key], message: valueProblem });
    }
  });

export const PacemakerSettings = z.strictObject({
  fencing: z
    .union(
      [z.literal("disabled"), z.array(FenceDevice).min(1, { error: "expected at least one fence device" })],
      {
        error: 'expected a list of fence devices, or "disabled" (a lab without fencing)',
      },
    )
    .describe(
      'Fence devices (a Pacemaker cluster without one starts nothing), or "disabled": only for labs, validate warns and status keeps saying so',
    ),
  haclusterPassword: secretString
    .optional()
    .describe(
      "Password of the hacluster user pcs authenticates with (generated once and kept on the hosts when omitted)",
    ),
  token: z
    .number({ error: "expected milliseconds 500-60000" })
    .int({ error: "expected whole milliseconds" })
    .min(500, { error: "expected at least 500 ms" })
    .max(60_000, { error: "expected at most 60000 ms" })
    .default(3000)
    .describe("Corosync totem token in ms (node loss is noticed after about this long)"),
  migrationThreshold: z
    .number({ error: "expected a whole number 1-1000" })
    .int({ error: "expected a whole number 1-1000" })
    .min(1, { error: "expected a whole number 1-1000" })
    .max(1000, { error: "expected a whole number 1-1000" })
    .default(2)
    .describe("haproxy failures on a node before it gives the VIP away"),
  failureTimeout: z
    .number({ error: "expected seconds 10-86400" })
    .int({ error: "expected whole seconds" })
    .min(10, { error: "expected at least 10 s" })
    .max(86_400, { error: "expected at most 86400 s" })
    .default(60)
    .describe("Seconds after which old haproxy failures are forgotten"),
});

/** Design D's cluster settings: the VIP and haproxy as Pacemaker resources. */
export const PacemakerCluster = z.strictObject({
  mode: modeField("pacemaker"),
  ...commonClusterFields,
  ...vipFields,
  pacemaker: PacemakerSettings.optional().describe(
    "Fencing, the hacluster password, corosync and failure settings",
  ),
});
