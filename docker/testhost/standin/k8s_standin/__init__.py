"""haprov's strict stand-in for kubeadm, the kubelet and kube-apiserver, around a REAL etcd and the
machine's REAL kubectl.

Real kubeadm, kubelet and the Kubernetes images cannot be installed on the test machines. This
package behaves like them *at the boundary haprov touches*, strictly: the same flags and config
fields (anything else is refused the way kubeadm refuses it), the same preflight checks, real
keys and certificates made with openssl (kubeadm's etcd PKI included), kubeconfigs with their own
client certificates, static-pod manifests run by the kubelet stand-in (etcd is Debian's real etcd
3.4 with kubeadm's flags), bootstrap tokens as Secrets, the signed cluster-info, the CA public-key
hash, --upload-certs with a certificate key that expires after two hours, stacked etcd membership
(learner, then promoted; removed on reset), and an API server that keeps every object in etcd and
authorizes with RBAC. docker/README.md says exactly what is real.

What it does not do: run containers, watch, scheduling, or any controller.
"""
