import { LiveRoom, LiveStatus } from './live-room.entity';

/**
 * Why a room is not live, for the anchor whose request needs it live. A room is usually found
 * stopped because its heartbeats stopped (an app in the background, a test typed by hand), and
 * "not live" alone sends a newcomer looking in the wrong place. Whether the sweeper or the
 * anchor stopped it is not stored; what the message states is a fact either way: how long the
 * room had gone without a heartbeat when it stopped, if that reached the timeout.
 */
export function notLiveMessage(
  room: Pick<LiveRoom, 'liveId' | 'liveStatus' | 'endAt' | 'heartbeatAt'>,
  heartbeatTimeoutS: number,
): string {
  const base = `room ${room.liveId} is not live (live_status ${room.liveStatus})`;
  if (room.liveStatus !== LiveStatus.Stopped || heartbeatTimeoutS === 0) return base;
  if (room.endAt === null || room.heartbeatAt === null) return base;
  const silentS = Math.floor((room.endAt - room.heartbeatAt) / 1000);
  if (silentS < heartbeatTimeoutS) return base;
  return (
    `room ${room.liveId} was stopped after ${silentS} s without a heartbeat ` +
    `(ROOM_HEARTBEAT_TIMEOUT_S is ${heartbeatTimeoutS}): send one every 20 s or so while live`
  );
}
