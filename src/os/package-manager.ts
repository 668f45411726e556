import type { OsRelease } from "../facts/os-release.js";
import { command } from "../core/quote.js";
import { HaprovError } from "../core/errors.js";

export type OsFamily = "debian" | "rhel";

export function osFamily(os: OsRelease): OsFamily {
  const ids = [os.id, ...os.idLike];
  if (ids.some((i) => i === "debian" || i === "ubuntu")) return "debian";
  if (ids.some((i) => ["rhel", "fedora", "centos", "rocky", "almalinux"].includes(i))) return "rhel";
  throw new HaprovError(`unsupported OS "${os.prettyName}" (ID=${os.id})`, {
    hint: "haprov supports Debian/Ubuntu (apt) and RHEL-family (dnf/yum) hosts",
  });
}

/**
 * One command that installs every missing package. On Debian it waits for the dpkg lock
 * (unattended-upgrades on real hosts) with apt's own lock timeout and retries the few cases apt
 * does not cover (the lists lock during `apt-get update`).
 */
export function installCommand(family: OsFamily, names: string[], enableRepos: string[] = []): string {
  const pkgs = command(...names);
  if (family === "debian") {
    const apt = "DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300";
    const update = `${apt} update`;
    const install = `${apt} install -y --no-install-recommends ${pkgs}`;
    return [
      "i=0",
      `until out=$( { ${update} && ${install}; } 2>&1 ); do`,
      `  rc=$?; i=$((i+1))`,
      `  if [ $i -lt 10 ] && printf '%s' "$out" | grep -q 'Could not get lock'; then sleep 3; else printf '%s\\n' "$out" >&2; exit $rc; fi`,
      "done",
    ].join("\n");
  }
  const repos = enableRepos.map((r) => ` --enablerepo=${command(r)}`).join("");
  return `if command -v dnf >/dev/null; then dnf install -y${repos} ${pkgs}; else yum install -y${repos} ${pkgs}; fi`;
}
