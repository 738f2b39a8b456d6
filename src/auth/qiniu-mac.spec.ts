import { qiniuRtc, qiniuSignV2 } from '../../test/utils/qiniu-sdk';
import {
  qiniuDateProblem,
  qiniuSigningString,
  SignedRequest,
  signedViews,
  verifyQiniuMac,
} from './qiniu-mac';

const AK = 'server-ak';
const SK = 'server-sk-0123456789';

function request(overrides: Partial<SignedRequest> = {}): SignedRequest {
  return {
    method: 'GET',
    url: '/server/relay/relay_1?x=1',
    host: '127.0.0.1:8080',
    contentType: undefined,
    headers: {},
    body: '',
    ...overrides,
  };
}

describe(verifyQiniuMac.name, () => {
  it('accepts util.generateAccessTokenV2 for a GET with a port in the URL', () => {
    const auth = qiniuSignV2(AK, SK, 'http://127.0.0.1:8080/server/relay/relay_1?x=1', 'GET');
    expect(verifyQiniuMac(auth, request(), AK, SK)).toBe(true);
  });

  it('accepts util.generateAccessTokenV2 for a JSON POST with X-Qiniu-* headers in any case', () => {
    const body = '{"a":1}';
    const headers = {
      'x-qiniu-date': '20261125T000000Z',
      'X-QINIU-TRACE': 'abc',
      'content-type': 'application/json',
    };
    const auth = qiniuSignV2(
      AK,
      SK,
      'http://api.example.com/server/relay/relay_1/stop',
      'POST',
      'application/json',
      body,
      headers,
    );
    const r = request({
      method: 'POST',
      url: '/server/relay/relay_1/stop',
      host: 'api.example.com',
      contentType: 'application/json',
      headers,
      body,
    });
    expect(verifyQiniuMac(auth, r, AK, SK)).toBe(true);
    expect(verifyQiniuMac(auth, { ...r, body: '{"a":2}' }, AK, SK)).toBe(false);
    expect(
      verifyQiniuMac(auth, { ...r, headers: { ...headers, 'x-qiniu-date': 'other' } }, AK, SK),
    ).toBe(false);
  });

  it('accepts rtc Credentials.generateAccessToken', () => {
    const credentials = new qiniuRtc.Credentials(AK, SK);
    const auth = credentials.generateAccessToken({
      host: '127.0.0.1',
      port: 8080,
      path: '/server/relay/relay_1?x=1',
      method: 'GET',
      headers: {},
    });
    expect(verifyQiniuMac(auth, request(), AK, SK)).toBe(true);
  });

  it('refuses a wrong secret, another access key, a changed path and a malformed header', () => {
    const good = qiniuSignV2(AK, SK, 'http://127.0.0.1:8080/server/relay/relay_1?x=1', 'GET');
    const otherSecret = qiniuSignV2(
      AK,
      'another-secret',
      'http://127.0.0.1:8080/server/relay/relay_1?x=1',
      'GET',
    );
    expect(verifyQiniuMac(otherSecret, request(), AK, SK)).toBe(false);
    expect(verifyQiniuMac(good, request(), 'another-ak', SK)).toBe(false);
    expect(verifyQiniuMac(good, request({ url: '/server/relay/relay_2?x=1' }), AK, SK)).toBe(false);
    expect(verifyQiniuMac(good.replace('Qiniu ', 'QBox '), request(), AK, SK)).toBe(false);
    expect(verifyQiniuMac(undefined, request(), AK, SK)).toBe(false);
  });

  it('leaves the body out of the signature for application/octet-stream', () => {
    const r = request({ method: 'POST', contentType: 'application/octet-stream', body: 'binary' });
    expect(qiniuSigningString(r, r.host, r.contentType)).toBe(
      'POST /server/relay/relay_1?x=1\nHost: 127.0.0.1:8080\nContent-Type: application/octet-stream\n\n',
    );
  });
});

describe(qiniuDateProblem.name, () => {
  const now = Date.UTC(2026, 10, 30, 12, 0, 0);
  const STALE = "X-Qiniu-Date is more than 15 minutes from the server's clock";
  const format = (got: string) =>
    `X-Qiniu-Date must be YYYYMMDDTHHmmssZ in UTC, like 20261130T120000Z (got "${got}")`;

  it.each([
    ['20261130T120000Z', null],
    ['20261130T114500Z', null],
    ['20261130T121500Z', null],
    ['20261130T114459Z', STALE],
    ['20261130T121501Z', STALE],
    ['20260101T000000Z', STALE],
    ['2026-11-30T12:00:00Z', format('2026-11-30T12:00:00Z')],
    ['20261130T120000', format('20261130T120000')],
    ['20261131T120000Z', format('20261131T120000Z')],
    ['20261130T250000Z', format('20261130T250000Z')],
    ['', format('')],
    ['now', format('now')],
  ])('X-Qiniu-Date %p: %p (15 minutes either way)', (date, problem) => {
    expect(qiniuDateProblem({ 'x-qiniu-date': date }, now)).toBe(problem);
  });

  it('passes a request without X-Qiniu-Date', () => {
    expect(qiniuDateProblem({ 'x-qiniu-trace': 'abc' }, now)).toBeNull();
  });
});

describe(signedViews.name, () => {
  const received = request({ url: '/server/relay/relay_1', host: 'relay_service' });
  it.each<[string, { proxied: boolean; host: string | null; prefix: string }, [string, string][]]>([
    [
      'straight to the service',
      { proxied: false, host: 'gw.example.com', prefix: '/relay' },
      [['/server/relay/relay_1', 'relay_service']],
    ],
    [
      'through a gateway under a prefix',
      { proxied: true, host: 'gw.example.com', prefix: '/relay' },
      [
        ['/server/relay/relay_1', 'relay_service'],
        ['/relay/server/relay/relay_1', 'gw.example.com'],
      ],
    ],
    [
      'through a proxy that changes nothing',
      { proxied: true, host: 'relay_service', prefix: '' },
      [['/server/relay/relay_1', 'relay_service']],
    ],
  ])('%s', (_, caller, views) => {
    expect(signedViews(received, caller).map((v) => [v.url, v.host])).toEqual(views);
  });

  it("verifies the SDK's signature over the gateway's URL, and only through a trusted proxy", () => {
    const auth = qiniuSignV2(AK, SK, 'https://gw.example.com/relay/server/relay/relay_1', 'GET');
    const verifies = (caller: { proxied: boolean; host: string | null; prefix: string }) =>
      signedViews(received, caller).some((view) => verifyQiniuMac(auth, view, AK, SK));
    expect(verifies({ proxied: true, host: 'gw.example.com', prefix: '/relay' })).toBe(true);
    expect(verifies({ proxied: false, host: 'gw.example.com', prefix: '/relay' })).toBe(false);
    expect(verifies({ proxied: true, host: 'gw.example.com', prefix: '' })).toBe(false);
  });
});
