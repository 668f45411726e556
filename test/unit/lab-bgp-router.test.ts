import { describe, expect, it } from "vitest";
import { birdConf, routerSetupScript } from "../../src/lab/bgp-router.js";

/** The lab router's BIRD config (the router itself runs in the kube-vip BGP e2e test). */
describe("lab BGP router", () => {
  const r = {
    routerAs: 65000,
    nodesAs: 65010,
    holdTime: 9,
    keepaliveInterval: 3,
    nodes: [
      { name: "cp1", address: "172.31.210.11" },
      { name: "cp-2", address: "172.31.210.12" },
    ],
  };

  it("peers passively with every node, eBGP with explicit filters, routes to the kernel with ECMP", () => {
    const c = birdConf(r);
    expect(c).toContain(
      "local as 65000;\n  neighbor as 65010;\n  passive on;\n  hold time 9;\n  keepalive time 3;",
    );
    expect(c).toContain("protocol bgp cp_cp1 from cp { neighbor 172.31.210.11; }");
    expect(c).toContain("protocol bgp cp_cp_2 from cp { neighbor 172.31.210.12; }");
    expect(c).toContain("ipv4 { import all; export none; };");
    expect(c).toContain("merge paths yes;");
    expect(c).not.toContain("password");
  });

  it("a password is a quoted string in the config and never a bare word in the script", () => {
    expect(birdConf({ ...r, password: "md5-Pw7$x" })).toContain('password "md5-Pw7$x";');
    expect(routerSetupScript({ ...r, password: "md5-Pw7$x" })).toContain("'");
    expect(routerSetupScript({ ...r, password: "md5-Pw7$x" })).not.toMatch(/printf %s [^']/);
  });
});
