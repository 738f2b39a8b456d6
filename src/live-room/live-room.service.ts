import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { ClientUser } from '../auth/client-user';
import { Clock } from '../common/clock';
import { badStatus, forbidden, notFound } from '../common/domain.error';
import { initialExtendsJson } from '../common/extends.map';
import { inParallel } from '../common/in-parallel';
import { Sweeper } from '../common/sweeper';
import { Database, Sql } from '../database/database.service';
import { CreateRoomDto, HeartbeatView, RoomView, toRoomView } from './live-room.dto';
import { LiveRoom, LiveStatus } from './live-room.entity';
import { notLiveMessage } from './live-room.silence';
import { LiveRoomStore } from './live-room.store';

export type RoomEndReason = 'room_stopped' | 'room_offline';

/** Told, inside the stopping transaction, that a room's live has ended (room.pkId as it was). */
export type RoomEndedHandler = (sql: Sql, room: LiveRoom, reason: RoomEndReason) => Promise<void>;

@Injectable()
export class LiveRoomService {
  private readonly roomEnded: RoomEndedHandler[] = [];
  private readonly heartbeatTimeoutMs: number;
  private readonly logger = new Logger(LiveRoomService.name);

  constructor(
    private readonly db: Database,
    private readonly rooms: LiveRoomStore,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.heartbeatTimeoutMs = config.roomHeartbeatTimeoutS * 1000;
  }

  /**
   * The modules above rooms register here what a room's end means to them (the relay that holds
   * it ends or lets it go; its matchmaking ticket is cancelled), so rooms never import them.
   */
  onRoomEnded(handler: RoomEndedHandler): void {
    this.roomEnded.push(handler);
  }

  async create(user: ClientUser, dto: CreateRoomDto): Promise<RoomView> {
    const extendsJson = initialExtendsJson(dto.extends);
    const now = this.clock.now();
    const room: LiveRoom = {
      liveId: `room_${randomUUID().replace(/-/g, '')}`,
      appId: user.appId,
      title: dto.title,
      notice: dto.notice ?? '',
      coverUrl: dto.cover_url ?? '',
      extendsJson,
      anchorId: user.userId,
      liveStatus: LiveStatus.Created,
      pkId: '',
      startAt: null,
      endAt: null,
      heartbeatAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.db.transaction((sql) => this.rooms.insert(sql, room), user);
    return toRoomView(room);
  }

  async info(user: ClientUser, liveId: string): Promise<RoomView> {
    const room = await this.db.read((sql) => this.rooms.find(sql, user.appId, liveId));
    if (!room) throw roomNotFound(liveId);
    return toRoomView(room);
  }

  start(user: ClientUser, liveId: string): Promise<RoomView> {
    return this.db.transaction(async (sql) => {
      const room = await this.ownRoom(sql, user, liveId);
      if (room.liveStatus !== LiveStatus.Live) {
        const now = this.clock.now();
        Object.assign(room, {
          liveStatus: LiveStatus.Live,
          startAt: now,
          endAt: null,
          heartbeatAt: now,
          updatedAt: now,
        });
        this.rooms.setStatus(sql, room);
      }
      return toRoomView(room);
    }, user);
  }

  stop(user: ClientUser, liveId: string): Promise<RoomView> {
    return this.db.transaction(async (sql) => {
      const room = await this.ownRoom(sql, user, liveId);
      if (room.liveStatus === LiveStatus.Created) throw badStatus(`room ${liveId} is not live`);
      if (room.liveStatus === LiveStatus.Live) await this.endLive(sql, room, 'room_stopped');
      return toRoomView(room);
    }, user);
  }

  /**
   * Stops live rooms whose anchor has sent no heartbeat for ROOM_HEARTBEAT_TIMEOUT_S, at most
   * `limit` of them. Each room is re-read under its lock, so on many nodes it stops once.
   */
  async stopSilent(limit: number): Promise<number> {
    if (this.heartbeatTimeoutMs === 0) return 0;
    const silentSince = () => this.clock.now() - this.heartbeatTimeoutMs;
    const silent = await this.db.read((sql) => this.rooms.findSilent(sql, silentSince(), limit));
    await inParallel(silent, Sweeper.CONCURRENCY, ({ appId, liveId }) =>
      this.db
        .transaction(async (sql) => {
          const room = await this.rooms.find(sql, appId, liveId, true);
          if (room?.liveStatus !== LiveStatus.Live || (room.heartbeatAt ?? 0) > silentSince())
            return;
          await this.endLive(sql, room, 'room_offline');
        })
        .catch((error: unknown) =>
          this.logger.error(`stopping silent room ${liveId} failed: ${String(error)}`),
        ),
    );
    return silent.length;
  }

  private async endLive(sql: Sql, room: LiveRoom, reason: RoomEndReason): Promise<void> {
    const now = this.clock.now();
    Object.assign(room, { liveStatus: LiveStatus.Stopped, endAt: now, updatedAt: now });
    this.rooms.setStatus(sql, room);
    for (const handler of this.roomEnded) await handler(sql, room, reason);
    // Its relay, if any, has let it go.
    room.pkId = '';
  }

  async heartbeat(user: ClientUser, liveId: string): Promise<HeartbeatView> {
    const now = this.clock.now();
    const took = await this.db.transaction(
      (sql) => this.rooms.heartbeat(sql, user.appId, liveId, user.userId, now),
      user,
    );
    if (!took) {
      // Slow path only to name the reason: missing, someone else's, or not live.
      await this.db.read(async (sql) => {
        const room = await this.rooms.find(sql, user.appId, liveId);
        if (!room) throw roomNotFound(liveId);
        if (room.anchorId !== user.userId) throw notAnchor(liveId);
        throw badStatus(notLiveMessage(room, this.heartbeatTimeoutMs / 1000));
      });
    }
    return { live_id: liveId, live_status: LiveStatus.Live };
  }

  private async ownRoom(sql: Sql, user: ClientUser, liveId: string): Promise<LiveRoom> {
    const room = await this.rooms.find(sql, user.appId, liveId, true);
    if (!room) throw roomNotFound(liveId);
    if (room.anchorId !== user.userId) throw notAnchor(liveId);
    return room;
  }
}

export const roomNotFound = (liveId: string) => notFound(`room ${liveId} not found`);
const notAnchor = (liveId: string) => forbidden(`only the anchor of room ${liveId} can do this`);
