import { open, rename, rm } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import { parseDocument } from "yaml";
import { errorMessage, HaprovError } from "../../core/errors.js";
import { ExitCode } from "../../core/exit-codes.js";
import { out } from "../output.js";
import { openSession, type CommonOptions } from "../session.js";

const ADMIN_CONF = "/etc/kubernetes/admin.conf";

/**
 * `haprov kubeconfig`: the cluster's admin kubeconfig for the operator, read from the first
 * control-plane node that answers, with its server set to https://VIP:LB-port. It holds a client
 * key: it goes only where the operator asks (-o FILE, written 0600 and atomically, or stdout),
 * never into a log.
 */
export async function kubeconfigCommand(o: CommonOptions & { output?: string }): Promise<number> {
  const s = await openSession(o, "optional");
  const c = s.loaded.inventory.cluster;
  try {
    const endpoint = s.recipe.operatorEndpoint(s.loaded.inventory, s.hosts);
    const server = `https://${endpoint.host}:${endpoint.port}`;
    const tried: string[] = [];
    for (const h of s.hosts.filter((x) => x.roles.includes("control-plane"))) {
      try {
        const conn = await s.connect(h);
        const res = await conn.exec(`cat ${ADMIN_CONF}`);
        if (res.code !== 0) {
          tried.push(`${h.name}: no ${ADMIN_CONF}`);
          continue;
        }
        s.redactor.add(res.stdout);
        const doc = parseDocument(res.stdout);
        const clusters = doc.get("clusters") as { items?: unknown[] } | undefined;
        for (let i = 0; i < (clusters?.items?.length ?? 0); i++)
          doc.setIn(["clusters", i, "cluster", "server"], server);
        const text = doc.toString();
        if (o.output) {
          await writeAtomically(o.output, text);
          out(
            `kubeconfig for ${c.name} (server ${server}: ${endpoint.why}; read from ${h.name}) written to ${o.output} (0600)\n`,
          );
        } else out(text);
        return ExitCode.ok;
      } catch (e) {
        tried.push(`${h.name}: ${s.redactor.redact(errorMessage(e))}`);
      }
    }
    throw new HaprovError(`no control-plane node gave an admin kubeconfig (${tried.join("; ")})`, {
      hint: "run haprov up first",
    });
  } finally {
    await s.close();
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.haprov-${process.pid}`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
