import type { HostSpec } from "../../core/host.js";
import { commandStep } from "../../steps/command.js";
import { kernelModuleStep } from "../../steps/kernel-module.js";
import { packageStep } from "../../steps/package.js";
import { sysctlStep } from "../../steps/sysctl.js";
import { phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import type { RecipeInput } from "../blocks/view.js";

/** Host prerequisites of every kubeadm node (REFERENCE.md §0.2). */
export function prerequisitesPhase(input: RecipeInput, nodes: HostSpec[]) {
  const step = stepsOf(input);
  return phase(input, {
    name: "prerequisites",
    hosts: nodes,
    requires: "any",
    steps: [
      step({
        name: "base packages",
        type: packageStep,
        params: () => ({ names: ["curl", "ca-certificates", "iproute2"] }),
      }),
      step({
        name: "kernel module overlay",
        type: kernelModuleStep,
        params: () => ({ name: "overlay", persist: true }),
      }),
      step({
        name: "kernel module br_netfilter",
        type: kernelModuleStep,
        params: () => ({ name: "br_netfilter", persist: true }),
      }),
      step({
        name: "kubernetes sysctls",
        type: sysctlStep,
        params: () => ({
          file: "99-kubernetes.conf",
          values: {
            "net.ipv4.ip_forward": "1",
            "net.bridge.bridge-nf-call-iptables": "1",
            "net.bridge.bridge-nf-call-ip6tables": "1",
          },
        }),
      }),
      step({
        name: "swap off",
        type: commandStep,
        params: () => ({
          run: "swapoff -a && sed -i -E '/^[^#].*[[:space:]]swap[[:space:]]/s/^/# haprov - /' /etc/fstab",
          unless: `[ -z "$(tail -n +2 /proc/swaps)" ] && ! grep -qE '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab`,
          secret: false,
        }),
      }),
    ],
  });
}
