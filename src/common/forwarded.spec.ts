import {
  badTrustEntries,
  callerBaseUrl,
  callerView,
  CallerView,
  parseForwarded,
  trustRule,
} from './forwarded';

describe(parseForwarded.name, () => {
  it.each([
    ['for=192.0.2.60;proto=http;by=203.0.113.43', [{ for: '192.0.2.60', proto: 'http' }]],
    ['For="[2001:db8:cafe::17]:4711"', [{ for: '[2001:db8:cafe::17]:4711' }]],
    [
      'for=192.0.2.43, for=198.51.100.17;host=gw.example.com',
      [{ for: '192.0.2.43' }, { for: '198.51.100.17', host: 'gw.example.com' }],
    ],
    ['host="a.example;b,c";proto=https', [{ host: 'a.example;b,c', proto: 'https' }]],
    ['for=unknown, garbage, for=10.0.0.1', [{ for: 'unknown' }, {}, { for: '10.0.0.1' }]],
    ['', []],
  ])('%j -> %j', (header, elements) => {
    expect(parseForwarded(header)).toEqual(elements);
  });
});

const PROXY = '10.0.0.2';
const view = (over: Partial<CallerView>): CallerView => ({
  ip: PROXY,
  proto: 'http',
  host: 'relay:8080',
  prefix: '',
  proxied: true,
  ...over,
});
const direct = view({ proxied: false });

describe(callerView.name, () => {
  it.each<[string, boolean | number | string[], string, Record<string, string>, CallerView]>([
    [
      'untrusted peer: every header ignored',
      false,
      PROXY,
      {
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'gw.example.com',
        'x-forwarded-prefix': '/relay',
        forwarded: 'for=203.0.113.9;proto=https;host=evil.example',
      },
      direct,
    ],
    [
      'a peer outside the listed proxies is a client',
      ['10.1.0.0/16'],
      PROXY,
      { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-host': 'gw.example.com' },
      direct,
    ],
    [
      'X-Forwarded-* from a listed proxy',
      ['10.0.0.0/8'],
      `::ffff:${PROXY}`,
      {
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'gw.example.com',
        'x-forwarded-prefix': '/relay/',
      },
      view({ ip: '203.0.113.7', proto: 'https', host: 'gw.example.com', prefix: '/relay' }),
    ],
    [
      'RFC 7239 Forwarded wins over X-Forwarded-For',
      true,
      PROXY,
      {
        forwarded: 'for="[2001:db8::17]:4711";proto=https;host="gw.example.com:8443"',
        'x-forwarded-for': '198.51.100.1',
      },
      view({ ip: '2001:db8::17', proto: 'https', host: 'gw.example.com:8443' }),
    ],
    [
      'a spoofed address before the trusted hops is not the client',
      1,
      PROXY,
      {
        'x-forwarded-for': '6.6.6.6, 203.0.113.7',
        'x-forwarded-host': 'evil.example, gw.example.com',
      },
      view({ ip: '203.0.113.7', host: 'gw.example.com' }),
    ],
    [
      'two trusted hops: the outer proxy saw the client',
      ['10.0.0.0/8'],
      PROXY,
      {
        forwarded: 'for=203.0.113.7;host=gw.example.com;proto=https, for=10.0.0.9;host=inner',
      },
      view({ ip: '203.0.113.7', host: 'gw.example.com', proto: 'https' }),
    ],
    [
      'a proxy that overwrites leaves one value, which is taken',
      ['10.0.0.0/8'],
      PROXY,
      { 'x-forwarded-for': '203.0.113.7, 10.0.0.9', 'x-forwarded-proto': 'https' },
      view({ ip: '203.0.113.7', proto: 'https' }),
    ],
    [
      'X-Forwarded-Port joins the host unless it is the default of the scheme',
      true,
      PROXY,
      {
        'x-forwarded-host': 'gw.example.com',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '8443',
      },
      view({ host: 'gw.example.com:8443', proto: 'https' }),
    ],
    [
      'X-Forwarded-Port of the default port, or with a host that has one, changes nothing',
      true,
      PROXY,
      {
        'x-forwarded-host': 'gw.example.com',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '443',
      },
      view({ host: 'gw.example.com', proto: 'https' }),
    ],
    [
      'a host that names its port keeps it',
      true,
      PROXY,
      { 'x-forwarded-host': 'gw.example.com:9000', 'x-forwarded-port': '8443' },
      view({ host: 'gw.example.com:9000' }),
    ],
    [
      'a trusted proxy that names no client: the peer is the client',
      true,
      PROXY,
      { 'x-forwarded-host': 'gw.example.com', 'x-forwarded-prefix': '/relay' },
      view({ host: 'gw.example.com', prefix: '/relay' }),
    ],
    [
      'values that could not be a scheme, host, prefix or address are ignored',
      true,
      PROXY,
      {
        'x-forwarded-for': 'not-an-ip',
        'x-forwarded-proto': 'gopher',
        'x-forwarded-host': 'gw.example.com/evil',
        'x-forwarded-prefix': '/relay/../admin',
      },
      view({}),
    ],
  ])('%s', (_, trust, peer, headers, expected) => {
    expect(callerView({ host: 'relay:8080', ...headers }, peer, trustRule(trust))).toEqual(
      expected,
    );
  });

  it('keeps a request without Host hostless', () => {
    expect(callerView({}, PROXY, trustRule(false)).host).toBeNull();
  });
});

describe(trustRule.name, () => {
  it.each<[boolean | number | string[], string, number, boolean]>([
    [true, '203.0.113.7', 5, true],
    [false, '127.0.0.1', 0, false],
    [2, '203.0.113.7', 1, true],
    [2, '203.0.113.7', 2, false],
    [['127.0.0.1'], '::ffff:127.0.0.1', 0, true],
    [['10.0.0.0/8', 'fd00::/8'], 'fd12::1', 3, true],
    [['10.0.0.0/8'], '11.0.0.1', 0, false],
    [['10.0.0.0/8'], 'unknown', 0, false],
  ])('%j trusts %s at hop %d: %s', (trust, address, hop, trusted) => {
    expect(trustRule(trust)(address, hop)).toBe(trusted);
  });
});

describe(callerBaseUrl.name, () => {
  it.each<[Partial<CallerView>, string | null]>([
    [{}, 'http://relay:8080'],
    [{ proto: 'https', host: 'gw.example.com', prefix: '/relay' }, 'https://gw.example.com/relay'],
    [{ host: null }, null],
  ])('%j -> %s', (over, url) => {
    expect(callerBaseUrl(view(over))).toBe(url);
  });
});

describe(badTrustEntries.name, () => {
  it.each([
    [['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '0.0.0.0/0'], []],
    [
      ['10.0.0.0/33', 'fd00::/129', '1.2.3', '::::', '10.0.0.0/8/1', '10.0.0.0/x'],
      ['10.0.0.0/33', 'fd00::/129', '1.2.3', '::::', '10.0.0.0/8/1', '10.0.0.0/x'],
    ],
  ])('%j -> %j', (entries, bad) => {
    expect(badTrustEntries(entries)).toEqual(bad);
  });
});
