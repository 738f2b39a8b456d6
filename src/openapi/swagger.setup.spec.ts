import { timersNote } from './swagger.setup';

const config = (heartbeat: number, invite: number, join: number) => ({
  roomHeartbeatTimeoutS: heartbeat,
  relay: {
    inviteTimeoutS: invite,
    joinTimeoutS: join,
    tokenTtlS: 3600,
    defaultMode: 'auto' as const,
  },
});

describe(timersNote.name, () => {
  it.each([
    [
      'the defaults',
      config(60, 30, 60),
      '**Timers.** A live room is stopped 60 s after its last `GET /client/live/room/heartbeat/{live_id}` (ROOM_HEARTBEAT_TIMEOUT_S), and its relay ends with `room_offline`: when trying requests by hand, send a heartbeat now and then, or start the service with ROOM_HEARTBEAT_TIMEOUT_S=0. An invitation expires after 30 s (RELAY_INVITE_TIMEOUT_S, `invite_timeout`); an agreed relay not at status 4 expires after 60 s (RELAY_JOIN_TIMEOUT_S, `join_timeout`). A request on an ended relay says how it ended.',
    ],
    [
      'every timer off',
      config(0, 0, 0),
      'Live rooms need no heartbeat here (ROOM_HEARTBEAT_TIMEOUT_S=0). An invitation never expires here (RELAY_INVITE_TIMEOUT_S, `invite_timeout`); an agreed relay not at status 4 never expires here (RELAY_JOIN_TIMEOUT_S, `join_timeout`). A request on an ended relay says how it ended.',
    ],
  ])('%s', (_case, given, note) => {
    expect(timersNote(given)).toBe(note);
  });
});
