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
});
export type PackageParams = z.infer<typeof PackageParams>;

export const packageStep: StepType<PackageParams> = {
  type: "package",
  params: PackageParams,
  describe: (p) => `packages ${p.names.join(" ")}`,
  facts: (p) => [osRelease, installedPackages(p.names)],
  plan(p, facts) {
    const installed = facts.get(installedPackages(p.names));
    const missing = p.names.filter((n) => !installed.has(n));
    if (missing.length === 0) return noop(`${p.names.join(", ")} already installed`);
    const family = osFamily(facts.get(osRelease));
    return change(`install ${missing.join(", ")}`, [
      {
        kind: "exec",
        command: installCommand(family, missing),
        timeoutMs: 15 * 60_000,
      },
    ]);
  },
};
