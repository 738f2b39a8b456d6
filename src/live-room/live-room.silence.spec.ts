import { LiveStatus } from './live-room.entity';
import { notLiveMessage } from './live-room.silence';

const T0 = 1_800_000_000_000;
const room = (liveStatus: LiveStatus, heartbeatAt: number | null, endAt: number | null) => ({
  liveId: 'room_a',
  liveStatus,
  heartbeatAt,
  endAt,
});

describe(notLiveMessage.name, () => {
  it.each([
    [
      'never started',
      room(LiveStatus.Created, null, null),
      60,
      'room room_a is not live (live_status 0)',
    ],
    [
      'stopped by its anchor',
      room(LiveStatus.Stopped, T0, T0 + 5_000),
      60,
      'room room_a is not live (live_status 2)',
    ],
    [
      'stopped for silence',
      room(LiveStatus.Stopped, T0, T0 + 61_500),
      60,
      'room room_a was stopped after 61 s without a heartbeat (ROOM_HEARTBEAT_TIMEOUT_S is 60): send one every 20 s or so while live',
    ],
    [
      'silent exactly the timeout',
      room(LiveStatus.Stopped, T0, T0 + 60_000),
      60,
      'room room_a was stopped after 60 s without a heartbeat (ROOM_HEARTBEAT_TIMEOUT_S is 60): send one every 20 s or so while live',
    ],
    [
      'silent long, check switched off',
      room(LiveStatus.Stopped, T0, T0 + 600_000),
      0,
      'room room_a is not live (live_status 2)',
    ],
    [
      'stopped with no heartbeat time',
      room(LiveStatus.Stopped, null, T0),
      60,
      'room room_a is not live (live_status 2)',
    ],
  ] as const)('%s', (_case, given, timeoutS, message) => {
    expect(notLiveMessage(given, timeoutS)).toBe(message);
  });
});
