/**
 * /etc/kubernetes/manifests/kube-vip.yaml, rendered here (REFERENCE.md §3.1) instead of with
 * `kube-vip manifest pod`: the control-plane ARP mode of the pinned kube-vip, with that version's
 * env names (pkg/kubevip/config_envvar.go at v1.2.3; `address`, not the deprecated `vip_address`),
 * `hostAliases` kubernetes → 127.0.0.1 (kube-vip rewrites the kubeconfig's server to
 * kubernetes:<port>), NET_ADMIN and NET_RAW only, and the kubeconfig mounted at
 * /etc/kubernetes/admin.conf from `kubeconfig` on the host (super-admin.conf on the init node while
 * it initialises on Kubernetes ≥ 1.29, §3.2).
 */
export const KUBE_VIP_VERSION = "v1.2.3";
export const KUBE_VIP_IMAGE = `ghcr.io/kube-vip/kube-vip:${KUBE_VIP_VERSION}`;
export const KUBE_VIP_MANIFEST = "/etc/kubernetes/manifests/kube-vip.yaml";
export const LEASE_NAME = "plndr-cp-lock";

export type KubeconfigFile = "admin.conf" | "super-admin.conf";

/** Where the cluster CA is mounted in the pod, for the BGP mode's health check of the local API server. */
const CA_IN_POD = "/etc/kubernetes/pki/ca.crt";

/** BGP mode: this node's speaker, its peers, and the timers (REFERENCE.md §3; kube-vip config_bgp.go). */
export interface KubeVipBgpInput {
  routerId: string;
  localAs: number;
  peers: { address: string; as: number; password?: string | undefined; multihop: boolean }[];
  holdTime: number;
  keepaliveInterval: number;
}

export interface KubeVipInput {
  vip: string;
  interface: string;
  port: number;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  services: boolean;
  kubeconfig: KubeconfigFile;
  /** BGP instead of ARP: the VIP on lo, announced by every node while its API server is healthy. */
  bgp?: KubeVipBgpInput | undefined;
}

/**
 * kube-vip's `bgp_peers`: `address:as:password:multihop`, comma-separated (ParseBGPPeerConfig at
 * v1.2.3). The schema keeps ':' ',' and ';' out of passwords, so no field can spill into the next.
 */
export const bgpPeersValue = (peers: KubeVipBgpInput["peers"]) =>
  peers.map((p) => `${p.address}:${p.as}:${p.password ?? ""}:${p.multihop}`).join(",");

/**
 * Peers with a password do not go into the pod's env (issue #20: the API server mirrors a static
 * pod's spec, env included, into a Pod object anyone allowed to get pods in kube-system reads).
 * kube-vip v1.2.3 reads a JSON config file named by `config_file` (MergeConfigFromFile, read with
 * sigs.k8s.io/yaml, so field names as in its Go types) and takes `BGPConfig.Peers` from it when
 * `bgp_peers` is not set: haprov writes that file on the host (0600 root) and mounts it read-only.
 */
export const BGP_PEERS_FILE = "/etc/kubernetes/kube-vip-bgp-peers.json";
const BGP_PEERS_IN_POD = "/etc/kube-vip/bgp-peers.json";
export const peersInFile = (b: KubeVipBgpInput | undefined) => b?.peers.some((p) => p.password) ?? false;

export function renderBgpPeersFile(peers: KubeVipBgpInput["peers"]): string {
  const list = peers.map((p) => ({
    Address: p.address,
    Port: 179,
    AS: p.as,
    Password: p.password ?? "",
    MultiHop: p.multihop,
  }));
  return `${JSON.stringify({ BGPConfig: { Peers: list } }, null, 2)}\n`;
}

/** The env of ARP mode: leader election on the Lease, the VIP on the node's interface. */
const arpEnv = (i: KubeVipInput): [string, string | number][] => [
  ["vip_arp", "true"],
  ["vip_interface", i.interface],
  ["vip_leaderelection", "true"],
  ["vip_leasename", LEASE_NAME],
  ["vip_leaseduration", i.leaseDuration],
  ["vip_renewdeadline", i.renewDeadline],
  ["vip_retryperiod", i.retryPeriod],
];

/**
 * The env of BGP mode: no leader election (every node announces, the routers spread the load), the
 * VIP on lo, and the route withdrawn while the node's own API server fails its /livez (through
 * hostAliases' kubernetes → 127.0.0.1, a name in the serving certificate, checked against the CA).
 */
const bgpEnv = (i: KubeVipInput, b: KubeVipBgpInput): [string, string | number][] => [
  ["vip_arp", "false"],
  ["vip_interface", "lo"],
  ["vip_leaderelection", "false"],
  ["bgp_enable", "true"],
  ["bgp_routerid", b.routerId],
  ["bgp_as", b.localAs],
  ...(peersInFile(b)
    ? ([["config_file", BGP_PEERS_IN_POD]] as [string, string][])
    : ([["bgp_peers", bgpPeersValue(b.peers)]] as [string, string][])),
  ["bgp_hold_time", b.holdTime],
  ["bgp_keepalive_interval", b.keepaliveInterval],
  ["control_plane_health_check_address", `https://kubernetes:${i.port}/livez`],
  ["control_plane_health_check_ca_path", CA_IN_POD],
];

const q = (s: string | number) => JSON.stringify(String(s));

export function renderKubeVipManifest(i: KubeVipInput): string {
  const env: [string, string | number][] = [
    ["port", i.port],
    ["vip_subnet", 32],
    ["cp_enable", "true"],
    ["cp_namespace", "kube-system"],
    ...(i.bgp ? bgpEnv(i, i.bgp) : arpEnv(i)),
    ["address", i.vip],
    ...(i.services ? ([["svc_enable", "true"]] as [string, string][]) : []),
  ];
  const how = i.bgp
    ? `on lo, announced over BGP as AS ${i.bgp.localAs} (router ID ${i.bgp.routerId})`
    : `on ${i.interface} (ARP, leader election)`;
  const peersFile = peersInFile(i.bgp);
  const caMount = i.bgp
    ? `\n        - name: ca\n          mountPath: ${CA_IN_POD}\n          readOnly: true${
        peersFile
          ? `\n        - name: bgp-peers\n          mountPath: ${BGP_PEERS_IN_POD}\n          readOnly: true`
          : ""
      }`
    : "";
  const caVolume = i.bgp
    ? `\n    - name: ca\n      hostPath:\n        path: ${q(CA_IN_POD)}\n        type: File${
        peersFile
          ? `\n    - name: bgp-peers\n      hostPath:\n        path: ${q(BGP_PEERS_FILE)}\n        type: File`
          : ""
      }`
    : "";
  return `# Managed by haprov: kube-vip ${KUBE_VIP_VERSION}, control-plane VIP ${i.vip} ${how}.
apiVersion: v1
kind: Pod
metadata:
  name: kube-vip
  namespace: kube-system
spec:
  hostNetwork: true
  hostAliases:
    - ip: "127.0.0.1"
      hostnames: ["kubernetes"]
  containers:
    - name: kube-vip
      image: ${q(KUBE_VIP_IMAGE)}
      imagePullPolicy: IfNotPresent
      args: ["manager"]
      env:
        - name: vip_nodename
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
${env.map(([k, v]) => `        - name: ${k}\n          value: ${q(v)}`).join("\n")}
      securityContext:
        capabilities:
          add: ["NET_ADMIN", "NET_RAW"]
          drop: ["ALL"]
      volumeMounts:
        - name: kubeconfig
          mountPath: /etc/kubernetes/admin.conf${caMount}
  volumes:
    - name: kubeconfig
      hostPath:
        path: ${q(`/etc/kubernetes/${i.kubeconfig}`)}${caVolume}
`;
}
