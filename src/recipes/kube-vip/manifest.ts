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

export interface KubeVipInput {
  vip: string;
  interface: string;
  port: number;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  services: boolean;
  kubeconfig: KubeconfigFile;
}

const q = (s: string | number) => JSON.stringify(String(s));

export function renderKubeVipManifest(i: KubeVipInput): string {
  const env: [string, string | number][] = [
    ["vip_arp", "true"],
    ["port", i.port],
    ["vip_interface", i.interface],
    ["vip_subnet", 32],
    ["cp_enable", "true"],
    ["cp_namespace", "kube-system"],
    ["vip_leaderelection", "true"],
    ["vip_leasename", LEASE_NAME],
    ["vip_leaseduration", i.leaseDuration],
    ["vip_renewdeadline", i.renewDeadline],
    ["vip_retryperiod", i.retryPeriod],
    ["address", i.vip],
    ...(i.services ? ([["svc_enable", "true"]] as [string, string][]) : []),
  ];
  return `# Managed by haprov: kube-vip ${KUBE_VIP_VERSION}, control-plane VIP ${i.vip} on ${i.interface} (ARP, leader election).
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
          mountPath: /etc/kubernetes/admin.conf
  volumes:
    - name: kubeconfig
      hostPath:
        path: ${q(`/etc/kubernetes/${i.kubeconfig}`)}
`;
}
