import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { BOOTED_CHECK, containerUuid, LAB_HOST, LAB_IMAGE } from "../../src/lab/host-options.js";
import { chooseSubnet, type LabSubnet } from "../../src/lab/subnet.js";

/**
 * Real test hosts for vitest: systemd + sshd containers (docker/testhost) on a private network,
 * started with testcontainers. Ryuk cannot be pulled here, so cleanup is ours: every container
 * and network carries TEST_LABEL, `destroy()` removes them, an exit hook removes them if the
 * process dies, and the e2e global teardown fails the run if any is left.
 */
export const TEST_LABEL = "io.haprov.test";

export function dockerAvailable(): boolean {
  try {
    execFileSync("docker", ["image", "inspect", LAB_IMAGE], { stdio: "ignore" });
    return true;
  } catch {
    // CI must not skip silently: .ci/run sets HAPROV_REQUIRE_DOCKER=1 after building the image.
    if (process.env.HAPROV_REQUIRE_DOCKER === "1")
      throw new Error(`Docker or the image ${LAB_IMAGE} is missing (docker/build-image.sh)`);
    return false;
  }
}

class SystemdHost extends GenericContainer {
  constructor(o: {
    network: string;
    ip: string;
    hostname: string;
    labels: Record<string, string>;
    key: string;
  }) {
    super(LAB_IMAGE);
    this.withNetworkMode(o.network)
      .withAddedCapabilities(...LAB_HOST.capAdd)
      .withDroppedCapabilities(...LAB_HOST.capDrop)
      .withSecurityOpt(...LAB_HOST.securityOpt.filter((o) => o !== "systempaths=unconfined"))
      .withTmpFs({ ...LAB_HOST.tmpfs })
      .withBindMounts([{ source: "/sys/fs/cgroup", target: "/sys/fs/cgroup", mode: "rw" }])
      .withCommand([...LAB_HOST.command])
      .withLabels(o.labels)
      .withEnvironment({ container_uuid: containerUuid() })
      .withCopyContentToContainer(
        LAB_HOST.users.map((u) => ({ content: o.key, target: `/etc/ssh/authorized_keys/${u}`, mode: 0o644 })),
      )
      .withWaitStrategy(Wait.forSuccessfulCommand(BOOTED_CHECK))
      .withStartupTimeout(90_000);
    // testcontainers has no option for these (LAB-NOTES.md): extend the create request directly.
    // `systempaths=unconfined` is a docker CLI option; the API form is empty masked/read-only paths.
    Object.assign(this.hostConfig, { CgroupnsMode: "host", MaskedPaths: [], ReadonlyPaths: [] });
    this.createOpts.Hostname = o.hostname;
    this.createOpts.NetworkingConfig = {
      EndpointsConfig: { [o.network]: { IPAMConfig: { IPv4Address: o.ip } } },
    };
  }
}

export interface LabHost {
  name: string;
  address: string;
  container: StartedTestContainer;
  hostKey: string;
}

export interface Lab {
  id: string;
  dir: string;
  network: string;
  subnet: LabSubnet;
  key: string;
  knownHosts: string;
  hosts: LabHost[];
  /** With `bastion: true`: a jump host on a second network and on the lab network (at subnet.bastion). */
  bastion: (LabHost & { outerAddress: string }) | undefined;
  host(name: string): LabHost;
  /** Writes an inventory for these hosts and returns its path. */
  inventory(o?: {
    user?: string;
    extra?: string;
    mode?: string;
    /** The VIP (default: the lab subnet's free .100). */
    vip?: string;
    ssh?: string;
    /** Cluster settings added to the cluster mapping, e.g. "vrrpProfile: fast". */
    cluster?: string;
    /** Which lab hosts, with which role (default: all, control-plane). */
    roles?: Record<string, "control-plane" | "worker" | "lb" | "control-plane, etcd" | "etcd">;
  }): string;
  exec(name: string, command: string): Promise<{ exitCode: number; output: string }>;
  stop(name: string): Promise<void>;
  /** SIGKILL to the container: the host dies without a chance to say goodbye (no VRRP priority 0). */
  kill(name: string): void;
  /** Starts a stopped host again (same address, same host keys) and waits for its sshd. */
  start(name: string): Promise<void>;
  pause(name: string): void;
  unpause(name: string): void;
  disconnect(name: string): void;
  reconnect(name: string): void;
  destroy(): Promise<void>;
}

const live = new Set<string>();
process.once("exit", () => {
  for (const id of live) cleanup(id);
});

function cleanup(id: string): void {
  const q = (args: string[]) => {
    try {
      return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .split("\n")
        .filter(Boolean);
    } catch {
      return [];
    }
  };
  const containers = q(["ps", "-aq", "--filter", `label=${TEST_LABEL}=${id}`]);
  if (containers.length) q(["rm", "-f", "-v", ...containers]);
  const nets = q(["network", "ls", "-q", "--filter", `label=${TEST_LABEL}=${id}`]);
  if (nets.length) q(["network", "rm", ...nets]);
  live.delete(id);
}

function usedSubnets(): string[] {
  const ids = execFileSync("docker", ["network", "ls", "-q"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  if (!ids.length) return [];
  return execFileSync(
    "docker",
    ["network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", ...ids],
    { encoding: "utf8" },
  )
    .split(/\s+/)
    .filter(Boolean);
}

export async function startLab(
  o: { hosts?: number; names?: string[]; bastion?: boolean } = {},
): Promise<Lab> {
  const id = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  live.add(id);
  const dir = mkdtempSync(join(tmpdir(), "haprov-lab-"));
  const key = join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const subnet = chooseSubnet(usedSubnets(), 10); // keep clear of `haprov lab`'s first subnets
  const network = `haprov-test-${id}`;
  execFileSync(
    "docker",
    ["network", "create", "--subnet", subnet.cidr, "--label", `${TEST_LABEL}=${id}`, network],
    { stdio: "ignore" },
  );
  try {
    const names = o.names ?? Array.from({ length: o.hosts ?? 3 }, (_, i) => `cp${i + 1}`);
    const pub = readFileSync(`${key}.pub`, "utf8");
    const hosts = await Promise.all(
      names.map(async (name, i): Promise<LabHost> => {
        const address = subnet.hostAddress(i);
        const container = await new SystemdHost({
          network,
          ip: address,
          hostname: name,
          labels: { [TEST_LABEL]: id },
          key: pub,
        }).start();
        const { output } = await container.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]);
        return { name, address, container, hostKey: output.trim().split(" ").slice(0, 2).join(" ") };
      }),
    );
    let bastion: Lab["bastion"];
    if (o.bastion) {
      const outer = chooseSubnet([...usedSubnets(), subnet.cidr], 20);
      const outerNet = `${network}-outer`;
      execFileSync(
        "docker",
        ["network", "create", "--subnet", outer.cidr, "--label", `${TEST_LABEL}=${id}`, outerNet],
        { stdio: "ignore" },
      );
      const container = await new SystemdHost({
        network: outerNet,
        ip: outer.bastion,
        hostname: "bastion",
        labels: { [TEST_LABEL]: id },
        key: pub,
      }).start();
      execFileSync("docker", ["network", "connect", "--ip", subnet.bastion, network, container.getId()]);
      const { output } = await container.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]);
      bastion = {
        name: "bastion",
        address: subnet.bastion,
        outerAddress: outer.bastion,
        container,
        hostKey: output.trim().split(" ").slice(0, 2).join(" "),
      };
    }
    const knownHosts = join(dir, "known_hosts");
    const known = [
      ...hosts.map((h) => `${h.address} ${h.hostKey}`),
      ...(bastion ? [`${bastion.outerAddress} ${bastion.hostKey}`] : []),
    ];
    writeFileSync(knownHosts, known.join("\n") + "\n");
    const byName = (n: string) => hosts.find((h) => h.name === n) ?? raise(`no lab host ${n}`);
    return {
      id,
      dir,
      network,
      subnet,
      key,
      knownHosts,
      hosts,
      bastion,
      host: byName,
      inventory(io = {}) {
        const file = join(dir, `inventory-${Math.random().toString(36).slice(2, 8)}.yaml`);
        const mode = io.mode ?? "keepalived-haproxy";
        // etcd-local-proxy has no VIP: its schema knows no vipPrefix (issue #21)
        const vip =
          mode === "etcd-local-proxy" ? "" : `, vip: ${io.vip ?? subnet.vip}, vipPrefix: ${subnet.prefix}`;
        writeFileSync(
          file,
          `cluster: { name: ${id}, mode: ${mode}${vip}, interface: eth0${io.cluster ? `, ${io.cluster}` : ""} }
ssh: { user: ${io.user ?? "root"}, identityFile: ${key}, knownHosts: ${knownHosts}, sshConfig: false${io.ssh ? `, ${io.ssh}` : ""} }
hosts:
${hosts
  .filter((h) => !io.roles || h.name in io.roles)
  .map(
    (h) =>
      `  - { name: ${h.name}, address: ${h.address}, roles: [${io.roles?.[h.name] ?? "control-plane"}] }`,
  )
  .join("\n")}
${io.extra ?? ""}`,
        );
        return file;
      },
      async exec(name, command) {
        const r = await byName(name).container.exec(["sh", "-c", command]);
        return { exitCode: r.exitCode, output: r.output };
      },
      async stop(name) {
        await byName(name).container.stop({ timeout: 2000, remove: false });
      },
      async start(name) {
        execFileSync("docker", ["start", byName(name).container.getId()], { stdio: "ignore" });
        const deadline = Date.now() + 60_000;
        for (;;) {
          const r = await byName(name).container.exec(["sh", "-c", "systemctl is-active --quiet ssh"]);
          if (r.exitCode === 0) return;
          if (Date.now() > deadline) throw new Error(`${name}: sshd not up 60 s after docker start`);
          await new Promise((res) => setTimeout(res, 300));
        }
      },
      kill: (name) =>
        void execFileSync("docker", ["kill", byName(name).container.getId()], { stdio: "ignore" }),
      pause: (name) => void execFileSync("docker", ["pause", byName(name).container.getId()]),
      unpause: (name) => void execFileSync("docker", ["unpause", byName(name).container.getId()]),
      disconnect: (name) =>
        void execFileSync("docker", [
          "network",
          "disconnect",
          "--force",
          network,
          byName(name).container.getId(),
        ]),
      reconnect: (name) =>
        void execFileSync("docker", [
          "network",
          "connect",
          "--ip",
          byName(name).address,
          network,
          byName(name).container.getId(),
        ]),
      async destroy() {
        cleanup(id);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    cleanup(id);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function raise(message: string): never {
  throw new Error(message);
}

/** Containers and networks any test left behind (the e2e global teardown checks this is empty). */
export function leftovers(): string[] {
  const q = (args: string[]) =>
    execFileSync("docker", args, { encoding: "utf8" }).split("\n").filter(Boolean);
  return [
    ...q(["ps", "-a", "--filter", `label=${TEST_LABEL}`, "--format", "container {{.Names}}"]),
    ...q(["network", "ls", "--filter", `label=${TEST_LABEL}`, "--format", "network {{.Name}}"]),
  ];
}

/**
 * The hosts that hold the lab's VIP now, asked with the docker CLI: a killed or stopped host holds
 * nothing, and asking it through testcontainers' exec would raise out of band (an unhandled
 * stream error).
 */
export function vipHolders(lab: Lab, hosts: string[]): string[] {
  return hosts.filter((h) => {
    try {
      execFileSync(
        "docker",
        [
          "exec",
          lab.host(h).container.getId(),
          "sh",
          "-c",
          `ip -4 -o addr show | grep -q ' ${lab.subnet.vip}/'`,
        ],
        { stdio: "ignore" },
      );
      return true;
    } catch {
      return false;
    }
  });
}

/** Polls `fn` until it is true; throws naming `what` after `ms`. */
export async function waitUntil(
  what: string,
  fn: () => boolean | Promise<boolean>,
  ms = 30_000,
  everyMs = 250,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
