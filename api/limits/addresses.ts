/** Client addresses for limits and allow-lists: IPv4-mapped IPv6 is read as IPv4. */
import type { Principal } from '../../lib/auth/roles';
import { PermissionDeniedError } from '../../lib/errors';

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

/** The client address of a raw request: the socket's, or the first `X-Forwarded-For` hop when trusted. */
export function requestIp(
  req: { socket: { remoteAddress?: string | undefined }; headers: Record<string, unknown> },
  trustProxy: boolean,
): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string' && forwarded.trim())
    return normaliseIp(forwarded.split(',')[0]!.trim());
  return normaliseIp(req.socket.remoteAddress ?? '');
}

/** An API key limited to some addresses is refused (403) from any other. */
export function assertAllowedAddress(principal: Principal, ip: string): void {
  if (!principal.allowed_ips?.length) return;
  if (addressMatcher(principal.allowed_ips)(ip)) return;
  throw new PermissionDeniedError('This API key may not be used from this address', {
    key_id: principal.id,
  });
}
