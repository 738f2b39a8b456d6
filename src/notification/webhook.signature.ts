import { createHmac } from 'node:crypto';

/** `X-Relay-Signature`: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The `X-Relay-Signature` value: one signature per secret, the current one first, so that during
 * a rotation a receiver holding either secret finds one it can check.
 */
export function webhookSignatures(
  secrets: readonly string[],
  timestamp: number,
  body: string,
): string {
  return secrets.map((secret) => signWebhook(secret, timestamp, body)).join(',');
}

/** Backoff before the attempt after `attempts` failed ones: 1 s doubling, at most 5 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(attempts - 1, 0), 5 * 60 * 1000);
}
