import { execFile } from "node:child_process";
import pLimit from "p-limit";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { packageRoot } from "../core/package-root.js";
import { promisify } from "node:util";
import { HaprovError } from "../core/errors.js";
import type { LabTopology } from "../core/lab-topology.js";
import { HA_MODES } from "../config/schema.js";
import { docker, requireDocker, usedSubnets } from "./docker.js";
import { BOOTED_CHECK, dockerRunArgs, LAB_HOST, LAB_IMAGE, LAB_LABEL } from "./host-options.js";
import { LAB_BGP_VIP, LAB_NODES_AS, LAB_ROUTER_AS, routerSetupScript, routeViaRouter } from "./bgp-router.js";
import { chooseSubnet } from "./subnet.js";

const run = promisify(execFile);
const BUILD_SCRIPT = join(packageRoot(), "docker/build-image.sh");
export const LAB_MODES = HA_MODES;
export type LabMode = (typeof HA_MODES)[number];

export interface LabUpOptions {
  name: string;
  hosts: number;
  /** Worker hosts w1…wN beside the mode's own hosts (fleet benches, scale tests). */
  workers?: number;
  mode: LabMode;
  /** The mode's lab hosts and inventory lines (its recipe's). */
  topology: LabTopology;
  /** Inventory to write (default inventories/lab.NAME.yaml). */
  out?: string;
  /** kube-vip's BGP mode: a router host running BIRD, the VIP routed through it (src/lab/bgp-router.ts). */
  bgp?: boolean;
  cwd: string;
  log: (line: string) => void;
}

interface LabHost {
  name: string;
  roles: readonly string[];
  address: string;
}

/** Creates the lab's hosts on a private network and writes a ready inventory, known_hosts and key. */
export async function labUp(o: LabUpOptions): Promise<{ inventory: string; hosts: LabHost[] }> {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(o.name))
    throw new HaprovError(`lab name "${o.name}": use lower-case letters, digits and -`);
  await requireDocker();
  if ((await labContainers(o.name)).length > 0) {
    throw new HaprovError(`lab ${o.name} already exists`, { hint: `haprov lab down --name ${o.name}` });
  }
  await ensureImage(o.log);
  const subnet = chooseSubnet(await usedSubnets());
  const network = `haprov-lab-${o.name}`;
  const inventory = resolve(o.cwd, o.out ?? `inventories/lab.${o.name}.yaml`);
  const dir = inventory.replace(/\.ya?ml$/, "");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, "id_ed25519");
  await rm(key, { force: true });
  await rm(`${key}.pub`, { force: true });
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `haprov-lab-${o.name}`, "-f", key]);
  const pub = await readFile(`${key}.pub`, "utf8");

  const base = o.topology.hosts(o.hosts);
  // --workers adds w1…wN after the workers the mode's lab already has (design E has w1)
  const own = base.filter((h) => /^w\d+$/.test(h.name)).length;
  const workers = Array.from({ length: o.workers ?? 0 }, (_, i) => ({
    name: `w${own + i + 1}`,
    roles: ["worker"] as const,
  }));
  const hosts = [...base, ...workers].map((h, i) => ({
    ...h,
    address: subnet.hostAddress(i),
  }));
  // the router is the network, not a managed host: it is left out of the inventory
  const router = o.bgp
    ? { name: "router", roles: [] as const, address: subnet.hostAddress(hosts.length) }
    : undefined;
  const containers = router ? [...hosts, router] : hosts;
  await checkInotify(containers.length);
  o.log(
    `creating network ${network} (${subnet.cidr}) and ${hosts.length} host(s)${router ? ` and a BGP router (BIRD) at ${router.address}` : ""}`,
  );
  await docker(["network", "create", "--subnet", subnet.cidr, "--label", `${LAB_LABEL}=${o.name}`, network]);
  // Booting is systemd's start-up in each container: on a small machine dozens at once starve each
  // other past any sane timeout, so at most BOOT_AT_ONCE boot together (a 50-host lab included).
  const booting = pLimit(BOOT_AT_ONCE);
  try {
    await Promise.all(
      containers.map((h) =>
        booting(async () => {
          const name = `haprov-${o.name}-${h.name}`;
          await docker([
            "run",
            ...dockerRunArgs({
              name,
              hostname: h.name,
              network,
              ip: h.address,
              labels: { [LAB_LABEL]: o.name },
            }),
            LAB_IMAGE,
          ]);
          await waitBooted(name);
          const users = LAB_HOST.users.map((u) => `/etc/ssh/authorized_keys/${u}`).join(" ");
          await docker(["exec", "-i", name, "sh", "-c", `umask 022; tee ${users} >/dev/null`], pub);
        }),
      ),
    );
    const knownHosts = await Promise.all(
      hosts.map(
        async (h) =>
          `${h.address} ${(await docker(["exec", `haprov-${o.name}-${h.name}`, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"])).trim().split(" ").slice(0, 2).join(" ")}`,
      ),
    );
    await writeFile(join(dir, "known_hosts"), `${knownHosts.join("\n")}\n`, { mode: 0o600 });
    if (router) await setUpRouter(o.name, router.address, hosts);
  } catch (e) {
    await labDown({ name: o.name, cwd: o.cwd, log: () => undefined, out: o.out });
    throw e;
  }
  await writeFile(
    inventory,
    renderInventory(
      { ...o, inventoryPath: inventory, routerAddress: router?.address },
      router ? LAB_BGP_VIP : subnet.vip,
      router ? 32 : subnet.prefix,
      hosts,
      relative(dirname(inventory), dir),
    ),
  );
  return { inventory, hosts };
}

export async function labDown(o: {
  name: string;
  cwd: string;
  out?: string;
  log: (l: string) => void;
}): Promise<number> {
  await requireDocker();
  const ids = await labContainers(o.name);
  if (ids.length > 0) await docker(["rm", "--force", "--volumes", ...ids]);
  const nets = (await docker(["network", "ls", "-q", "--filter", `label=${LAB_LABEL}=${o.name}`]))
    .split("\n")
    .filter(Boolean);
  if (nets.length > 0) await docker(["network", "rm", ...nets]);
  const inventory = resolve(o.cwd, o.out ?? `inventories/lab.${o.name}.yaml`);
  await rm(inventory, { force: true });
  await rm(inventory.replace(/\.ya?ml$/, ""), { recursive: true, force: true });
  o.log(`removed ${ids.length} container(s) and ${nets.length} network(s) of lab ${o.name}`);
  return ids.length;
}

export async function labList(): Promise<{ name: string; hosts: string[] }[]> {
  await requireDocker();
  const out = await docker([
    "ps",
    "-a",
    "--filter",
    `label=${LAB_LABEL}`,
    "--format",
    `{{.Label "${LAB_LABEL}"}} {{.Names}} {{.State}}`,
  ]);
  const labs = new Map<string, string[]>();
  for (const line of out.split("\n").filter(Boolean)) {
    const [name, container, state] = line.split(" ");
    labs.set(name!, [...(labs.get(name!) ?? []), `${container} (${state})`]);
  }
  return [...labs].map(([name, hosts]) => ({ name, hosts: hosts.sort() }));
}

/**
 * systemd in every lab host takes inotify instances from root's fs.inotify.max_user_instances
 * (128 on Debian): measured here, with 128 the 26th host of a lab never finished booting. About 5
 * per host, counted over every running container.
 */
const INOTIFY_PER_HOST = 5;

async function checkInotify(newHosts: number): Promise<void> {
  let limit: number;
  try {
    limit = Number((await readFile("/proc/sys/fs/inotify/max_user_instances", "utf8")).trim());
  } catch {
    return; // not Linux's procfs: nothing to check
  }
  const running = (await docker(["ps", "-q"])).split("\n").filter(Boolean).length;
  const need = (running + newHosts) * INOTIFY_PER_HOST + 16;
  if (limit >= need) return;
  throw new HaprovError(
    `a lab of ${newHosts} host(s), with ${running} container(s) already running, needs fs.inotify.max_user_instances >= ${need} (it is ${limit}): systemd in the later hosts would never finish booting`,
    {
      hint: `sysctl -w fs.inotify.max_user_instances=${Math.max(1024, need)} (scripts/setup-machine.sh sets 1024)`,
    },
  );
}

async function labContainers(name: string): Promise<string[]> {
  return (await docker(["ps", "-aq", "--filter", `label=${LAB_LABEL}=${name}`])).split("\n").filter(Boolean);
}

async function ensureImage(log: (l: string) => void): Promise<void> {
  const present = await docker(["image", "inspect", LAB_IMAGE]).then(
    () => true,
    () => false,
  );
  if (present) return;
  log(`building the test-host image ${LAB_IMAGE} (first time: about a minute)`);
  await run("bash", [BUILD_SCRIPT], { maxBuffer: 64 * 1024 * 1024 });
}

const BOOT_AT_ONCE = 4;
const BOOT_TIMEOUT_S = 180;

async function waitBooted(container: string): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_S * 1000;
  for (;;) {
    const ok = await docker(["exec", container, "sh", "-c", BOOTED_CHECK]).then(
      () => true,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline)
      throw new HaprovError(`lab host ${container} did not finish booting in ${BOOT_TIMEOUT_S} s`);
    // each poll is a `docker exec`, itself a real cost on a 2-core machine: poll gently
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** BIRD on the router host, peering with every control-plane host; every host routes the VIP through it. */
async function setUpRouter(lab: string, address: string, hosts: LabHost[]): Promise<void> {
  const cps = hosts.filter((h) => h.roles.includes("control-plane"));
  await docker(["exec", `haprov-${lab}-router`, "sh", "-c", routerSetupScript({ ...LAB_BGP, nodes: cps })]);
  await Promise.all(
    hosts.map((h) =>
      docker(["exec", `haprov-${lab}-${h.name}`, "sh", "-c", routeViaRouter(LAB_BGP_VIP, address)]),
    ),
  );
}

/** The lab's BGP timers: short, so a dead node's route goes within seconds (the inventory's too). */
const LAB_BGP = { routerAs: LAB_ROUTER_AS, nodesAs: LAB_NODES_AS, holdTime: 9, keepaliveInterval: 3 };

function renderInventory(
  o: LabUpOptions & { inventoryPath: string; routerAddress: string | undefined },
  vip: string,
  prefix: number,
  hosts: LabHost[],
  keyDir: string,
): string {
  const bgpLines = o.routerAddress
    ? [
        `kubeVip:`,
        `  bgp:`,
        `    localAs: ${LAB_BGP.nodesAs}`,
        `    holdTime: ${LAB_BGP.holdTime}`,
        `    keepaliveInterval: ${LAB_BGP.keepaliveInterval}`,
        `    peers: [{ address: ${o.routerAddress}, as: ${LAB_BGP.routerAs} }]   # the lab's BIRD router (no MD5 password in the lab)`,
      ]
    : [];
  const modeLines = [...o.topology.cluster({ address: vip, prefix }), ...bgpLines]
    .map((l) => `  ${l}\n`)
    .join("");
  const schema = relative(dirname(o.inventoryPath), join(packageRoot(), "inventories/inventory.schema.json"));
  return `# yaml-language-server: $schema=${schema.startsWith(".") ? schema : `./${schema}`}
# Written by \`haprov lab up --name ${o.name}\`: ${hosts.length} container host(s) on this machine.
# Remove with \`haprov lab down --name ${o.name}\`. The key and known_hosts beside it are the lab's own.
cluster:
  name: ${o.name}
  mode: ${o.mode}
${modeLines}ssh:
  user: root
  identityFile: ${keyDir}/id_ed25519
  knownHosts: ${keyDir}/known_hosts
  sshConfig: false
hosts:
${hosts.map((h) => `  - { name: ${h.name}, address: ${h.address}, roles: [${h.roles.join(", ")}] }`).join("\n")}
`;
}
