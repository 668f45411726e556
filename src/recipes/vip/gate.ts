import type { HostSpec } from "../../core/host.js";
import { fragment, sh } from "../../core/quote.js";
import { runKey } from "../../core/run-key.js";
import { waitStep } from "../../steps/wait.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import type { RecipeInput } from "../blocks/view.js";
import type { Endpoint } from "../recipe.js";

export const VIP_HOLDER = runKey("vipHolder", "the node that holds the VIP");

/** Exit 0 when this host holds the VIP right now. */
export const holdsVip = (vip: string) => sh`ip -4 -o addr show | grep -q ${` ${vip}/`}`;

/** Exit 0 when a TCP connection to host:port is accepted within 2 s. */
export const tcpOpen = (e: Endpoint) => sh`timeout 2 bash -c ${`</dev/tcp/${e.host}/${e.port}`}`;

/**
 * The barrier before `kubeadm init` (REFERENCE.md §1.2, §2.2): exactly one of the VIP-carrying hosts
 * holds the VIP (asked again for up to 60 s), and the endpoint accepts connections — otherwise the
 * run stops here and says who holds it.
 */
export function vipGatePhase(input: RecipeInput, carriers: HostSpec[], endpoint: Endpoint, who: string) {
  return phase(input, {
    name: "vip gate",
    hosts: carriers,
    gather: [
      gatherInto(VIP_HOLDER, (ctx) => sh`${fragment(holdsVip(endpoint.host))} && echo ${ctx.host.name}`, {
        expect: "one",
        waitSec: 60,
        message: `the VIP must be held by exactly one ${who}`,
      }),
    ],
    steps: [
      stepsOf(input)({
        name: "VIP accepts connections",
        type: waitStep,
        params: () => ({
          until: tcpOpen(endpoint),
          what: `${endpoint.host}:${endpoint.port} accepts TCP connections`,
          timeoutSec: 30,
        }),
      }),
    ],
  });
}
