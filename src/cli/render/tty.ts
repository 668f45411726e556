import chalk from "chalk";
import { Listr, type ListrTask } from "listr2";
import type { EventListener, PhaseOutline, RunEvent, StepStatus } from "../../core/events.js";
import { formatRecap } from "./recap.js";

interface StepOutcome {
  status: StepStatus;
  message: string;
}

/**
 * listr2 tree (phase → host → step) on a terminal. The tree is built from the run's outline; each
 * step task waits for the engine's event about that step. Anything the engine never reports
 * (unreachable host, skipped phase) is settled when its phase or the run ends.
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

  const stepTask = (phase: string, host: string, name: string, i: number): ListrTask => ({
    title: name,
    task: async (_ctx, task) => {
      const o = await pending.get(key(phase, host, i))!;
      task.title = `${name} ${chalk.dim(o.message)}`;
      if (o.status === "failed") throw new Error(`${name}: ${o.message}`);
      if (o.status === "skipped") task.skip(`${name}: ${o.message}`);
      if (o.status === "changed") task.title = `${chalk.yellow(name)} ${chalk.dim(o.message)}`;
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
              p.hosts.map((h) => ({
                title: h,
                task: (_c, t) =>
                  t.newListr(
                    p.steps.map((s, i) => stepTask(p.name, h, s, i)),
                    { concurrent: false, exitOnError: true },
                  ),
              })),
              { concurrent: true, exitOnError: false },
            ),
        }));
        list = new Listr(tasks, {
          concurrent: false,
          exitOnError: false,
          renderer: "default",
          rendererOptions: {
            collapseSubtasks: false,
            collapseSkips: false,
            showErrorMessage: true,
          },
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
