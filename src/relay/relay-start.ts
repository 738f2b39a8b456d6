import { DomainError, ErrorCode } from '../common/domain.error';
import { ExtendsMap } from '../common/extends.map';
import { LiveRoom, LiveStatus } from '../live-room/live-room.entity';
import { notLiveMessage } from '../live-room/live-room.silence';
import { RelayOrigin } from './relay.store';

/** A start, from the client API, the server API or matchmaking, as the start path takes it. */
export interface StartRequest {
  appId: string;
  /** The anchor who asks (it must be the initiator's); null for the server API and matchmaking. */
  caller: string | null;
  initRoomId: string;
  /** In order, checked as far as the body alone decides. */
  receivers: { roomId: string; userId: string }[];
  mode: 'auto' | 'invite';
  durationS: number | null;
  extends: ExtendsMap;
  origin: RelayOrigin;
}

/**
 * A start refused for one of its rooms, before anything was written: which room, and why.
 * Matchmaking tells a waiting ticket's room that went (its ticket is cancelled) from the
 * caller's own (the request is refused).
 */
export class StartRefused extends DomainError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly roomId: string,
    readonly why: 'missing' | 'not_anchor' | 'not_live' | 'busy',
  ) {
    super(code, message);
  }
}

/**
 * What a valid start is, given its rooms as read (`rooms` by live id; a room not found is not
 * there): the first reason to refuse it, or null. Every start path asks this one function.
 */
export function refusalOf(
  request: StartRequest,
  rooms: ReadonlyMap<string, LiveRoom>,
  heartbeatTimeoutS: number,
): StartRefused | null {
  const { caller, initRoomId, receivers } = request;
  const init = rooms.get(initRoomId);
  if (!init) return new StartRefused(404, `room ${initRoomId} not found`, initRoomId, 'missing');
  if (caller !== null && init.anchorId !== caller) {
    const message = `you are not the anchor of room ${init.liveId}`;
    return new StartRefused(403, message, initRoomId, 'not_anchor');
  }
  for (const r of receivers) {
    if (rooms.get(r.roomId)?.anchorId !== r.userId) {
      const message = `room ${r.roomId} with anchor ${r.userId} not found`;
      return new StartRefused(404, message, r.roomId, 'missing');
    }
    if (r.userId === init.anchorId) {
      const message = `${r.userId} is the anchor of ${initRoomId} too: an anchor takes part with one room`;
      return new StartRefused(400, message, r.roomId, 'not_anchor');
    }
  }
  const all = [init, ...receivers.map((r) => rooms.get(r.roomId) as LiveRoom)];
  const notLive = all.find((room) => room.liveStatus !== LiveStatus.Live);
  if (notLive) {
    const message = notLiveMessage(notLive, heartbeatTimeoutS);
    return new StartRefused(601, message, notLive.liveId, 'not_live');
  }
  const busy = all.find((room) => room.pkId !== '');
  if (busy) {
    const message = `room ${busy.liveId} is already in relay ${busy.pkId}`;
    return new StartRefused(601, message, busy.liveId, 'busy');
  }
  return null;
}
