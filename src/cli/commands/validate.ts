import { formatIssue } from "../../core/errors.js";
import { ExitCode } from "../../core/exit-codes.js";
import { err, out } from "../output.js";
import { openSession, type CommonOptions } from "../session.js";

/** Inventory and playbook checks only; nothing is contacted. */
export async function validateCommand(o: CommonOptions): Promise<number> {
  const s = await openSession(o, "optional");
  for (const w of s.loaded.warnings) err(`${formatIssue(w)}\n`);
  const inv = s.loaded.inventory;
  const result = {
    valid: true,
    files: s.loaded.files,
    cluster: inv.cluster.name,
    mode: inv.cluster.mode,
    hosts: s.hosts.map((h) => ({ name: h.name, address: h.address, roles: h.roles })),
    playbook: s.playbook
      ? {
          file: s.playbook.file,
          phases: s.compiled!.phases.map((p) => ({ name: p.name, hosts: p.hosts, steps: p.steps.length })),
        }
      : null,
    warnings: s.loaded.warnings.map(formatIssue),
  };
  if (o.json) {
    out(`${JSON.stringify(s.redactor.redactDeep({ event: "validate", ...result }))}\n`);
    return ExitCode.ok;
  }
  out(
    `inventory OK: cluster ${inv.cluster.name}, mode ${inv.cluster.mode}, ${s.hosts.length} host(s) from ${s.loaded.files.join(", ")}\n`,
  );
  if (result.playbook) {
    out(`playbook OK: ${result.playbook.file}\n`);
    for (const p of result.playbook.phases)
      out(`  ${p.name}: ${p.steps} step(s) on ${p.hosts.join(", ") || "(no host)"}\n`);
  } else {
    out(`mode ${inv.cluster.mode} has no recipe yet: give --playbook NAME|PATH to check one\n`);
  }
  return ExitCode.ok;
}
