import { DomainError, ErrorCode } from '../common/domain.error';
import { ExtendsMap } from '../common/extends.map';
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
