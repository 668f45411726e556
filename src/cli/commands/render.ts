import { ExitCode } from "../../core/exit-codes.js";
import { UnknownValueError } from "../../core/step.js";
import { out } from "../output.js";
import { openSession, type CommonOptions } from "../session.js";

/** Prints the files each host would get, rendered locally. Secret values are masked. */
export async function renderCommand(o: CommonOptions): Promise<number> {
  const s = await openSession(o, "required");
  const records: { host: string; path: string; mode: string; owner: string; content: string }[] = [];
  for (const host of s.hosts) {
    const phases = s.compiled!.phases.filter((p) => p.hosts.includes(host.name));
    for (const phase of phases) {
      const ctx = s.contextFor(host, { registered: {}, gathered: {} });
      for (const step of phase.steps) {
        let files;
        try {
          files = step.files(ctx);
        } catch (e) {
          if (!(e instanceof UnknownValueError)) throw e;
          out(`# ${host.name}: ${step.name}: ${e.message}\n`);
          continue;
        }
        for (const f of files) {
          records.push({
            host: host.name,
            path: f.path,
            mode: f.mode,
            owner: `${f.owner}:${f.group}`,
            content: s.redactor.redact(f.content),
          });
        }
      }
    }
  }
  for (const r of records) {
    if (o.json) out(`${JSON.stringify({ event: "file", ...r })}\n`);
    else
      out(
        `### ${r.host}: ${r.path} (${r.mode} ${r.owner})\n${r.content}${r.content.endsWith("\n") ? "" : "\n"}\n`,
      );
  }
  return ExitCode.ok;
}
