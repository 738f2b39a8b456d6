import { BlockList, isIP } from 'node:net';

/** Whom TRUST_PROXY says to believe: everyone, a number of hops, or proxy addresses and CIDRs. */
export type TrustProxy = boolean | number | string[];

/** Whether the address at `hop` (0 is the socket's peer, 1 the address it names, ...) is a proxy. */
export type TrustRule = (address: string, hop: number) => boolean;

/** The request as the caller sent it, once the trusted proxies in front are accounted for. */
export interface CallerView {
  /** The client's address. */
  ip: string;
  /** `http` or `https`. */
  proto: string;
  /** The Host the caller used, or null when the request carried none. */
  host: string | null;
  /** The path prefix a gateway mounted the service under (`/relay`), or ''. */
  prefix: string;
  /** Whether a trusted proxy's headers were used; false for a request straight to the service. */
  proxied: boolean;
}

export interface ForwardedElement {
  for?: string;
  proto?: string;
  host?: string;
}

/** `::ffff:10.0.0.1` as the socket reports an IPv4 peer on a dual-stack listener. */
const unmapped = (address: string) =>
  address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

export function trustRule(trust: TrustProxy): TrustRule {
  if (typeof trust === 'boolean') return () => trust;
  if (typeof trust === 'number') return (_, hop) => hop < trust;
  const list = new BlockList();
  for (const entry of trust) {
    const [address, bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** The comma-separated values of a header, trimmed, empty ones left out. */
function values(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  return (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** The elements of a `Forwarded` header, and the pairs of an element, outside quoted strings. */
const ELEMENTS = /(?:"(?:[^"\\]|\\.)*"|[^,"])+/g;
const PAIRS = /(?:"(?:[^"\\]|\\.)*"|[^;"])+/g;

/**
 * RFC 7239 `Forwarded`: elements separated by commas, pairs by semicolons, each value a token or
 * a quoted string (which may hold either separator). Only `for`, `proto` and `host` matter here;
 * a pair that is not `name=value` is skipped, and every element is kept, even an empty one, so
 * that the elements still line up with the proxies that wrote them.
 */
export function parseForwarded(header: string): ForwardedElement[] {
  return (header.match(ELEMENTS) ?? []).map((text) => {
    const element: ForwardedElement = {};
    for (const pair of text.match(PAIRS) ?? []) {
      const match = /^\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(pair);
      if (match === null) continue;
      const name = match[1].toLowerCase();
      const raw = match[2];
      const quoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"');
      const value = quoted ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      if (name === 'for' || name === 'proto' || name === 'host') element[name] = value;
    }
    return element;
  });
}

/** A `for=` node as an address: `"[2001:db8::1]:4711"` and `192.0.2.1:80` lose their ports. */
export function nodeAddress(node: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(node);
  if (bracketed !== null) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(node);
  return v4 !== null ? v4[1] : node;
}

const PROTO = /^https?$/i;
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };
/** A Host value: a name or address and an optional port, nothing that could end a line. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(:\d{1,5})?$/;
/** A path prefix: segments of URL path characters, no dot segments, no trailing slash. */
const PREFIX = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;
const plainPrefix = (prefix: string) => !prefix.split('/').some((s) => s === '.' || s === '..');

/**
 * The request as its caller made it. Headers count only when the socket's peer is a trusted
 * proxy. The client is the first untrusted address walking back from the peer along the
 * `Forwarded: for=` chain (or X-Forwarded-For when there is no `Forwarded`); proto, host and
 * prefix are the values written by the outermost trusted proxy, the one the client talked to:
 * proxies append, so that is the value as many places from the right as proxies were trusted
 * (a proxy that overwrites leaves one value, which is then taken).
 */
export function callerView(
  headers: Record<string, string | string[] | undefined>,
  peer: string,
  trust: TrustRule,
): CallerView {
  const host = typeof headers.host === 'string' && headers.host !== '' ? headers.host : null;
  const direct: CallerView = {
    ip: unmapped(peer),
    proto: 'http',
    host,
    prefix: '',
    proxied: false,
  };
  if (!trust(peer, 0)) return direct;

  const forwarded = values(headers.forwarded).length > 0;
  const elements = forwarded ? parseForwarded(values(headers.forwarded).join(',')) : [];
  const chain = forwarded
    ? elements.map((e) => (e.for === undefined ? '' : nodeAddress(e.for)))
    : values(headers['x-forwarded-for']);
  // addresses[0] is the peer, then the chain from its right end.
  const addresses = [unmapped(peer), ...chain.reverse().map(unmapped)];
  let client = 0;
  while (client < addresses.length - 1 && trust(addresses[client], client)) client++;
  // The outermost trusted proxy's value: `hops` from the right of a list of values.
  const hops = Math.max(client, 1);
  const pick = (list: (string | undefined)[]) => list[Math.max(list.length - hops, 0)];

  const proto = forwarded
    ? pick(elements.map((e) => e.proto))
    : pick(values(headers['x-forwarded-proto']));
  const forwardedHost = forwarded
    ? pick(elements.map((e) => e.host))
    : pick(values(headers['x-forwarded-host']));
  const prefix = pick(values(headers['x-forwarded-prefix']))?.replace(/\/+$/, '');
  const scheme = proto !== undefined && PROTO.test(proto) ? proto.toLowerCase() : direct.proto;
  // Kong and APISIX send the caller's port apart, in X-Forwarded-Port; a signer writes it into
  // Host unless it is the scheme's default.
  const port = forwarded ? undefined : pick(values(headers['x-forwarded-port']));
  const withPort =
    forwardedHost !== undefined &&
    port !== undefined &&
    /^\d{1,5}$/.test(port) &&
    port !== DEFAULT_PORTS[scheme] &&
    !/:\d+$/.test(forwardedHost)
      ? `${forwardedHost}:${port}`
      : forwardedHost;
  return {
    ip: addresses[client] === '' || isIP(addresses[client]) === 0 ? direct.ip : addresses[client],
    proto: scheme,
    host: withPort !== undefined && HOST.test(withPort) ? withPort : host,
    prefix:
      prefix !== undefined && PREFIX.test(prefix) && plainPrefix(prefix) ? prefix : direct.prefix,
    proxied: true,
  };
}

/**
 * The service's base URL as the caller sees it (`https://gw.example.com/relay`), for the links
 * it shows; null when the request named no host.
 */
export function callerBaseUrl(caller: CallerView): string | null {
  return caller.host === null ? null : `${caller.proto}://${caller.host}${caller.prefix}`;
}

/** The entries of a TRUST_PROXY list that are neither an IP address nor a CIDR range. */
export function badTrustEntries(entries: string[]): string[] {
  return entries.filter((entry) => {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) return true;
    return (
      bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32))
    );
  });
}
