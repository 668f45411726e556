import { z } from "zod";
import { change, noop } from "../core/action.js";
import { osRelease } from "../facts/os-release.js";
import { installedPackages } from "../facts/packages.js";
import { installCommand, osFamily } from "../os/package-manager.js";
import type { StepType } from "./step.js";

const pkgName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9+.\-_:]*$/, {
  error: "expected a package name",
});
export const PackageParams = z.strictObject({
  names: z.array(pkgName).min(1, { error: "expected at least one package" }),
  rhel: z
    .strictObject({
      names: z.array(pkgName).min(1, { error: "expected at least one package" }),
      enableRepos: z.array(pkgName).default([]).describe("dnf repositories to enable for this install"),
    })
    .optional()
    .describe("On RHEL-family hosts, when the names differ (e.g. fence-agents-all) or need a repository"),
});
export type PackageParams = z.infer<typeof PackageParams>;

export const packageStep: StepType<PackageParams> = {
  type: "package",
  params: PackageParams,
  describe: (p) => `packages ${p.names.join(" ")}`,
  facts: (p) => [osRelease, installedPackages(p.names), ...(p.rhel ? [installedPackages(p.rhel.names)] : [])],
  plan(p, facts) {
    const family = osFamily(facts.get(osRelease));
    const names = family === "rhel" && p.rhel ? p.rhel.names : p.names;
    const installed = facts.get(installedPackages(names));
    const missing = names.filter((n) => !installed.has(n));
    if (missing.length === 0) return noop(`${names.join(", ")} already installed`);
    return change(`install ${missing.join(", ")}`, [
      {
        kind: "exec",
        command: installCommand(family, missing, family === "rhel" ? (p.rhel?.enableRepos ?? []) : []),
        timeoutMs: 15 * 60_000,
      },
    ]);
  },
};
