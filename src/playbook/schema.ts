import { z } from "zod";

const selector = z.union([
  z.string().regex(/^(all|control-plane|worker|lb|etcd|first\((control-plane|worker|lb|etcd)\))$/, {
    error: "expected all, a role (control-plane, worker, lb, etcd), first(ROLE), or a list of host names",
  }),
  z.array(z.string().min(1)).min(1),
]);

export const HandlerEntry = z
  .strictObject({
    name: z.string().min(1),
    service: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9@_.:-]*$/, {
        error: "expected a systemd unit name (letters, digits, @ _ . : -, not starting with '-')",
      })
      .optional()
      .describe("Unit to restart or reload; haprov then waits until it is active again"),
    action: z.enum(["restart", "reload"], { error: "expected restart or reload" }).default("restart"),
    run: z.string().min(1).optional().describe("Or: any command (for things that are not systemd units)"),
    verify: z
      .string()
      .min(1)
      .optional()
      .describe("Read-only command polled until it exits 0 (with service: after is-active)"),
    serial: z.boolean().default(false).describe("One host at a time, after every host finished the phase"),
  })
  .refine((h) => (h.service === undefined) !== (h.run === undefined), {
    error: "expected exactly one of service or run",
  });

/** A step entry: `name`, `notify`, and exactly one step-type key (checked in load.ts). */
export const StepEntry = z.looseObject({
  name: z.string().min(1).optional(),
  notify: z.array(z.string().min(1)).default([]),
  when: z
    .union([z.string().min(1), z.array(z.string().min(1))])
    .transform((w) => (Array.isArray(w) ? w : [w]))
    .default([])
    .describe('Run only if every condition holds: "A == B", "A != B", or "A" (non-empty)'),
});

export const PhaseEntry = z.strictObject({
  name: z.string().min(1),
  hosts: selector.default("all"),
  requires: z.enum(["all", "any"], { error: "expected all or any" }).default("all"),
  serial: z
    .number({ error: "expected a whole number ≥ 1" })
    .int()
    .min(1, { error: "expected a whole number ≥ 1" })
    .optional()
    .describe("At most N hosts at a time; the roll stops at the first failure"),
  gather: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected a value name" }),
        script: z.string().min(1).describe("Read-only shell snippet run on every host of the phase"),
        secret: z.boolean().default(false),
        generate: z.strictObject({ length: z.number().int().min(4).max(64) }).optional(),
        otherwise: z
          .enum(["first-host", "empty"], { error: "expected first-host or empty" })
          .optional()
          .describe(
            "When no host answers: the phase's first host (refused when a host could not be asked), or an empty value; otherwise the value stays unknown",
          ),
        expect: z
          .literal("one", { error: "expected one" })
          .optional()
          .describe("Exactly one host must answer; with waitSec, asked again until one does"),
        waitSec: z.number().int().min(1).max(3600).optional(),
        message: z.string().optional().describe("What the expectation means, for the error"),
      }),
    )
    .default([])
    .describe(
      "Asked of every host before any step plans; first non-empty answer (inventory order) is registered",
    ),
  steps: z.array(StepEntry).default([]),
  handlers: z.array(HandlerEntry).default([]),
});

/** A phase of the playbook's recipe, by name, in the recipe's order (user phases may go between). */
export const RecipePhaseEntry = z.strictObject({
  recipe: z
    .string()
    .regex(/^[a-z][a-z0-9 -]*$/, { error: "expected a recipe phase name such as load balancer" })
    .describe("A phase of the playbook's recipe"),
});

export const PlaybookFile = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  recipe: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, { error: "expected an HA mode such as keepalived-haproxy" })
    .optional()
    .describe("The HA design whose phases this playbook runs (its `- recipe: NAME` entries)"),
  // Each entry is a RecipePhaseEntry (it has a `recipe` key) or a PhaseEntry, parsed one by one in
  // load.ts so each gets the messages of its own kind.
  phases: z
    .array(z.record(z.string(), z.unknown(), { error: "expected a phase (a mapping)" }), {
      error: "expected a list of phases",
    })
    .min(1, { error: "expected at least one phase" }),
});
export type PlaybookFile = z.infer<typeof PlaybookFile>;
export type PhaseEntry = z.infer<typeof PhaseEntry>;
export type HandlerEntry = z.infer<typeof HandlerEntry>;
