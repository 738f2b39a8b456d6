/**
 * Fixtures for the medium tier: the same anchors and relays as ./index, made by calling the
 * services as the controllers would, without HTTP.
 */
import { ClientUser } from '../../src/auth/client-user';
import { LiveRoomService } from '../../src/live-room/live-room.service';
import { RelayService } from '../../src/relay/relay.service';
import { MediumApp } from '../utils/medium-app';
import { uniqueUser } from './index';

export interface ServiceAnchor {
  user: ClientUser;
  liveId: string;
}

/** A client of the default app, as the JWT guard would hand it to a controller. */
export function clientUser(userId = uniqueUser('anchor')): ClientUser {
  return { userId, appId: 'default', deviceId: '', role: '', requestId: uniqueUser('request') };
}

/** A user with a live room of their own. */
export async function serviceAnchor(app: MediumApp): Promise<ServiceAnchor> {
  const user = clientUser();
  const rooms = app.get(LiveRoomService);
  const { live_id: liveId } = await rooms.create(user, { title: `${user.userId}'s room` });
  await rooms.start(user, liveId);
  return { user, liveId };
}

export interface ServiceRelay {
  init: ServiceAnchor;
  /** The receivers, in the order of the start. */
  recvs: ServiceAnchor[];
  relayId: string;
}

/**
 * Live anchors and a relay between them, started at the clock's time: one receiver by the
 * classic form, more through `recv_rooms` (mode auto unless told otherwise).
 */
export async function serviceRelay(
  app: MediumApp,
  options: { receivers?: number; mode?: 'auto' | 'invite'; duration_s?: number } = {},
): Promise<ServiceRelay> {
  const { receivers = 1, ...rest } = options;
  const init = await serviceAnchor(app);
  const recvs: ServiceAnchor[] = [];
  for (let i = 0; i < receivers; i++) recvs.push(await serviceAnchor(app));
  const rooms =
    receivers === 1
      ? { recv_room_id: recvs[0].liveId, recv_user_id: recvs[0].user.userId }
      : { recv_rooms: recvs.map((r) => ({ room_id: r.liveId, user_id: r.user.userId })) };
  const started = await app
    .get(RelayService)
    .start(init.user, { init_room_id: init.liveId, ...rooms, ...rest });
  return { init, recvs, relayId: started.relay_id };
}

/** Every room of the relay reports `started`: the relay reaches 4. */
export async function joinAll(app: MediumApp, r: ServiceRelay): Promise<void> {
  for (const who of [r.init, ...r.recvs]) await app.get(RelayService).started(who.user, r.relayId);
}
