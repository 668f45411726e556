/**
 * The flannel manifest haprov applies (REFERENCE.md §1.4), pinned to one flannel release so a
 * rerun re-applies only when haprov itself changes it or the pod CIDR changes. Written for haprov
 * after the layout of flannel's released kube-flannel.yml: namespace kube-flannel (PodSecurity
 * privileged), RBAC, the net-conf.json ConfigMap and the kube-flannel-ds DaemonSet.
 */
export const FLANNEL_VERSION = "v0.26.1";
const FLANNEL_IMAGE = `ghcr.io/flannel-io/flannel:${FLANNEL_VERSION}`;
const CNI_PLUGIN_IMAGE = "ghcr.io/flannel-io/flannel-cni-plugin:v1.5.1-flannel2";

export function renderFlannel(podCidr: string, iface?: string): string {
  const args = ["--ip-masq", "--kube-subnet-mgr", ...(iface ? [`--iface=${iface}`] : [])];
  return `# Managed by haprov: flannel ${FLANNEL_VERSION}, pod network ${podCidr}.
apiVersion: v1
kind: Namespace
metadata:
  name: kube-flannel
  labels:
    k8s-app: flannel
    pod-security.kubernetes.io/enforce: privileged
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: flannel
  namespace: kube-flannel
  labels:
    k8s-app: flannel
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: flannel
  labels:
    k8s-app: flannel
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get]
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get, list, watch]
  - apiGroups: [""]
    resources: [nodes/status]
    verbs: [patch]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: flannel
  labels:
    k8s-app: flannel
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: flannel
subjects:
  - kind: ServiceAccount
    name: flannel
    namespace: kube-flannel
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
  labels:
    tier: node
    k8s-app: flannel
    app: flannel
data:
  cni-conf.json: |
    {
      "name": "cbr0",
      "cniVersion": "0.3.1",
      "plugins": [
        { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
        { "type": "portmap", "capabilities": { "portMappings": true } }
      ]
    }
  net-conf.json: |
    {
      "Network": "${podCidr}",
      "EnableNFTables": false,
      "Backend": { "Type": "vxlan" }
    }
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
  labels:
    tier: node
    app: flannel
    k8s-app: flannel
spec:
  selector:
    matchLabels:
      app: flannel
  template:
    metadata:
      labels:
        tier: node
        app: flannel
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - { key: kubernetes.io/os, operator: In, values: [linux] }
      hostNetwork: true
      priorityClassName: system-node-critical
      tolerations:
        - operator: Exists
          effect: NoSchedule
      serviceAccountName: flannel
      initContainers:
        - name: install-cni-plugin
          image: ${CNI_PLUGIN_IMAGE}
          command: [cp]
          args: [-f, /flannel, /opt/cni/bin/flannel]
          volumeMounts:
            - { name: cni-plugin, mountPath: /opt/cni/bin }
        - name: install-cni
          image: ${FLANNEL_IMAGE}
          command: [cp]
          args: [-f, /etc/kube-flannel/cni-conf.json, /etc/cni/net.d/10-flannel.conflist]
          volumeMounts:
            - { name: cni, mountPath: /etc/cni/net.d }
            - { name: flannel-cfg, mountPath: /etc/kube-flannel/ }
      containers:
        - name: kube-flannel
          image: ${FLANNEL_IMAGE}
          command: [/opt/bin/flanneld]
          args: [${args.join(", ")}]
          resources:
            requests: { cpu: 100m, memory: 50Mi }
          securityContext:
            privileged: false
            capabilities:
              add: [NET_ADMIN, NET_RAW]
          env:
            - name: POD_NAME
              valueFrom: { fieldRef: { fieldPath: metadata.name } }
            - name: POD_NAMESPACE
              valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
            - name: EVENT_QUEUE_DEPTH
              value: "5000"
          volumeMounts:
            - { name: run, mountPath: /run/flannel }
            - { name: flannel-cfg, mountPath: /etc/kube-flannel/ }
            - { name: xtables-lock, mountPath: /run/xtables.lock }
      volumes:
        - name: run
          hostPath: { path: /run/flannel }
        - name: cni-plugin
          hostPath: { path: /opt/cni/bin }
        - name: cni
          hostPath: { path: /etc/cni/net.d }
        - name: flannel-cfg
          configMap: { name: kube-flannel-cfg }
        - name: xtables-lock
          hostPath: { path: /run/xtables.lock, type: FileOrCreate }
`;
}
