/**
 * Picks a private /24 for a lab network that no existing Docker network uses. Hosts get .11, .12 …;
 * the VIP is .100 (free by construction); a bastion, when asked for, is .5.
 */
export interface LabSubnet {
  cidr: string;
  prefix: number;
  hostAddress(index: number): string;
  vip: string;
  bastion: string;
}

export function chooseSubnet(used: string[], offset = 0): LabSubnet {
  const taken = new Set(used.map((c) => c.split("/")[0]!.split(".").slice(0, 3).join(".")));
  for (let third = 200 + offset; third < 255; third++) {
    const base = `172.31.${third}`;
    if (taken.has(base)) continue;
    return {
      cidr: `${base}.0/24`,
      prefix: 24,
      hostAddress: (i) => `${base}.${11 + i}`,
      vip: `${base}.100`,
      bastion: `${base}.5`,
    };
  }
  throw new Error("no free 172.31.200-254.0/24 subnet for a lab network");
}
