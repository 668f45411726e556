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
