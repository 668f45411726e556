import { readFile, writeFile } from "node:fs/promises";
import { HaprovError } from "../../core/errors.js";
import type { RunEvent, RunSummary } from "../../core/events.js";
import type { KnownFacts } from "../../engine/fact-batch.js";
import { ExitCode } from "../../core/exit-codes.js";
import { runPlaybook } from "../../engine/run.js";
import { RunValues } from "../../engine/values.js";
import type { RunLock } from "../../engine/run-lock.js";
import { lockForRun, runInProgress } from "../lock.js";
import { err, exitCodeFor, makeOutput, out, outputMode } from "../output.js";
import { confirm } from "../prompt.js";
import {
  allowedChanges,
  inputDiffers,
  loadSavedPlan,
  makeSavedPlan,
  recordHosts,
  stateDiffers,
  type PlanInput,
  type SavedPlan,
} from "../saved-plan.js";
import { haprovVersion } from "../version.js";
import { openSession, usageError, type CommonOptions, type Session } from "../session.js";
import type { CompiledPlaybook } from "../../core/phase.js";

/**
 * An operation other than `up` (cli/verbs.ts): its own phase list instead of the playbook. A
 * destructive one asks on a terminal and needs -y without one; `--dry-run` only plans it.
 */
export interface OperationRun {
  /** "node remove": the lock's and the events' command. */
  label: string;
  compile(s: Session): CompiledPlaybook;
  dryRun: boolean;
}

/**
 * `plan` (read + diff only), `up` (plan summary, confirmation on a TTY, apply), and the operations
 * of the verb table, which run the same way.
 */
export async function runCommand(
  verb: "up" | "plan",
  o: CommonOptions & { waitLock?: string; output?: string; plan?: string },
  op?: OperationRun,
): Promise<number> {
  const s = await openSession(o, op ? "none" : "required");
  if (op && o.limit) {
    await s.close();
    throw usageError(`${op.label} works on the whole cluster: --limit is refused`, "--limit");
  }
  let compiled: CompiledPlaybook;
  try {
    compiled = op ? op.compile(s) : s.compiled!;
  } catch (e) {
    await s.close();
    throw e;
  }
  if (op && !op.dryRun && !o.yes && outputMode(o.json) !== "tty") {
    await s.close();
    throw usageError(
      `${op.label} changes the cluster's membership and there is no terminal to ask on: give -y to apply, or --dry-run to see the plan`,
      "-y/--yes",
    );
  }
  const planInput = async (): Promise<PlanInput> => ({
    cluster: s.loaded.inventory.cluster.name,
    playbook: compiled,
    material: `${JSON.stringify(s.loaded.inventory)}\n${s.playbook ? await readFile(s.playbook.file, "utf8") : ""}\n${o.limit ?? ""}`,
    version: haprovVersion(),
    redactor: s.redactor,
  });
  const saved = o.plan ? await loadSavedPlan(o.plan) : undefined;
  const planInputNow = o.output || saved ? await planInput() : undefined;
  if (saved) {
    const why = inputDiffers(saved, planInputNow!);
    if (why) {
      await s.close();
      throw new HaprovError(`--plan ${o.plan}: refusing to apply it: ${why}; nothing was contacted`, {
        hint: "make a new plan with haprov plan -o FILE and review it",
      });
    }
  }
  let lock: RunLock | undefined;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    process.stderr.write(
      "\nstopping: no new steps will start; running ones finish (Ctrl-C again to abort now)\n",
    );
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  const mode = outputMode(o.json);
  try {
    let records: SavedPlan["hosts"] = {};
    const run = async (dryRun: boolean, command: string, quiet = false): Promise<RunSummary> => {
      const changes: RunEvent[] = [];
      const keep = (e: RunEvent) => void changes.push(e);
      const output = quiet
        ? { emit: (e: RunEvent) => keep(s.redactor.redactDeep(e)), done: async () => {} }
        : await makeOutput(mode, s.redactor, { verbose: o.verbose, showDiffs: dryRun, extra: [keep] });
      if (verb === "plan") {
        const busy = await runInProgress(s);
        if (busy) output.emit({ kind: "warning", message: busy });
      }
      const summary = await runPlaybook({
        command,
        cluster: s.loaded.inventory.cluster.name,
        playbook: compiled,
        hosts: s.hosts,
        connect: (h) => s.connect(h),
        context: s.contextFor,
        values: new RunValues(s.redactor),
        dryRun,
        concurrency: s.concurrency,
        emit: output.emit,
        signal: controller.signal,
        ...(o.output && dryRun
          ? {
              savedPlan: {
                firstRead: (r: Map<string, KnownFacts>) => {
                  records = recordHosts(r, planInputNow!);
                  return new Map<string, string>();
                },
              },
            }
          : {}),
        ...(saved && !dryRun
          ? {
              savedPlan: {
                firstRead: (r) => stateDiffers(saved, r, planInputNow!),
                allowed: allowedChanges(saved),
              },
            }
          : {}),
      });
      await output.done();
      if (o.output && dryRun && !quiet) {
        const file = makeSavedPlan(planInputNow!, records, changes);
        await writeFile(o.output, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
        err(
          `plan saved to ${o.output}: ${file.changes.length} change(s); apply exactly these with: haprov up --plan ${o.output} -i …\n`,
        );
      }
      // The TTY tree has no room for diffs: plan prints them per host afterwards.
      if (quiet || (dryRun && mode === "tty")) printPlanSummary(changes, !quiet);
      return summary;
    };

    if (verb === "plan" || op?.dryRun) return exitCodeFor(await run(true, "plan"));

    // Before the first read: state read while another run still changes the hosts would be stale
    // (measured: a --wait-lock run that read ahead applied changes already made). On a terminal
    // before the plan shown, so that what is confirmed is what is applied.
    lock = await lockForRun(s, op?.label ?? verb, o.waitLock, (l) => err(`${l}\n`));

    if (saved) {
      err(
        `applying the plan saved in ${o.plan} (${saved.created}): ${saved.changes.length} change(s), and nothing else\n`,
      );
      if (mode === "tty" && !o.yes) {
        for (const c of saved.changes) out(`  ~ ${c.host} [${c.phase}] ${c.step}: ${c.message}\n`);
        if (!(await confirm("Apply these changes?"))) {
          out("Nothing was changed.\n");
          return ExitCode.ok;
        }
      }
      return exitCodeFor(await run(false, "up"));
    }
    if (mode === "tty" && !o.yes) {
      const plan = await run(true, "plan", true);
      const code = exitCodeFor(plan);
      if (code === ExitCode.ok) {
        out("Nothing to change.\n");
        return ExitCode.ok;
      }
      if (code !== ExitCode.planHasChanges) return code;
      if (!(await confirm("Apply these changes?"))) {
        out("Nothing was changed.\n");
        return ExitCode.ok;
      }
    }
    return exitCodeFor(await run(false, op?.label ?? "up"));
  } finally {
    process.off("SIGINT", onSigint);
    await lock?.release();
    await s.close();
  }
}

function printPlanSummary(events: RunEvent[], withDiffs: boolean): void {
  const byHost = new Map<string, string[]>();
  const add = (host: string, line: string) => byHost.set(host, [...(byHost.get(host) ?? []), line]);
  const start = events.find((e) => e.kind === "run-start");
  const order = ["(all)", ...(start?.kind === "run-start" ? start.hosts : [])];
  for (const e of events) {
    if (e.kind === "step" && e.status !== "ok") {
      const mark = e.status === "changed" ? "~" : e.status === "failed" ? "!" : "-";
      add(e.host, `  ${mark} [${e.phase}] ${e.step}: ${e.message}`);
      if (withDiffs && e.diff) add(e.host, e.diff.replace(/\n$/, "").replace(/^/gm, "      "));
    }
    if (e.kind === "handler") add(e.host, `  ~ [${e.phase}] handler: ${e.message}`);
    if (e.kind === "connect" && !e.ok) add(e.host, `  ! unreachable: ${e.error}`);
    if (e.kind === "phase-skipped") add("(all)", `  - phase ${e.phase}: ${e.reason}`);
  }
  if (byHost.size === 0) return;
  out("Plan:\n");
  for (const [host, lines] of [...byHost].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))) {
    out(`${host}\n${lines.join("\n")}\n`);
  }
}
