import type { HostConnection } from "../core/transport.js";
import { holdsVip } from "../recipes/keepalived-haproxy/index.js";

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
