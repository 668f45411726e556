import { Command } from "commander";
import { OPERATIONS } from "../recipes/operations.js";
import { runCommand } from "./commands/run.js";
import type { CommonOptions } from "./session.js";

/**
 * The verb table (issue #21): each operation beyond `up` is one row — its words on the command
 * line, its arguments and options, and how its arguments become the operation's input. Every row
 * runs through the same runCommand as `up` (plan, confirmation, lock, events, exit codes).
 */
interface VerbRow {
  /** The words before the arguments: ["node", "remove"]. */
  words: [string, string];
  args: string;
  description: string;
  options: [flags: string, description: string][];
  run(o: CommonOptions & Record<string, unknown>, args: string[]): Promise<number>;
}

export const VERBS: VerbRow[] = [
  {
    words: ["node", "remove"],
    args: "<node>",
    description:
      "take a control-plane node, worker or etcd host (etcd-local-proxy) out of the cluster: out of rotation first (VIP moved, backends drained), drained, its etcd member removed behind the quorum guard, reset, its Node deleted",
    options: [
      ["--unreachable", "the node is dead: do everything from the survivors, nothing on the node itself"],
      ["--dry-run", "only show the plan (exit 2 when something would change)"],
    ],
    run: (o, [node]) =>
      runCommand("up", o, {
        label: "node remove",
        dryRun: o.dryRun === true,
        compile: (s) =>
          OPERATIONS["node remove"](
            s.recipe,
            { inventory: s.loaded.inventory, hosts: s.hosts, limit: undefined },
            { node: node!, unreachable: o.unreachable === true },
          ),
      }),
  },
];

/** Adds every row of the table to the program, under its group command ("node"). */
export function addVerbs(
  program: Command,
  common: (cmd: Command) => Command,
  done: (code: number) => void,
): void {
  const groups = new Map<string, Command>();
  for (const v of VERBS) {
    const [group, name] = v.words;
    let g = groups.get(group);
    if (!g) {
      g = program.command(group).description(
        `${group} operations: ${VERBS.filter((x) => x.words[0] === group)
          .map((x) => x.words[1])
          .join(", ")}`,
      );
      groups.set(group, g);
    }
    const cmd = common(g.command(`${name} ${v.args}`).description(v.description));
    for (const [flags, description] of v.options) cmd.option(flags, description);
    cmd.action(async (...a: unknown[]) => {
      const args = a.slice(0, -2) as string[];
      const o = a.at(-2) as CommonOptions & Record<string, unknown>;
      done(await v.run(o, args));
    });
  }
}
