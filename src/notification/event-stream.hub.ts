import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { Clock } from '../common/clock';
import { Sweeper } from '../common/sweeper';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { EventLog, LoggedEvent, publicEventJson } from '../event-log/event-log.service';
import { Metrics } from '../observability/metrics.service';

/** What a stream wants: one app's events of sessions where a user is an anchor, or of a room. */
export interface StreamFilter {
  appId: string;
  userId?: string;
  roomId?: string;
}

export interface Subscriber extends StreamFilter {
  /**
   * Receives each matching event's SSE frame, in log order. One Buffer is shared by every
   * stream of the event: encoding the text once, not once per stream, is most of what a
   * fan-out to thousands costs beyond the writes themselves.
   */
  send(eventId: number, frame: Buffer): void;
  /** Ends the stream with a last comment line. */
  close(comment: string): void;
}

/** How often each node reads the log for events made on other nodes. */
const FOLLOW_INTERVAL_MS = 200;
/**
 * An id missing this long is taken as a rolled-back transaction's, and passed. The event insert
 * is the last statement before COMMIT, so a committing id shows up within milliseconds; the wait
 * must stay well under the 1 s cross-node promise, and a later commit is still sent, late.
 */
const GAP_WAIT_MS = 300;
/** ...but it is still looked for this long, and sent late should it commit after all. */
const LATE_WATCH_MS = 60_000;
export const KEEP_ALIVE_MS = 15_000;

export function sseFrame(e: LoggedEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${publicEventJson(e)}\n\n`;
}

/** Which participant list of an event a stream looks in, and for what. */
interface Match {
  list: 'roomIds' | 'userIds';
  needle: string;
}

const matchOf = (s: StreamFilter): Match =>
  s.roomId !== undefined
    ? { list: 'roomIds', needle: `,${s.roomId},` }
    : { list: 'userIds', needle: `,${s.userId},` };

/**
 * One feed per node for every open stream. It follows the event log in id order (woken at once
 * by commits on this node, every 200 ms for the others), so each frame goes out once, in order,
 * whatever node made the event. Ids are allocated before commit, so a missing id may still be
 * in flight: the feed waits for it briefly, then goes on and keeps watching for it.
 */
@Injectable()
export class EventStreamHub implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly byApp = new Map<string, Map<Subscriber, Match>>();
  private readonly sweeper: Sweeper;
  private readonly logger = new Logger(EventStreamHub.name);
  private cursor = 0;
  private readonly gaps = new Map<number, number>();
  private readonly late = new Map<number, number>();
  private keepAlive?: NodeJS.Timeout;

  constructor(
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.sweeper = new Sweeper(
      EventStreamHub.name,
      Math.min(FOLLOW_INTERVAL_MS, config.timerIntervalMs),
      (limit) => this.follow(limit),
    );
    events.onCommitted(() => this.sweeper.wake());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.cursor = await this.events.lastId();
    this.sweeper.start();
    this.keepAlive = setInterval(() => this.broadcastComment('keep-alive'), KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.keepAlive);
    await this.sweeper.stop();
    for (const subscribers of this.byApp.values()) {
      for (const s of subscribers.keys()) {
        s.close('server shutting down; reconnect with Last-Event-ID');
      }
    }
    this.byApp.clear();
  }

  /** The id up to which every event has been sent to the streams of this node. */
  get position(): number {
    return this.cursor;
  }

  subscribe(s: Subscriber): () => void {
    let set = this.byApp.get(s.appId);
    if (!set) this.byApp.set(s.appId, (set = new Map()));
    set.set(s, matchOf(s));
    this.metrics.openStreams.inc();
    return () => {
      if (set.delete(s)) this.metrics.openStreams.dec();
      if (set.size === 0 && this.byApp.get(s.appId) === set) this.byApp.delete(s.appId);
    };
  }

  get subscriberCount(): number {
    let n = 0;
    for (const set of this.byApp.values()) n += set.size;
    return n;
  }

  private async follow(limit: number): Promise<number> {
    if (this.late.size > 0) await this.sendLate();
    const rows = await this.events.after(this.cursor, limit);
    const now = this.clock.now();
    // Every missing id is timed from the first read that shows an id above it, not from when
    // the cursor reaches it; otherwise each gap behind another would cost its own full wait.
    let expected = this.cursor + 1;
    for (const e of rows) {
      const id = Number(e.id);
      for (let missing = expected; missing < id; missing++) {
        if (!this.gaps.has(missing)) this.gaps.set(missing, now);
      }
      expected = id + 1;
    }
    for (const e of rows) {
      const id = Number(e.id);
      if (id > this.cursor + 1 && !this.passGap(this.cursor + 1, id, now)) break;
      this.gaps.delete(id);
      this.publish({ ...e, id });
      this.cursor = id;
    }
    return rows.length;
  }

  /** True when each of the ids from..to-1 has been missing long enough to go on without it. */
  private passGap(from: number, to: number, now: number): boolean {
    let newest = 0;
    for (let id = from; id < to; id++) {
      if (!this.gaps.has(id)) this.gaps.set(id, now);
      newest = Math.max(newest, this.gaps.get(id) as number);
    }
    if (now - newest < GAP_WAIT_MS) return false;
    for (let id = from; id < to; id++) {
      this.gaps.delete(id);
      this.late.set(id, now);
    }
    return true;
  }

  private async sendLate(): Promise<void> {
    const now = this.clock.now();
    for (const [id, since] of this.late) if (now - since > LATE_WATCH_MS) this.late.delete(id);
    for (const e of await this.events.byIds([...this.late.keys()])) {
      const id = Number(e.id);
      this.late.delete(id);
      this.logger.warn(`event ${id} committed after the stream passed it; sent late`);
      this.publish({ ...e, id });
    }
  }

  private publish(e: LoggedEvent): void {
    const subscribers = this.byApp.get(e.appId);
    if (!subscribers) return;
    let frame: Buffer | undefined;
    for (const [s, m] of subscribers) {
      if (!e[m.list].includes(m.needle)) continue;
      frame ??= Buffer.from(sseFrame(e));
      s.send(e.id, frame);
    }
  }

  private broadcastComment(text: string): void {
    const line = Buffer.from(`: ${text}\n\n`);
    for (const subscribers of this.byApp.values()) {
      for (const s of subscribers.keys()) s.send(0, line);
    }
  }
}
