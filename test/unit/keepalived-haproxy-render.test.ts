import { describe, expect, it } from "vitest";
import { renderCheckScript } from "../../src/recipes/keepalived-haproxy/check-script.js";
import { renderHaproxyCfg } from "../../src/recipes/vip/haproxy-cfg.js";
import { renderKeepalivedConf, type KeepalivedInput } from "../../src/recipes/vip/keepalived-conf.js";

const ka: KeepalivedInput = {
  routerId: "cp1",
  interface: "eth0",
  virtualRouterId: 51,
  priority: 150,
  selfAddress: "10.0.0.11",
  peers: ["10.0.0.12", "10.0.0.13"],
  vip: "10.0.0.100",
  vipPrefix: 24,
  password: "k8sVIP01",
  checkScript: "/etc/keepalived/check_apiserver.sh",
  profile: "default",
};

describe("design A config renderers", () => {
  it("haproxy.cfg balances over every API server with TLS /healthz checks", () => {
    const cfg = renderHaproxyCfg({
      lbPort: 8443,
      apiServerPort: 6443,
      statsPort: 8404,
      backends: [
        { name: "cp1", address: "10.0.0.11" },
        { name: "cp2", address: "10.0.0.12" },
      ],
    });
    expect(cfg).toContain("    bind *:8443\n");
    expect(cfg).toContain(
      "    default-server inter 500ms fastinter 250ms fall 2 rise 2 check check-ssl verify none\n    server cp1 10.0.0.11:6443\n    server cp2 10.0.0.12:6443\n",
    );
    expect(cfg).toContain("    option httpchk GET /healthz\n    http-check expect status 200\n");
    expect(cfg).toContain("    bind 127.0.0.1:8404\n");
    expect(cfg).not.toMatch(/\d{4}-\d\d-\d\d/); // nothing that changes between runs
  });

  it("keepalived.conf: BACKUP + nopreempt everywhere, unicast peers, a weightless track_script", () => {
    expect(renderKeepalivedConf(ka)).toMatchInlineSnapshot(`
      "# Managed by haprov: changes here are put back on the next run.
      global_defs {
          router_id cp1
          enable_script_security
          script_user root
      }

      vrrp_script check_apiserver {
          script "/etc/keepalived/check_apiserver.sh"
          interval 2
          timeout 2
          fall 3
          rise 2
      }

      vrrp_instance VI_K8S_API {
          state BACKUP
          nopreempt
          interface eth0
          virtual_router_id 51
          priority 150
          advert_int 1
          # A second burst of gratuitous ARPs 1 s after taking over (default 5 s): a neighbour that
          # ignored the first burst (Linux locktime) learns the new holder 4 s sooner (REFERENCE.md §6.1).
          garp_master_delay 1
          unicast_src_ip 10.0.0.11
          unicast_peer {
              10.0.0.12
              10.0.0.13
          }
          authentication {
              auth_type PASS
              auth_pass k8sVIP01
          }
          virtual_ipaddress {
              10.0.0.100/24 dev eth0
          }
          track_script {
              check_apiserver
          }
      }
      "
    `);
  });

  it("the fast profile is VRRPv3 with sub-second adverts and no authentication block", () => {
    const fast = renderKeepalivedConf({ ...ka, profile: "fast" });
    expect(fast).toContain("    vrrp_version 3\n");
    expect(fast).toContain("    advert_int 0.3\n");
    expect(fast).toContain("    check_unicast_src\n");
    expect(fast).not.toContain("authentication");
    expect(fast).not.toContain(ka.password);
  });

  it("a lone node (the cluster shrunk to one) names no unicast peer: keepalived -t refuses an empty unicast block", () => {
    for (const profile of ["default", "fast"] as const) {
      const lone = renderKeepalivedConf({ ...ka, peers: [], profile });
      expect(lone, profile).not.toMatch(/unicast/);
      expect(lone, profile).toContain("    virtual_ipaddress {\n        10.0.0.100/24 dev eth0\n");
    }
    expect(renderKeepalivedConf({ ...ka, peers: [] })).toContain("auth_pass k8sVIP01");
  });

  it("the check script tests the local haproxy, and the VIP only where this node holds it", () => {
    const s = renderCheckScript({ statsPort: 8404, lbPort: 8443, vip: "10.0.0.100", interface: "eth0" });
    expect(s.startsWith("#!/bin/sh\n")).toBe(true);
    expect(s).toContain("https://127.0.0.1:8443/healthz || exit 1");
    expect(s).toContain("if ip -4 -o addr show dev eth0 | grep -q ' 10.0.0.100/'; then\n");
    expect(s).toContain("https://10.0.0.100:8443/healthz || exit 1");
  });
});
