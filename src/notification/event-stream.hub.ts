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
import { EventLog, idList, LoggedEvent, publicEventJson } from '../event-log/event-log.service';
import { Metrics } from '../observability/metrics.service';

/** What a stream wants: one app's events of sessions where a user is an anchor, or of a room. */
export interface StreamFilter {
  appId: string;
  userId?: string;
  roomId?: string;
}

/**
 * The matching events of one read of the log, in log order: each event's SSE frame, and all of
 * them joined. The Buffers are shared by every stream with the same filter: encoding once, and
 * one write per stream however many events a read brought, is what keeps a fan-out to
 * thousands cheap; under load, reads bring more events each and the writes stay as few.
 */
export interface FrameBatch {
  ids: number[];
  frames: Buffer[];
  joined: Buffer;
}

export interface Subscriber extends StreamFilter {
  /** Receives the frames of its matching events, batch after batch, in log order. */
  send(batch: FrameBatch): void;
  /** A comment line that keeps proxies from closing an idle stream. */
  comment(line: Buffer): void;
  /** Ends the stream with a last comment line. */
  close(comment: string): void;
}

/** How often each node reads the log for events made on other nodes. */
const FOLLOW_INTERVAL_MS = 200;
/**
 * After writing to its streams the feed rests as long as the writing took, at most this long,
 * before a commit may wake it again: a fan-out to thousands then takes at most half of the
 * event loop, requests keep the other half, and events made meanwhile go out together, one
 * write per stream. Small fan-outs take a fraction of a millisecond and rest as little.
 */
const MAX_REST_MS = 40;
/** Streams written to between two turns of the event loop. */
const YIELD_EVERY = 256;
/**
 * An id missing this long is taken as a rolled-back transaction's, and passed. The event insert
 * is the last statement before COMMIT, so a committing id shows up within milliseconds; the wait
 * must stay well under the 1 s cross-node promise, and a later commit is still sent, late.
 */
const GAP_WAIT_MS = 300;
/** ...but it is still looked for this long, and sent late should it commit after all. */
const LATE_WATCH_MS = 60_000;

export function sseFrame(e: LoggedEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${publicEventJson(e)}\n\n`;
}

/** Which participant list of an event a stream looks in, and for what; `key` names both. */
interface Match {
  list: 'roomIds' | 'userIds';
  needle: string;
  key: string;
}

function matchOf(s: StreamFilter): Match {
  const list = s.roomId !== undefined ? 'roomIds' : 'userIds';
  const needle = idList([s.roomId ?? s.userId ?? '']);
  return { list, needle, key: `${list}${needle}` };
}

/**
 * One feed per node for every open stream. It follows the event log in id order (woken by
 * commits on this node, after resting as long as its last fan-out took, at most 40 ms; every
 * 200 ms for the others), so each frame goes out once, in order, whatever node made the event. Ids are allocated before commit, so a missing id may still be
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
  private lastPublishMs = 0;
  private readonly keepAliveMs: number;

  constructor(
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Shorter than the read timeout of every proxy on the way (STREAM_KEEPALIVE_S).
    this.keepAliveMs = config.streamKeepAliveS * 1000;
    this.sweeper = new Sweeper(
      EventStreamHub.name,
      Math.min(FOLLOW_INTERVAL_MS, config.timerIntervalMs),
      (limit) => this.follow(limit),
      () => Math.min(MAX_REST_MS, this.lastPublishMs),
    );
    events.onCommitted(() => this.sweeper.wake());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.cursor = await this.events.lastId();
    this.sweeper.start();
    this.keepAlive = setInterval(() => this.broadcastComment('keep-alive'), this.keepAliveMs);
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
    if (!set) this.byApp.set(s.appId, (set = new Map<Subscriber, Match>()));
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
    this.lastPublishMs = 0;
    if (this.late.size > 0) await this.sendLate();
    // A gap is timed from the end of the first read that showed it, and passed only by a read
    // that began GAP_WAIT_MS later: a read held up (a Galera view change stalls causal reads and
    // commits alike) never counts its own wait as time the missing id had to commit.
    const began = this.clock.now();
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
    const passed: LoggedEvent[] = [];
    for (const e of rows) {
      const id = Number(e.id);
      if (id > this.cursor + 1 && !this.passGap(this.cursor + 1, id, began)) break;
      this.gaps.delete(id);
      passed.push({ ...e, id });
      this.cursor = id;
    }
    await this.publish(passed);
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
    const found: LoggedEvent[] = [];
    for (const e of await this.events.byIds([...this.late.keys()])) {
      const id = Number(e.id);
      this.late.delete(id);
      this.logger.warn(`event ${id} committed after the stream passed it; sent late`);
      this.metrics.lateEvents.inc();
      found.push({ ...e, id });
    }
    await this.publish(found);
  }

  /** Sends `events` (in log order) to the streams they match: one batch per filter. */
  private async publish(events: LoggedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const began = performance.now();
    let written = 0;
    const frames = new Map<number, Buffer>();
    const frameOf = (e: LoggedEvent) => {
      let frame = frames.get(e.id);
      if (frame === undefined) frames.set(e.id, (frame = Buffer.from(sseFrame(e))));
      return frame;
    };
    for (const appId of new Set(events.map((e) => e.appId))) {
      const subscribers = this.byApp.get(appId);
      if (!subscribers) continue;
      const ofApp = events.filter((e) => e.appId === appId);
      const batches = new Map<string, FrameBatch | null>();
      for (const [s, m] of subscribers) {
        let batch = batches.get(m.key);
        if (batch === undefined) {
          const matching = ofApp.filter((e) => e[m.list].includes(m.needle));
          const own = matching.map(frameOf);
          batch =
            matching.length === 0
              ? null
              : {
                  ids: matching.map((e) => e.id),
                  frames: own,
                  joined: own.length === 1 ? own[0] : Buffer.concat(own),
                };
          batches.set(m.key, batch);
        }
        if (batch === null) continue;
        s.send(batch);
        // Thousands of writes in one go would hold up every request, and the database replies
        // of transactions that hold a relay's row lock; the feed lets them in between slices.
        if (++written % YIELD_EVERY === 0) await new Promise(setImmediate);
      }
    }
    this.lastPublishMs = performance.now() - began;
  }

  private broadcastComment(text: string): void {
    const line = Buffer.from(`: ${text}\n\n`);
    for (const subscribers of this.byApp.values()) {
      for (const s of subscribers.keys()) s.comment(line);
    }
  }
}
