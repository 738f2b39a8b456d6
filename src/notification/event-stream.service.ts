import { Injectable } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ClientUser } from '../auth/client-user';
import { badRequest } from '../common/domain.error';
import { traceparentOf } from '../common/trace-context';
import { Database } from '../database/database.service';
import { roomNotFound } from '../live-room/live-room.service';
import { LiveRoomStore } from '../live-room/live-room.store';
import { EventLog } from '../event-log/event-log.service';
import { EventStreamHub, sseFrame, StreamFilter, Subscriber } from './event-stream.hub';
import { StreamQuery } from './event-stream.dto';

const REPLAY_PAGE = 500;
/** A client this far behind is cut off; it reconnects with Last-Event-ID and loses nothing. */
const MAX_UNSENT_BYTES = 1024 * 1024;

@Injectable()
export class EventStreamService {
  constructor(
    private readonly hub: EventStreamHub,
    private readonly events: EventLog,
    private readonly db: Database,
    private readonly rooms: LiveRoomStore,
  ) {}

  /**
   * Opens a server-sent event stream. With Last-Event-ID, live events are held back while the
   * missed ones are read from the log, then sent after them without repeats, so a reconnecting
   * client gets everything once and in order.
   */
  async open(
    user: ClientUser,
    query: StreamQuery,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const filter: StreamFilter =
      query.room_id !== undefined
        ? { appId: user.appId, roomId: query.room_id }
        : { appId: user.appId, userId: user.userId };
    const lastEventId = lastEventIdOf(request, query);
    // A mistyped room id would otherwise be a stream that stays silent forever; a room of
    // another app is not found either, as everywhere else in the client API.
    const roomId = query.room_id;
    if (roomId !== undefined) {
      const room = await this.db.read((sql) => this.rooms.find(sql, user.appId, roomId));
      if (!room) throw roomNotFound(roomId);
    }

    reply.hijack();
    const raw = reply.raw;
    const headers = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
      traceparent: traceparentOf(request.trace),
    };
    // HEAD gets the headers a GET would and no stream: nothing is subscribed or replayed, and
    // the connection is left to Node, which honours the client's Connection: close.
    if (request.method === 'HEAD') {
      raw.writeHead(200, headers);
      raw.end();
      return;
    }
    raw.writeHead(200, { ...headers, connection: 'keep-alive' });
    raw.write('retry: 2000\n\n');

    let held: { id: number; frame: Buffer }[] | null = lastEventId === null ? null : [];
    let replayed = new Set<number>();
    const write = (frame: string | Buffer) => {
      if (raw.writableEnded) return;
      if (raw.writableLength > MAX_UNSENT_BYTES) {
        raw.end(': too far behind; reconnect with Last-Event-ID\n\n');
        return;
      }
      raw.write(frame);
    };
    const sendOne = (id: number, frame: Buffer) => {
      // The client has it already: it saw it on a node whose feed was ahead of this one.
      if (lastEventId !== null && id <= lastEventId) return;
      if (held) held.push({ id, frame });
      else if (!replayed.has(id)) write(frame);
    };
    const subscriber: Subscriber = {
      ...filter,
      send: (batch) => {
        // A stream past its replay takes the batch in one write; one still resuming, or that
        // may have some of these events already, takes them one by one.
        const settled =
          held === null &&
          (lastEventId === null || batch.ids[0] > lastEventId) &&
          (replayed.size === 0 || !batch.ids.some((id) => replayed.has(id)));
        if (settled) write(batch.joined);
        else batch.ids.forEach((id, i) => sendOne(id, batch.frames[i]));
      },
      comment: write,
      close: (comment) => raw.end(`: ${comment}\n\n`),
    };
    const unsubscribe = this.hub.subscribe(subscriber);
    raw.on('close', unsubscribe);
    // Events up to the feed's position have passed its wait for ids still in flight; the replay
    // takes those from the log, and the feed brings everything after them. Replaying further
    // could send an event while an earlier one is still uncommitted, and lose that one.
    const upTo = this.hub.position;

    if (lastEventId === null) return;
    try {
      replay: for (let after = lastEventId; after < upTo;) {
        const page = await this.events.replay({ ...filter, afterId: after, limit: REPLAY_PAGE });
        for (const e of page) {
          const id = Number(e.id);
          if (id > upTo) break replay;
          write(sseFrame({ ...e, id }));
          replayed.add(id);
          after = id;
        }
        if (page.length < REPLAY_PAGE) break;
      }
      for (const { id, frame } of held ?? []) if (!replayed.has(id)) write(frame);
      held = null;
      // Only ids the feed has yet to reach can still come twice.
      replayed = new Set([...replayed].filter((id) => id > this.hub.position));
    } catch {
      unsubscribe();
      raw.end(': could not read the missed events; reconnect with Last-Event-ID\n\n');
    }
  }
}

function lastEventIdOf(request: FastifyRequest, query: StreamQuery): number | null {
  const header = request.headers['last-event-id'];
  const value = typeof header === 'string' && header.length > 0 ? header : query.last_event_id;
  if (value === undefined) return null;
  if (!/^\d{1,16}$/.test(value)) throw badRequest('Last-Event-ID must be an event id');
  return Number(value);
}
