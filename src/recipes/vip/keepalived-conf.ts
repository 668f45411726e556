/**
 * /etc/keepalived/keepalived.conf for the VRRP designs (REFERENCE.md §1.1, §1.5, §2.1, §6.1).
 *
 * Design A (`election` absent): one vrrp_instance, state BACKUP + nopreempt on every node, distinct
 * priorities, unicast peers, and a track_script WITHOUT weight: with nopreempt a weighted script
 * never moves the VIP (acassen/keepalived#2599, #2483), while weight 0 puts a failing node in
 * FAULT, which sends a priority-0 advert.
 *
 * Design B (`election.kind: "preempt"`): kubeadm's LB pair — MASTER/BACKUP with preemption, the
 * check weighted so that a failed node drops below every healthy one (the inventory rule checks
 * that every priority gap is smaller than |weight|: keepalived#2599), optionally haproxy tracked as
 * a process (failover in tens of ms when it dies), optionally a preempt_delay (initial state BACKUP:
 * "for this to work, the initial state must not be MASTER").
 */
export type VrrpProfile = "default" | "fast";

export type Election =
  | { kind: "nopreempt" }
  | {
      kind: "preempt";
      /** The highest-priority node starts as MASTER (unless preemptDelay is set). */
      initial: "MASTER" | "BACKUP";
      /** Priority lost while the check fails (and again while haproxy is not running). */
      weight: number;
      trackProcess: boolean;
      preemptDelaySec: number | undefined;
    };

export interface KeepalivedInput {
  routerId: string;
  interface: string;
  virtualRouterId: number;
  priority: number;
  selfAddress: string;
  peers: string[];
  vip: string;
  vipPrefix: number;
  /** VRRPv2 auth_pass, 8 characters at most (keepalived truncates longer). Unused by the fast profile. */
  password: string;
  checkScript: string;
  profile: VrrpProfile;
  election?: Election;
  /** The vrrp_instance and vrrp_script names (design A's by default). */
  instance?: string;
  check?: string;
}

export function renderKeepalivedConf(i: KeepalivedInput): string {
  const fast = i.profile === "fast";
  const e = i.election ?? { kind: "nopreempt" };
  const instance = i.instance ?? "VI_K8S_API";
  const check = i.check ?? "check_apiserver";
  // fast: VRRPv3 with 0.3 s adverts (≈1 s failover); VRRPv3 has no authentication, so the peers are
  // pinned with check_unicast_src instead. default: VRRPv2, whole-second adverts (≈3.4 s).
  // A lone holder (a cluster shrunk to one node by a removal) has no peer to name, and keepalived
  // -t refuses a unicast keyword without peers ("Defaulting to multicast. This usage is
  // deprecated"): it sends multicast adverts that no one answers until a peer is added.
  const unicast = i.peers.length > 0;
  const auth = fast
    ? unicast
      ? "    check_unicast_src\n"
      : ""
    : `    authentication {\n        auth_type PASS\n        auth_pass ${i.password}\n    }\n`;
  const peers = unicast
    ? `    unicast_src_ip ${i.selfAddress}\n    unicast_peer {\n${i.peers.map((p) => `        ${p}\n`).join("")}    }\n`
    : "";
  const weight = e.kind === "preempt" ? `    weight -${e.weight}\n` : "";
  const election =
    e.kind === "nopreempt"
      ? "    state BACKUP\n    nopreempt\n"
      : e.preemptDelaySec !== undefined
        ? `    state BACKUP\n    preempt_delay ${e.preemptDelaySec}\n`
        : `    state ${e.initial}\n`;
  const trackProcess = e.kind === "preempt" && e.trackProcess;
  return `# Managed by haprov: changes here are put back on the next run.
global_defs {
    router_id ${i.routerId}
    enable_script_security
    script_user root
${fast ? "    vrrp_version 3\n" : ""}}

vrrp_script ${check} {
    script "${i.checkScript}"
    interval ${fast || e.kind === "preempt" ? 1 : 2}
    timeout 2
${weight}    fall ${fast || e.kind === "preempt" ? 2 : 3}
    rise 2
}
${
  trackProcess
    ? `
vrrp_track_process track_haproxy {
    process haproxy
${weight}    quorum 1
    delay 1
}
`
    : ""
}
vrrp_instance ${instance} {
${election}    interface ${i.interface}
    virtual_router_id ${i.virtualRouterId}
    priority ${i.priority}
    advert_int ${fast ? "0.3" : "1"}
    # A second burst of gratuitous ARPs 1 s after taking over (default 5 s): a neighbour that
    # ignored the first burst (Linux locktime) learns the new holder 4 s sooner (REFERENCE.md §6.1).
    garp_master_delay 1
${peers}${auth}    virtual_ipaddress {
        ${i.vip}/${i.vipPrefix} dev ${i.interface}
    }
    track_script {
        ${check}
    }
${trackProcess ? "    track_process {\n        track_haproxy\n    }\n" : ""}}
`;
}
