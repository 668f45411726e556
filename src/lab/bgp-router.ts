import { sh } from "../core/quote.js";

/**
 * The lab's router for kube-vip's BGP mode: a lab host running the real BIRD 2 (Debian's bird2),
 * peering with every control-plane node and putting what it learns into its own kernel table (all
 * paths: ECMP), as an operator's top-of-rack router would. haprov never manages this host: it is
 * the network. Used by `haprov lab up --mode kube-vip --bgp` and by the e2e tests.
 */
export interface LabRouter {
  routerAs: number;
  nodesAs: number;
  /** TCP MD5 password BIRD expects from every node (none when undefined). */
  password?: string | undefined;
  holdTime: number;
  keepaliveInterval: number;
  nodes: { name: string; address: string }[];
}

/** A routed VIP outside every lab subnet (TEST-NET-1, RFC 5737): only the lab's containers route it. */
export const LAB_BGP_VIP = "192.0.2.10";
export const LAB_ROUTER_AS = 65000;
export const LAB_NODES_AS = 65010;

const name = (n: string) => `cp_${n.replace(/[^a-z0-9]/g, "_")}`;

export function birdConf(r: LabRouter): string {
  const password = r.password === undefined ? "" : `\n  password ${JSON.stringify(r.password)};`;
  return `# Lab router (haprov lab, BGP): peers with the control-plane nodes' kube-vip.
log stderr all;
protocol device {}
protocol kernel {
  ipv4 { export all; };
  merge paths yes;
}
template bgp cp {
  local as ${r.routerAs};
  neighbor as ${r.nodesAs};
  passive on;
  hold time ${r.holdTime};
  keepalive time ${r.keepaliveInterval};
  connect retry time 2;${password}
  ipv4 { import all; export none; };
}
${r.nodes.map((n) => `protocol bgp ${name(n.name)} from cp { neighbor ${n.address}; }`).join("\n")}
`;
}

/** Run on the router host: installs the config, checks it with bird's own parser, starts BIRD. */
export const routerSetupScript = (r: LabRouter) =>
  [
    sh`printf %s ${birdConf(r)} > /etc/bird/bird.conf`,
    "chown bird:bird /etc/bird/bird.conf && chmod 0640 /etc/bird/bird.conf",
    "bird -p -c /etc/bird/bird.conf",
    // a router forwards; no ICMP redirects, or hosts would learn to bypass it and keep a dead path
    "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0",
    "systemctl unmask bird.service >/dev/null 2>&1",
    "systemctl restart bird.service",
  ].join(" && ");

/** Run on every other lab host: the VIP is reached through the router, as on a routed network. */
export const routeViaRouter = (vip: string, router: string) =>
  sh`ip route replace ${`${vip}/32`} via ${router}`;
