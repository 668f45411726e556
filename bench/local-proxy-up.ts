/**
 * Design E (etcd-local-proxy: a static etcd cluster with TLS built by haprov — Debian's real etcd
 * 3.4 —, kubeadm stand-in with external etcd, haproxy on 127.0.0.1:7443 of every node) on 4 fresh
 * lab hosts (3 control-plane/etcd + 1 worker): whole bring-up, no-op reruns, the time until every
 * node's proxy has taken a stopped API server out of its rotation (and requests that failed
 * meanwhile, one every 100 ms on each node), and etcd's own `etcdctl check perf` through the cluster.
 *
 *   npx tsx bench/local-proxy-up.ts [runs=5]
 *
 * Needs Docker and the test-host image. Creates and removes its own lab ("benchetcd"). Prints
 * Markdown for bench/RESULTS.md. Measurements, not a timed test.
 */
import { aptMs } from "./events.js";
import { benchLab, median, runsArg, secs as s, type Sample, printDesignTable } from "./lab-bench.js";

const runs = runsArg();
const lab = benchLab("benchetcd", "etcd-local-proxy");
const nodes = lab.hosts;
const cps = nodes.filter((h) => h.startsWith("cp"));
const rows: string[] = [];
const PKI = "/etc/etcd/pki";
const etcdctl = () =>
  `ETCDCTL_API=3 etcdctl --endpoints=${cps.map((c) => `https://${lab.sh(c, "hostname -i").split(" ")[0]}:2379`).join(",")} --cacert ${PKI}/ca.crt --cert ${PKI}/server.crt --key ${PKI}/server.key`;
try {
  const first = await lab.haprov(["up", "-y"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  rows.push(
    `| first up, whole bring-up (3 CP/etcd + 1 worker) | ${s(first.wallMs)} | apt (slowest host, per phase, summed): ${s(aptMs(first, ["prerequisites", "etcd certificate authority", "local proxy"]))} | ${first.sessions.join("/")} | ${first.rssMb.toFixed(0)} MB |`,
  );
  const noop: Sample[] = [];
  for (let i = 0; i < runs; i++) noop.push(await lab.haprov(["up", "-y"]));
  rows.push(
    `| no-op rerun ×${runs} | median ${s(median(noop.map((x) => x.wallMs)))} (${noop.map((x) => s(x.wallMs)).join(", ")}) | exit ${[...new Set(noop.map((x) => x.code))].join("/")} | ${noop[0]!.sessions.join("/")} | ${Math.max(...noop.map((x) => x.rssMb)).toFixed(0)} MB |`,
  );
  // Each node: poll haproxy's view of cp2 every 50 ms and count failed requests through its proxy.
  const watch = (secs: number) =>
    `t0=$(date +%s%N); n=0; f=0; left=; end=$(( $(date +%s) + ${secs} )); while [ $(date +%s) -lt $end ]; do ` +
    `c=$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' https://127.0.0.1:7443/healthz); n=$((n+1)); [ "$c" = 200 ] || f=$((f+1)); ` +
    `[ -z "$left" ] && curl -s http://127.0.0.1:8404/stats\\;csv | awk -F, '$2 == "cp2" { print $18 }' | grep -q DOWN && left=$(( ($(date +%s%N) - t0) / 1000000 )); ` +
    `sleep 0.1; done; echo "$t0 $left $n $f"`;
  const out: { ms: number; failed: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const { spawn } = await import("node:child_process");
    const procs = nodes.map((h) => {
      const p = spawn("docker", ["exec", lab.container(h), "sh", "-c", watch(8)]);
      let o = "";
      p.stdout.on("data", (d: Buffer) => (o += d.toString()));
      return new Promise<string>((r) => p.on("close", () => r(o.trim())));
    });
    await new Promise((r) => setTimeout(r, 1500));
    const stopAt = Date.now();
    lab.sh("cp2", "systemctl stop kubelet && systemctl stop kubelet-pod-kube-apiserver");
    const results = (await Promise.all(procs)).map((l) => l.split(" ").map(Number));
    // t0 is each node's start in ns (its own clock = this machine's); the stop came stopAt
    const ms = Math.max(...results.map(([t0, left]) => t0! / 1e6 + left! - stopAt));
    out.push({ ms, failed: results.reduce((a, r) => a + r[3]!, 0) });
    lab.sh("cp2", "systemctl start kubelet");
    for (
      let w = 0;
      w < 240 &&
      lab.sh("cp2", "curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:6443/readyz || true") !==
        "200";
      w++
    )
      await new Promise((r) => setTimeout(r, 250));
    await new Promise((r) => setTimeout(r, 3000)); // back UP in every proxy (rise 2)
  }
  rows.push(
    `| a stopped API server out of every node's rotation ×${runs} | median ${s(median(out.map((o) => o.ms)))} (${out.map((o) => s(o.ms)).join(", ")}) | failed requests on all 4 nodes together: ${out.map((o) => o.failed).join(", ")} | — | — |`,
  );
  const perf = lab.sh("cp1", `${etcdctl()} check perf --load=s 2>&1 | tail -n 4 | tr '\\n' ' '`);
  rows.push(`| \`etcdctl check perf --load=s\` through the 3 members (60 s) | — | ${perf.trim()} | — | — |`);
} finally {
  lab.down();
}

printDesignTable(["cp1", "cp2", "cp3", "w1"], rows);
