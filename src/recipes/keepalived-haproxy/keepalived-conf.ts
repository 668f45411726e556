/**
 * /etc/keepalived/keepalived.conf for design A (REFERENCE.md §1.1, §1.5, §6.1). One vrrp_instance,
 * state BACKUP + nopreempt on every node, distinct priorities, unicast peers, and a track_script
 * WITHOUT weight: with nopreempt a weighted script never moves the VIP (acassen/keepalived#2599,
 * #2483), while weight 0 puts a failing node in FAULT, which sends a priority-0 advert.
 */
export type VrrpProfile = "default" | "fast";

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
}

export function renderKeepalivedConf(i: KeepalivedInput): string {
  const fast = i.profile === "fast";
  // fast: VRRPv3 with 0.3 s adverts (≈1 s failover); VRRPv3 has no authentication, so the peers are
  // pinned with check_unicast_src instead. default: VRRPv2, whole-second adverts (≈3.4 s).
  const auth = fast
    ? "    check_unicast_src\n"
    : `    authentication {\n        auth_type PASS\n        auth_pass ${i.password}\n    }\n`;
  return `# Managed by haprov: changes here are put back on the next run.
global_defs {
    router_id ${i.routerId}
    enable_script_security
    script_user root
${fast ? "    vrrp_version 3\n" : ""}}

vrrp_script check_apiserver {
    script "${i.checkScript}"
    interval ${fast ? 1 : 2}
    timeout 2
    fall ${fast ? 2 : 3}
    rise 2
}

vrrp_instance VI_K8S_API {
    state BACKUP
    nopreempt
    interface ${i.interface}
    virtual_router_id ${i.virtualRouterId}
    priority ${i.priority}
    advert_int ${fast ? "0.3" : "1"}
    # A second burst of gratuitous ARPs 1 s after taking over (default 5 s): a neighbour that
    # ignored the first burst (Linux locktime) learns the new holder 4 s sooner (REFERENCE.md §6.1).
    garp_master_delay 1
    unicast_src_ip ${i.selfAddress}
    unicast_peer {
${i.peers.map((p) => `        ${p}`).join("\n")}
    }
${auth}    virtual_ipaddress {
        ${i.vip}/${i.vipPrefix} dev ${i.interface}
    }
    track_script {
        check_apiserver
    }
}
`;
}
