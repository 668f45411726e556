import { randomUUID } from "node:crypto";

/**
 * How a lab host container runs (LAB-NOTES.md): systemd as PID 1 needs these capabilities and
 * mounts on this kind of machine (`--privileged` fails here: CAP_SYS_RESOURCE is not available),
 * and `systempaths=unconfined` makes the net.* sysctls writable so haprov's sysctl step is real.
 * Shared by `haprov lab` (docker CLI) and the test fixture (testcontainers).
 */
export const LAB_IMAGE = process.env.HAPROV_TESTHOST_IMAGE ?? "haprov-testhost:latest";
export const LAB_LABEL = "io.haprov.lab";

export const LAB_HOST = {
  capAdd: ["ALL"],
  capDrop: ["SYS_RESOURCE"],
  securityOpt: ["seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"],
  tmpfs: { "/run": "rw", "/run/lock": "rw" },
  binds: ["/sys/fs/cgroup:/sys/fs/cgroup:rw"],
  cgroupns: "host",
  command: ["/lib/systemd/systemd"],
  /** Users the image has: root and admin log in with the lab key; ops's sudo asks for a password. */
  users: ["root", "admin", "ops"],
  opsSudoPassword: "ops-lab-pw",
} as const;

/** `docker run` flags for one lab host. */
export function dockerRunArgs(o: {
  name: string;
  hostname: string;
  network: string;
  ip: string;
  labels: Record<string, string>;
}): string[] {
  return [
    "--detach",
    "--env",
    `container_uuid=${containerUuid()}`,
    "--name",
    o.name,
    "--hostname",
    o.hostname,
    "--network",
    o.network,
    "--ip",
    o.ip,
    ...LAB_HOST.capAdd.flatMap((c) => ["--cap-add", c]),
    ...LAB_HOST.capDrop.flatMap((c) => ["--cap-drop", c]),
    ...LAB_HOST.securityOpt.flatMap((s) => ["--security-opt", s]),
    ...Object.keys(LAB_HOST.tmpfs).flatMap((t) => ["--tmpfs", t]),
    ...LAB_HOST.binds.flatMap((b) => ["--volume", b]),
    `--cgroupns=${LAB_HOST.cgroupns}`,
    ...Object.entries(o.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
  ];
}

/**
 * With an empty /etc/machine-id, systemd in a container takes the VM's product UUID, the same for
 * every container on the machine; it prefers $container_uuid, so each host gets its own.
 */
export function containerUuid(): string {
  return randomUUID().replaceAll("-", "");
}

/** Waits until systemd reports the host up (`degraded` counts: some unit may fail in a container). */
export const BOOTED_CHECK =
  's=$(systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]';
