import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ClientUser } from '../auth/client-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ClientStreamAuth } from '../auth/client-auth.decorator';
import { ApiEnvelope, CLIENT_ERRORS, DATABASE_ERRORS } from '../common/api-envelope.decorator';
import { EVENT_TYPES, EventType } from '../common/event-type';
import { STREAM_PREVIEW_S } from '../openapi/swagger-ui.script';
import { EventStreamService } from './event-stream.service';
import { StreamQuery } from './event-stream.dto';

const EXAMPLE_EVENT = {
  id: 42,
  type: 'relay.status_changed',
  relay_id: 'relay_8c1d2e',
  app_id: 'default',
  seq: 2,
  occurred_at: '2026-11-25T15:00:03.000Z',
  data: {
    from: 1,
    to: 2,
    reason: '',
    session: {
      sid: 'relay_8c1d2e',
      relay_id: 'relay_8c1d2e',
      app_id: 'default',
      init_user_id: 'alice',
      init_room_id: 'room_a',
      recv_room_id: 'room_b',
      recv_user_id: 'bob',
      rooms: [
        { room_id: 'room_a', user_id: 'alice', role: 'init', state: 'joined', reason: '' },
        { room_id: 'room_b', user_id: 'bob', role: 'recv', state: 'agreed', reason: '' },
      ],
      status: 2,
      stop_reason: '',
      start_at: '2026-11-25 15:00:00',
      stop_at: null,
      created_at: '2026-11-25 15:00:00',
      updated_at: '2026-11-25 15:00:03',
      duration_s: null,
      extends: {},
      scores: { room_a: 0, room_b: 0 },
      winner_room_id: '',
      battle: null,
      origin: 'invite',
    },
  },
};

/**
 * What an app does with each event type, for the example: a Record, so that a new event type
 * does not compile until the example shows it.
 */
const EXAMPLE_HANDLERS: Record<EventType, string> = {
  'relay.status_changed': 'showStatus(event.data.to); // your UI: 0-6',
  'relay.room_changed': 'showRooms(event.data.session.rooms); // group relays of 3+ rooms',
  'relay.extends_updated': 'applyExtends(event.data.changed);',
  'relay.score_changed': 'drawScoreBar(event.data.scores); // {"<room_id>": score}',
  'relay.battle_changed': 'showBattle(event.data.battle); // phase, ranking, winner, MVP',
};

/** Markdown: Swagger UI shows it above Try it out, where a newcomer would otherwise wait. */
const STREAM_DESCRIPTION = [
  'A server-sent event stream: it stays open and never ends, so read it with `EventSource`',
  '(or any SSE client), not with a request that waits for the whole answer. `EventSource`',
  'cannot set headers, hence `?access_token=`:',
  '',
  '```js',
  "const stream = new EventSource('/client/relay/events?access_token=' + token);",
  ...EVENT_TYPES.flatMap((type) => [
    `stream.addEventListener('${type}', (m) => {`,
    '  const event = JSON.parse(m.data); // an EventView; m.lastEventId is its id',
    `  ${EXAMPLE_HANDLERS[type]}`,
    '});',
  ]),
  '```',
  '',
  'Each message has `id:` (the event id), `event:` (the type) and `data:` (the event JSON,',
  'schema EventView). Reconnect with Last-Event-ID (header or last_event_id) to receive what',
  'you missed first; `EventSource` does that by itself. A comment line comes every 15 s (STREAM_KEEPALIVE_S).',
  '',
  `**In Swagger UI**, Execute reads the stream for ${STREAM_PREVIEW_S} seconds, then stops and`,
  'shows what arrived; set `last_event_id` to 0 to see past events replayed. Errors (401 and so',
  'on) show as usual. `room_id` naming no room of your app answers 404.',
].join('\n');

@ApiTags('relay')
@Controller('client/relay')
export class EventStreamController {
  constructor(private readonly streams: EventStreamService) {}

  @Get('events')
  @ClientStreamAuth()
  @ApiOperation({
    summary: 'Server-sent events of your sessions, or of a room with ?room_id= (use EventSource)',
    description: STREAM_DESCRIPTION,
  })
  @ApiEnvelope(
    {
      mediaType: 'text/event-stream',
      description:
        'the stream: `retry:`, then a message per event and a comment every 15 s (STREAM_KEEPALIVE_S)',
      example:
        'retry: 2000\n\nid: 42\nevent: relay.status_changed\n' +
        `data: ${JSON.stringify(EXAMPLE_EVENT)}\n\n: keep-alive\n\n`,
    },
    [...CLIENT_ERRORS, 404, ...DATABASE_ERRORS],
  )
  stream(
    @CurrentUser() user: ClientUser,
    @Query() query: StreamQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.streams.open(user, query, request, reply);
  }
}
