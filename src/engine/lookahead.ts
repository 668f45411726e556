import type { Fact } from "../core/fact.js";
import type { HostSpec } from "../core/host.js";
import type { StepContext } from "../core/step.js";
import type { HostConnection } from "../core/transport.js";
import { buildBatch, type KnownFacts } from "./fact-batch.js";
import { answer } from "./gather.js";
import type { CompiledPhase } from "../core/phase.js";
import { pendingDir, pendingHandlers } from "./pending.js";
import type { RunScope, RunValues } from "./values.js";

/**
 * The run's first round trip per host: every question of every phase that can already be put —
 * step facts and gather scripts not waiting on a value produced later in the run — in one batch.
 * The engine uses these answers only while nothing has changed anywhere in the run; after the
 * first change it reads again, phase by phase. A converged cluster is then read in one round trip
 * per host plus the few questions that depend on run values (e.g. facts of the init node).
 * A host whose read-ahead fails is simply read phase by phase.
 */
export async function readAhead(o: {
  host: HostSpec;
  conn: HostConnection;
  phases: CompiledPhase[];
  cluster: string;
  values: RunValues;
  context(host: HostSpec, scope: RunScope): StepContext;
}): Promise<KnownFacts | undefined> {
  const facts: Fact<unknown>[] = [];
  const ctx = o.context(o.host, o.values.snapshot());
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch {
      // Not askable yet (a value produced later, a bad template): its phase asks, and reports.
    }
  };
  for (const phase of o.phases.filter((p) => p.hosts.includes(o.host.name))) {
    for (const g of phase.gather) attempt(() => facts.push(answer(g, g.script(ctx))));
    for (const step of phase.steps) attempt(() => facts.push(...step.facts(ctx)));
    if (phase.handlers.length > 0) facts.push(pendingHandlers(pendingDir(o.cluster, o.host.name)));
  }
  if (facts.length === 0) return undefined;
  const batch = buildBatch(facts);
  try {
    const res = await o.conn.exec(batch.script);
    return res.code === 0 ? batch.parse(res.stdout) : undefined;
  } catch {
    return undefined; // its phases read it again, and report what fails
  }
}
