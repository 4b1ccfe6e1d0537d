/** Client addresses for limits and allow-lists: IPv4-mapped IPv6 is read as IPv4. */

export function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Matches an address against exact entries and IPv4 CIDR ranges (`10.0.0.0/8`). */
export function addressMatcher(entries: readonly string[]): (ip: string) => boolean {
  const exact = new Set<string>();
  const ranges: [base: number, mask: number][] = [];
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const base = ipv4(addr!);
    if (bits !== undefined && base !== undefined) {
      const n = Number(bits);
      const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
      ranges.push([(base & mask) >>> 0, mask]);
    } else exact.add(normaliseIp(entry));
  }
  return (raw) => {
    const ip = normaliseIp(raw);
    if (exact.has(ip)) return true;
    const v4 = ipv4(ip);
    return v4 !== undefined && ranges.some(([base, mask]) => (v4 & mask) >>> 0 === base);
  };
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}
