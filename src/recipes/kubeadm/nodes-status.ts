/**
 * The Kubernetes nodes as `haprov status` reads them on a control-plane node, shared by every HA
 * mode's status reader: one snippet in the host's batched read, its parse, the verdict and the
 * summary text.
 */

/** Shell: one "name STATUS" line per node from the node's admin.conf, or "-" before kubeadm init. */
export const NODES_SCRIPT = `if [ -f /etc/kubernetes/admin.conf ]; then kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes 2>/dev/null | tail -n +2 | awk '{ print $1 " " $2 }' || true; else echo "-"; fi`;

/** "a b" lines → { a: "b" } (nodes and their status, haproxy backends and theirs). */
export function nameValuePairs(text: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (text ?? "")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ") as [string, string]),
  );
}

/** A sentence for each of `names` that is not a Ready node of the cluster. */
export function nodeProblems(nodes: Record<string, string>, names: string[]): string[] {
  return names.flatMap((n) =>
    nodes[n] === undefined
      ? [`${n}: not a node of the cluster`]
      : nodes[n] !== "Ready"
        ? [`${n}: node ${nodes[n]}`]
        : [],
  );
}

/** "cp1 Ready, cp2 NotReady", or "no cluster yet". */
export function nodesText(nodes: Record<string, string> | undefined): string {
  return nodes
    ? Object.entries(nodes)
        .map(([n, st]) => `${n} ${st}`)
        .join(", ")
    : "no cluster yet";
}
