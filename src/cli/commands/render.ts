import { ExitCode } from "../../core/exit-codes.js";
import type { HostSpec } from "../../core/host.js";
import { UnknownValueError, type RenderedFile } from "../../core/step.js";
import type { RunScope } from "../../engine/values.js";
import { out } from "../output.js";
import { openSession, type CommonOptions, type Session } from "../session.js";

/** Shown where a value the first run makes up (a generated secret) will stand. */
export const GENERATED = "<generated on the first run, then read back from the hosts>";

interface HostRender {
  files: RenderedFile[];
  /** Steps whose files depend on what only the hosts can tell, and what that is. */
  deferred: { steps: string[]; needs: string[] };
}

/**
 * Prints the files each host would get, rendered here without contacting anything; secret values
 * are masked. Files that depend on what only the hosts know (which node initialises, the cluster's
 * CA) are named in one line per host; values the first run generates show as a placeholder.
 */
export async function renderCommand(o: CommonOptions): Promise<number> {
  const s = await openSession(o, "required");
  for (const host of s.hosts) {
    const r = renderHost(s, host);
    if (r.files.length === 0 && r.deferred.steps.length === 0) continue;
    for (const f of r.files) {
      const content = s.redactor.redact(f.content);
      const owner = `${f.owner}:${f.group}`;
      if (o.json)
        out(
          `${JSON.stringify({ event: "file", host: host.name, path: f.path, mode: f.mode, owner, content })}\n`,
        );
      else
        out(
          `### ${host.name}: ${f.path} (${f.mode} ${owner})\n${content}${content.endsWith("\n") ? "" : "\n"}\n`,
        );
    }
    if (r.deferred.steps.length === 0) continue;
    if (o.json) out(`${JSON.stringify({ event: "deferred", host: host.name, ...r.deferred })}\n`);
    else
      out(
        `# ${host.name}: known once the hosts are read (${r.deferred.needs.join("; ")}): ${r.deferred.steps.join(", ")}\n\n`,
      );
  }
  return ExitCode.ok;
}

function renderHost(s: Session, host: HostSpec): HostRender {
  const scope: RunScope = { registered: {}, gathered: {} };
  const phases = s.compiled!.phases.filter((p) => p.hosts.includes(host.name));
  for (const p of phases) for (const g of p.gather) if (g.generate) scope.registered[g.name] = GENERATED;
  const ctx = s.contextFor(host, scope);
  const files: RenderedFile[] = [];
  const steps: string[] = [];
  const needs = new Set<string>();
  for (const p of phases)
    for (const step of p.steps) {
      try {
        files.push(...step.files(ctx));
      } catch (e) {
        if (!(e instanceof UnknownValueError)) throw e;
        steps.push(step.name);
        needs.add(e.what);
      }
    }
  return { files, deferred: { steps, needs: [...needs] } };
}
