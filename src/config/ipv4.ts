/** Minimal IPv4 arithmetic for the inventory's cross-field rules. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function sameSubnet(a: string, b: string, prefix: number): boolean {
  const x = parseIPv4(a);
  const y = parseIPv4(b);
  if (x === undefined || y === undefined) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(x / size) === Math.floor(y / size);
}

/** Network or broadcast address of the subnet (not usable as a VIP). */
export function isNetworkOrBroadcast(ip: string, prefix: number): boolean {
  const x = parseIPv4(ip);
  if (x === undefined || prefix >= 31) return false;
  const size = 2 ** (32 - prefix);
  const offset = x % size;
  return offset === 0 || offset === size - 1;
}

export interface Cidr {
  /** First address of the range, as a number. */
  start: number;
  size: number;
  prefix: number;
  /** The written address is the network address (no host bits set). */
  hostBitsClear: boolean;
}

/** `10.244.0.0/16` → its range. Call only on strings a CIDR schema accepted. */
export function parseCidr(cidr: string): Cidr {
  const [ip = "", p = "32"] = cidr.split("/");
  const prefix = Number(p);
  const x = parseIPv4(ip) ?? 0;
  const size = 2 ** (32 - prefix);
  const start = Math.floor(x / size) * size;
  return { start, size, prefix, hostBitsClear: start === x };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const x = parseIPv4(ip);
  return x !== undefined && x >= c.start && x < c.start + c.size;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.start < b.start + b.size && b.start < a.start + a.size;
}

/** Why an address cannot be a host's or the VIP's, or undefined when it can. */
export function specialAddress(ip: string): string | undefined {
  const x = parseIPv4(ip);
  if (x === undefined) return undefined;
  const first = Math.floor(x / 2 ** 24);
  if (x === 0) return "the unspecified address 0.0.0.0";
  if (x === 2 ** 32 - 1) return "the broadcast address 255.255.255.255";
  if (first >= 224 && first <= 239) return "a multicast address (224.0.0.0/4)";
  if (first >= 240) return "a reserved address (240.0.0.0/4)";
  if (first === 0) return "in 0.0.0.0/8 (this network), not routable";
  if (first === 169 && Math.floor(x / 2 ** 16) % 256 === 254) return "a link-local address (169.254.0.0/16)";
  if (first === 127) return "a loopback address (127.0.0.0/8)";
  return undefined;
}
