import { haprovVersion } from "./version.js";
import { Command, CommanderError, Option } from "commander";
import { formatIssue, InputError, type InputIssue } from "../core/errors.js";
import { ExitCode } from "../core/exit-codes.js";
import { labCommand } from "./commands/lab.js";
import { schemaCommand } from "./commands/schema.js";
import { renderCommand } from "./commands/render.js";
import { runCommand } from "./commands/run.js";
import { kubeconfigCommand } from "./commands/kubeconfig.js";
import { statusCommand } from "./commands/status.js";
import { validateCommand } from "./commands/validate.js";
import { addVerbs } from "./verbs.js";
import { err, out, printError } from "./output.js";
import type { CommonOptions } from "./session.js";

const pkg = { version: haprovVersion() };

const EXIT_CODES = `
Exit codes:
  0    success (plan: nothing to change)
  1    a step failed or a host was unreachable
  2    plan found changes (nothing failed)
  3    invalid input or usage: nothing was contacted
  130  interrupted (Ctrl-C): running steps finished, no new ones started

Environment:
  \${NAME} in an inventory is replaced by the variable's value; secrets
  (passwords, tokens, keys) are masked as *** in every output.`;

function common(cmd: Command): Command {
  return cmd
    .option(
      "-i, --inventory <path>",
      "inventory YAML file or directory (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--playbook <name|path>", "playbook to run (default: the inventory's cluster.mode)")
    .option("--limit <hosts>", "only these hosts (comma-separated names)")
    .option("--concurrency <n>", "hosts worked on in parallel", "10")
    .option("--json", "newline-delimited JSON events on stdout, nothing else", false)
    .option("-y, --yes", "apply without asking (up on a terminal asks first)", false)
    .option("-v, --verbose", "long error details, diffs and timings", false)
    .option("--accept-new-host-keys", "trust and record host keys not yet in known_hosts (TOFU)", false)
    .option("--ask-sudo-pass", "ask once for the sudo password of non-root users", false);
}

export function buildProgram(result: { code: number }): Command {
  const program = new Command("haprov")
    .description("Agentless SSH provisioning of highly available Kubernetes control planes.")
    .addHelpText("after", EXIT_CODES)
    .version(`haprov ${pkg.version} (node ${process.version})`, "-V, --version", "print haprov's version")
    .showHelpAfterError()
    .exitOverride();
  const action = (fn: (o: CommonOptions) => Promise<number>) => async (o: CommonOptions) => {
    result.code = await fn(o);
  };
  common(program.command("up").description("converge every host to the playbook (asks first on a terminal)"))
    .option(
      "--wait-lock <duration>",
      "when another run holds the cluster's lock, wait up to this long (30s, 10m, 1h) instead of exiting 1",
    )
    .option(
      "--plan <file>",
      "apply exactly a plan saved by plan -o: refused if a host or the input changed since",
    )
    .action(action((o) => runCommand("up", o)));
  common(
    program
      .command("plan")
      .description("read state and show what up would change, with diffs; writes nothing"),
  )
    .option(
      "-o, --output <file>",
      "also save the plan (changes and the state they were planned against, no secrets) for up --plan",
    )
    .action(action((o) => runCommand("plan", o)));
  common(program.command("validate").description("check inventory and playbook; contacts no host")).action(
    action(validateCommand),
  );
  common(
    program.command("render").description("print the files each host would get; contacts no host"),
  ).action(action(renderCommand));
  common(
    program
      .command("status")
      .description(
        "per host: SSH, OS, services; keepalived-haproxy: VIP holder, LB backends, API health, nodes",
      ),
  ).action(action(statusCommand));
  common(
    program
      .command("kubeconfig")
      .description("the cluster's admin kubeconfig (server https://VIP:LB-port) for the operator")
      .option("-o, --output <file>", "write it here (mode 0600) instead of stdout"),
  ).action(action(kubeconfigCommand));
  addVerbs(program, common, (code) => (result.code = code));
  program.addCommand(labCommand(result));
  program
    .command("schema")
    .description("print the inventory's JSON Schema (for editors: yaml-language-server)")
    .action(() => out(schemaCommand()));
  program
    .command("version")
    .description("print haprov's version")
    .addOption(new Option("--json", "as JSON"))
    .action((o: { json?: boolean }) => {
      out(
        o.json
          ? `${JSON.stringify({ event: "version", version: pkg.version, node: process.version })}\n`
          : `haprov ${pkg.version} (node ${process.version})\n`,
      );
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const result = { code: ExitCode.ok as number };
  const program = buildProgram(result);
  const verbose = argv.includes("-v") || argv.includes("--verbose");
  const json = argv.includes("--json");
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.invalidInput;
    }
    await program.parseAsync(argv, { from: "user" });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version"
        ? ExitCode.ok
        : ExitCode.invalidInput;
    }
    if (e instanceof InputError) {
      if (json) for (const i of e.issues) out(`${JSON.stringify(issueEvent(i))}\n`);
      else err(`${e.message}\n`);
      return ExitCode.invalidInput;
    }
    printError(e, undefined, verbose);
    if (json)
      out(
        `${JSON.stringify({ event: "error", message: e instanceof Error ? e.message : String(e), hint: (e as { hint?: string }).hint ?? null })}\n`,
      );
    return ExitCode.stepFailed;
  }
}

/** An input problem as a --json line: where, which field, what (issue #8). */
export function issueEvent(i: InputIssue): Record<string, unknown> {
  return {
    event: i.severity,
    file: i.location?.file ?? null,
    line: i.location?.line ?? null,
    column: i.location?.col ?? null,
    path: i.path,
    message: i.message,
    text: formatIssue(i),
  };
}
