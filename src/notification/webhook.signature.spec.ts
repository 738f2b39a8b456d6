import { createHmac } from 'node:crypto';
import { retryDelayMs, signWebhook, webhookSignatures } from './webhook.signature';

describe(signWebhook.name, () => {
  it('is sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>', () => {
    const body = '{"id":1,"type":"relay.status_changed"}';
    const expected = createHmac('sha256', 'whsec').update(`1800000000.${body}`).digest('hex');
    expect(signWebhook('whsec', 1_800_000_000, body)).toBe(`sha256=${expected}`);
  });

  it('changes with the timestamp, the body and the secret', () => {
    const base = signWebhook('whsec', 1, 'a');
    expect(signWebhook('whsec', 2, 'a')).not.toBe(base);
    expect(signWebhook('whsec', 1, 'b')).not.toBe(base);
    expect(signWebhook('other', 1, 'a')).not.toBe(base);
  });
});

describe(webhookSignatures.name, () => {
  it('is one signature per secret, the current one first, joined by a comma', () => {
    const body = '{"id":1}';
    expect(webhookSignatures(['new-secret'], 1_800_000_000, body)).toBe(
      signWebhook('new-secret', 1_800_000_000, body),
    );
    expect(webhookSignatures(['new-secret', 'old-secret'], 1_800_000_000, body)).toBe(
      `${signWebhook('new-secret', 1_800_000_000, body)},${signWebhook('old-secret', 1_800_000_000, body)}`,
    );
  });
});

describe(retryDelayMs.name, () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [8, 128_000],
    [9, 256_000],
    [10, 300_000],
    [30, 300_000],
  ])('after %i failed attempts waits %i ms (1 s doubling, capped at 5 min)', (attempts, ms) => {
    expect(retryDelayMs(attempts)).toBe(ms);
  });
});
