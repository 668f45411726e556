import type { HostConnection } from "../core/transport.js";
import { quote } from "../core/quote.js";

/** The probe for "this host holds the VIP right now". */
export const holdsVip = (vip: string) => `ip -4 -o addr show | grep -q ${quote(` ${vip}/`)}`;

/**
 * Order for rolling handlers: the hosts that do not hold the VIP first (inventory order), the VIP
 * holder last, so a restart moves the VIP at most once and only after every other node is healthy.
 */
export function vipHolderLast(vip: string) {
  return async (
    _phase: unknown,
    hosts: string[],
    conns: ReadonlyMap<string, HostConnection>,
  ): Promise<string[]> => {
    const holds = await Promise.all(
      hosts.map(async (h) => (await conns.get(h)!.exec(holdsVip(vip))).code === 0),
    );
    return [...hosts.filter((_, i) => !holds[i]), ...hosts.filter((_, i) => holds[i])];
  };
}
