/**
 * Keeps webhooks from reaching into the network the servers run in (SSRF): a URL whose host is
 * or resolves to a private, loopback, link-local, unspecified, multicast or otherwise reserved
 * address is refused, unless the operator allow-listed it (`webhooks.allowed_hosts`). Checked
 * at registration and again at every delivery, where the checked address is the one connected
 * to, so a DNS answer that changes in between cannot slip through.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const FORBIDDEN_V4 = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const;

const FORBIDDEN_V6 = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64 (embeds an IPv4 address)
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const;

const forbidden = new BlockList();
for (const [net, prefix] of FORBIDDEN_V4) forbidden.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of FORBIDDEN_V6) forbidden.addSubnet(net, prefix, 'ipv6');

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** A URL that must not be delivered to; `message` is safe to show the caller. */
export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError';
}

export class AddressGuard {
  private readonly hosts = new Set<string>();
  private readonly ranges = new BlockList();

  constructor(allowedHosts: readonly string[]) {
    for (const entry of allowedHosts) {
      const [net, prefix] = entry.split('/');
      const family = isIP(net ?? '');
      if (family && prefix !== undefined) {
        this.ranges.addSubnet(net!, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
      } else if (family) {
        this.ranges.addAddress(net!, family === 4 ? 'ipv4' : 'ipv6');
      } else {
        this.hosts.add(entry.toLowerCase());
      }
    }
  }

  /** True when the address is public, or allow-listed. */
  permits(address: string): boolean {
    // BlockList applies IPv4 rules to IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) too.
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    return this.ranges.check(address, family) || !forbidden.check(address, family);
  }

  /**
   * The addresses to connect to for `url`, all of them permitted.
   * @throws ForbiddenAddressError when the host is, or resolves to, a refused address.
   * @throws the resolver's error (ENOTFOUND…) when the host does not resolve.
   */
  async resolve(url: URL): Promise<ResolvedAddress[]> {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const literal = isIP(host);
    const addresses: ResolvedAddress[] = literal
      ? [{ address: host, family: literal as 4 | 6 }]
      : ((await lookup(host, { all: true, verbatim: true })) as ResolvedAddress[]);
    if (this.hosts.has(host)) return addresses;
    const refused = addresses.find((a) => !this.permits(a.address));
    if (refused) {
      throw new ForbiddenAddressError(
        literal
          ? `${host} is a private, loopback, link-local or reserved address`
          : `${host} resolves to ${refused.address}, a private, loopback, link-local or reserved address`,
      );
    }
    return addresses;
  }

  /**
   * Registration's check: refuses hosts that resolve to refused addresses. A host that does not
   * resolve (yet), or not within the timeout, is accepted; every delivery checks again before
   * connecting.
   */
  async check(url: string, timeoutMs = 3_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    try {
      await Promise.race([this.resolve(new URL(url)), slow]);
    } catch (err) {
      if (err instanceof ForbiddenAddressError) throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
