import chalk from "chalk";
import { Listr, type ListrTask } from "listr2";
import type { EventListener, PhaseOutline, RunEvent, StepStatus } from "../../core/events.js";
import { formatRecap } from "./recap.js";

interface StepOutcome {
  status: StepStatus;
  message: string;
}

/**
 * listr2 tree on a terminal, built from the run's outline: phase → host, each host's line saying
 * how its steps went (a finished phase folds into its one line), and the changes listed under the
 * tree. Each host task waits for the engine's events about its steps. Anything the engine never
 * reports (unreachable host, skipped phase) is settled when its phase or the run ends.
 * A step-level tree cost listr2 17 s of CPU in redraws at a hundred tasks (3-node design A), so -v
 * on a terminal prints the plain lines instead (cli/output.ts).
 */
export function ttyRenderer(write: (s: string) => void): {
  listener: EventListener;
  done: () => Promise<void>;
} {
  const waiting = new Map<string, { resolve: (o: StepOutcome) => void; settled: boolean }>();
  const pending = new Map<string, Promise<StepOutcome>>();
  const notes = new Map<string, string[]>();
  let list: Promise<unknown> = Promise.resolve();
  let finished: Promise<void> = Promise.resolve();
  let phases: PhaseOutline[] = [];
  const key = (phase: string, host: string, i: number) => `${phase}\u0000${host}\u0000${i}`;
  const settle = (k: string, o: StepOutcome) => {
    const w = waiting.get(k);
    if (w && !w.settled) {
      w.settled = true;
      w.resolve(o);
    }
  };
  const settleWhere = (pred: (phase: string, host: string) => boolean, o: StepOutcome) => {
    for (const k of waiting.keys()) {
      const [phase, host] = k.split("\u0000") as [string, string];
      if (pred(phase, host)) settle(k, o);
    }
  };

  const changes: string[] = [];
  /** One task per host, titled with how its steps went once they are all settled. */
  const hostTask = (p: PhaseOutline, host: string): ListrTask => ({
    title: host,
    task: async (_ctx, task) => {
      const outcomes = await Promise.all(p.steps.map((_, i) => pending.get(key(p.name, host, i))!));
      const n = (st: StepStatus) => outcomes.filter((o) => o.status === st).length;
      const parts = [
        n("changed") ? chalk.yellow(`${n("changed")} changed`) : "",
        n("ok") ? `${n("ok")} ok` : "",
        n("skipped") ? chalk.dim(`${n("skipped")} skipped`) : "",
      ].filter(Boolean);
      task.title = `${host} ${parts.join(", ")}`;
      const failed = outcomes.find((o) => o.status === "failed");
      if (failed) throw new Error(`${host}: ${failed.message}`);
    },
  });
  const listener: EventListener = (e: RunEvent) => {
    switch (e.kind) {
      case "run-start": {
        phases = e.phases;
        for (const p of phases) {
          for (const h of p.hosts) {
            p.steps.forEach((_, i) => {
              const k = key(p.name, h, i);
              pending.set(k, new Promise((resolve) => waiting.set(k, { resolve, settled: false })));
            });
          }
        }
        const tasks: ListrTask[] = phases.map((p) => ({
          title: `${e.dryRun ? "plan " : ""}${p.name}`,
          task: (_ctx, task) =>
            task.newListr(
              p.hosts.map((h) => hostTask(p, h)),
              { concurrent: true, exitOnError: false },
            ),
        }));
        list = new Listr(tasks, {
          concurrent: false,
          exitOnError: false,
          renderer: "default",
          rendererOptions: { collapseSubtasks: true, showErrorMessage: true },
        })
          .run()
          .catch(() => undefined);
        return;
      }
      case "connect":
        if (!e.ok)
          settleWhere((_p, h) => h === e.host, {
            status: "failed",
            message: `unreachable: ${e.error}`,
          });
        return;
      case "phase-skipped":
        if (e.quiet) {
          settleWhere((p) => p === e.phase, { status: "ok", message: e.reason });
          return;
        }
        settleWhere((p) => p === e.phase, {
          status: "skipped",
          message: e.reason,
        });
        return;
      case "phase-end":
        settleWhere((p) => p === e.phase, {
          status: "skipped",
          message: "not run",
        });
        return;
      case "step":
        if (e.status === "changed") changes.push(`${e.host} [${e.phase}] ${e.step}: ${e.message}`);
        settle(key(e.phase, e.host, e.index), {
          status: e.status,
          message: e.message,
        });
        return;
      case "handler":
        notes.set(e.host, [...(notes.get(e.host) ?? []), `${e.status} handler ${e.handler}: ${e.message}`]);
        return;
      case "warning":
        write(`${chalk.yellow("warning")}: ${e.host ? `${e.host}: ` : ""}${e.message}\n`);
        return;
      case "summary":
        settleWhere(() => true, {
          status: "skipped",
          message: e.summary.interrupted ? "interrupted" : "not run",
        });
        finished = list.then(() => {
          for (const c of changes) write(`${chalk.yellow("~")} ${c}\n`);
          for (const [host, lines] of notes) for (const l of lines) write(`${host}: ${l}\n`);
          write(`${formatRecap(e.summary, true)}\n`);
        });
        return;
      case "step-start":
      case "phase-start":
        return;
      default: {
        const never: never = e;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
  };
  return { listener, done: () => finished };
}
