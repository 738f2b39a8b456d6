import { LiveRoom, LiveStatus } from '../live-room/live-room.entity';
import { refusalOf, StartRequest } from './relay-start';

const room = (liveId: string, anchorId: string, extra: Partial<LiveRoom> = {}): LiveRoom => ({
  liveId,
  appId: 'default',
  title: liveId,
  notice: '',
  coverUrl: '',
  extendsJson: '{}',
  anchorId,
  liveStatus: LiveStatus.Live,
  pkId: '',
  startAt: 1,
  endAt: null,
  heartbeatAt: 1,
  createdAt: 1,
  updatedAt: 1,
  ...extra,
});

const start = (extra: Partial<StartRequest> = {}): StartRequest => ({
  appId: 'default',
  caller: 'alice',
  initRoomId: 'room_a',
  receivers: [{ roomId: 'room_b', userId: 'bob' }],
  mode: 'auto',
  durationS: null,
  extends: {},
  origin: 'invite',
  ...extra,
});

const ROOMS = [room('room_a', 'alice'), room('room_b', 'bob'), room('room_c', 'carol')];

describe(refusalOf.name, () => {
  // Each row: the start, what differs in the rooms, and the refusal (code, room, why) or null.
  it.each<[string, Partial<StartRequest>, LiveRoom[], [number, string, string] | null]>([
    ['a valid start', {}, [], null],
    ['a valid start by the server (no caller)', { caller: null }, [], null],
    ['no initiator room', { initRoomId: 'room_x' }, [], [404, 'room_x', 'missing']],
    ['the caller is not its anchor', { caller: 'mallory' }, [], [403, 'room_a', 'not_anchor']],
    [
      'a receiver room of another anchor',
      { receivers: [{ roomId: 'room_b', userId: 'carol' }] },
      [],
      [404, 'room_b', 'missing'],
    ],
    [
      'the initiator as a receiver too',
      { receivers: [{ roomId: 'room_c', userId: 'alice' }] },
      [room('room_c', 'alice')],
      [400, 'room_c', 'not_anchor'],
    ],
    [
      'a receiver not live',
      {},
      [room('room_b', 'bob', { liveStatus: LiveStatus.Stopped })],
      [601, 'room_b', 'not_live'],
    ],
    [
      'not live comes before busy',
      {},
      [room('room_a', 'alice', { pkId: 'relay_1' }), room('room_b', 'bob', { liveStatus: 0 })],
      [601, 'room_b', 'not_live'],
    ],
    [
      'a room in a relay',
      {},
      [room('room_b', 'bob', { pkId: 'relay_1' })],
      [601, 'room_b', 'busy'],
    ],
  ])('%s', (_, request, changed, expected) => {
    const rooms = new Map([...ROOMS, ...changed].map((r) => [r.liveId, r]));
    const refused = refusalOf(start(request), rooms, 60);
    expect(refused && [refused.code, refused.roomId, refused.why]).toEqual(expected);
  });

  it('says a room stopped for silence was stopped for silence', () => {
    const silent = room('room_b', 'bob', {
      liveStatus: LiveStatus.Stopped,
      heartbeatAt: 1_000,
      endAt: 61_000,
    });
    const rooms = new Map([...ROOMS, silent].map((r) => [r.liveId, r]));
    expect(refusalOf(start(), rooms, 60)?.message).toMatch(/without a heartbeat/);
  });
});
