import type { RunEvent } from "../../src/core/events.js";
import { interpolate } from "../../src/core/interpolate.js";
import type { CompiledPhase } from "../../src/core/phase.js";
import { Redactor } from "../../src/core/secret.js";
import type { StepContext } from "../../src/core/step.js";
import type { HostSpec } from "../../src/core/host.js";
import { runPlaybook, type RunOptions } from "../../src/engine/run.js";
import { RunValues } from "../../src/engine/values.js";
import type { FakeHost } from "./fake-host.js";

/** The engine over in-memory hosts: every event kept, values interpolated from the run's scope. */
export async function runOnFakes(
  l: { hosts: Map<string, FakeHost>; specs: HostSpec[] },
  phases: CompiledPhase[],
  o: Partial<RunOptions> = {},
) {
  const events: RunEvent[] = [];
  const redactor = new Redactor();
  const summary = await runPlaybook({
    command: o.dryRun ? "plan" : "up",
    cluster: "test",
    playbook: { name: "test", phases },
    hosts: l.specs,
    connect: async (h) => l.hosts.get(h.name)!,
    context: (host, scope): StepContext => ({
      host,
      scope,
      interpolate: (t) => interpolate(t, { ...scope }),
      interpolateShell: (t) => interpolate(t, { ...scope }),
      interpolatePath: (t) => interpolate(t, { ...scope }),
      renderTemplate: () => "",
    }),
    values: new RunValues(redactor),
    dryRun: false,
    concurrency: 10,
    emit: (e) => events.push(e),
    ...o,
  });
  return { summary, events, redactor };
}
