import { relative } from "node:path";
import { Command, Option } from "commander";
import { ExitCode } from "../../core/exit-codes.js";
import { LAB_MODES, labDown, labList, labUp, type LabMode } from "../../lab/lab.js";
import { RECIPES } from "../../recipes/index.js";
import { out } from "../output.js";

/** `haprov lab up|down|ls`: throw-away hosts (systemd + sshd containers) on this machine. */
export function labCommand(result: { code: number }): Command {
  const lab = new Command("lab").description(
    "local lab: container hosts with systemd and sshd, and a ready inventory",
  );
  const log = (l: string) => void process.stderr.write(`lab: ${l}\n`);
  lab
    .command("up")
    .description("create the lab's hosts and write inventories/lab.NAME.yaml")
    .option("--hosts <n>", "control-plane hosts (1 to 9)", "3")
    .option("--workers <n>", "worker hosts w1…wN beside them (0 to 60)", "0")
    .addOption(
      new Option("--mode <mode>", "HA mode written into the inventory")
        .choices([...LAB_MODES])
        .default("keepalived-haproxy"),
    )
    .option("--bgp", "kube-vip's BGP mode: a router host running BIRD, the VIP routed through it")
    .option("--name <name>", "lab name (several labs can coexist)", "lab")
    .option("-o, --out <path>", "inventory to write (default inventories/lab.NAME.yaml)")
    .action(
      async (o: {
        hosts: string;
        workers: string;
        mode: LabMode;
        name: string;
        out?: string;
        bgp?: boolean;
      }) => {
        const hosts = Number(o.hosts);
        const workers = Number(o.workers);
        if (!Number.isInteger(hosts) || hosts < 1 || hosts > 9) {
          process.stderr.write("haprov: --hosts: expected 1 to 9\n");
          result.code = ExitCode.invalidInput;
          return;
        }
        // hosts are .11 upwards on the lab's /24 and the VIP is .100: 9 + 60 stays below it
        if (!Number.isInteger(workers) || workers < 0 || workers > 60) {
          process.stderr.write("haprov: --workers: expected 0 to 60\n");
          result.code = ExitCode.invalidInput;
          return;
        }
        if (o.bgp && o.mode !== "kube-vip") {
          process.stderr.write("haprov: --bgp: only with --mode kube-vip (kube-vip's BGP mode)\n");
          result.code = ExitCode.invalidInput;
          return;
        }
        const recipe = RECIPES[o.mode];
        const r = await labUp({
          bgp: o.bgp === true,
          name: o.name,
          hosts,
          workers,
          mode: o.mode,
          topology: recipe.lab,
          cwd: process.cwd(),
          log,
          ...(o.out ? { out: o.out } : {}),
        });
        const inv = relative(process.cwd(), r.inventory);
        out(`lab ${o.name} is up: ${r.hosts.map((h) => `${h.name} ${h.address}`).join(", ")}\n`);
        out(
          `inventory: ${inv}\n\nnext:\n  ${
            recipe.phases
              ? `haprov up -i ${inv}\n  haprov status -i ${inv}`
              : `haprov up -i ${inv} --playbook prepare   (mode ${o.mode} has no recipe yet)`
          }\n  haprov lab down --name ${o.name}\n`,
        );
      },
    );
  lab
    .command("down")
    .description("remove the lab's containers, network and generated files")
    .option("--name <name>", "lab name", "lab")
    .option("-o, --out <path>", "the inventory path given to lab up, if any")
    .action(async (o: { name: string; out?: string }) => {
      await labDown({ name: o.name, cwd: process.cwd(), log, ...(o.out ? { out: o.out } : {}) });
    });
  lab
    .command("ls")
    .description("list labs on this machine")
    .action(async () => {
      const labs = await labList();
      if (labs.length === 0) out("no labs\n");
      for (const l of labs) out(`${l.name}\n${l.hosts.map((h) => `  ${h}\n`).join("")}`);
    });
  return lab;
}
