"""haprov's strict stand-in for kubeadm, kubectl, the kubelet and kube-apiserver.

Real kubeadm, kubelet and the Kubernetes images cannot be installed on the test machines. This
package behaves like them *at the boundary haprov touches*, strictly: the same flags and config
fields (anything else is refused the way kubeadm refuses it), the same preflight checks, real
keys and certificates made with openssl, kubeconfigs, static-pod manifests, a TLS API server on
:6443 (started by the kubelet stand-in when the kube-apiserver manifest exists), bootstrap tokens,
the CA public-key hash, --upload-certs with a certificate key that expires after two hours, and
kubectl reading its server from the kubeconfig (so through the VIP when that is the server).

What it does not do: run containers, etcd, scheduling, or any controller. Cluster state (nodes,
tokens, applied objects) is a JSON document replicated between the API servers of the
control-plane nodes, standing in for stacked etcd.
"""
