import { Injectable } from '@nestjs/common';
import { EventType } from '../common/event-type';
import { webhookSignatures } from './webhook.signature';

export const WEBHOOK_TIMEOUT_MS = 5000;

export type SendOutcome = { ok: true } | { ok: false; error: string };

/** One HTTP attempt: the event JSON, signed with each secret; a 2xx within 5 s delivers it. */
@Injectable()
export class WebhookSender {
  async send(
    url: string,
    secrets: readonly string[],
    event: { id: number; type: EventType; json: string; traceparent: string },
    nowMs: number,
  ): Promise<SendOutcome> {
    const timestamp = Math.floor(nowMs / 1000);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'cross-room-relay-webhook/1',
          'x-relay-event-id': String(event.id),
          'x-relay-event-type': event.type,
          'x-relay-timestamp': String(timestamp),
          'x-relay-signature': webhookSignatures(secrets, timestamp, event.json),
          ...(event.traceparent === '' ? {} : { traceparent: event.traceparent }),
        },
        body: event.json,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) return { ok: true };
      return { ok: false, error: `HTTP ${response.status}` };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'TimeoutError')
        return { ok: false, error: `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s` };
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, error: cause?.code ?? cause?.message ?? (error as Error).message };
    }
  }
}
