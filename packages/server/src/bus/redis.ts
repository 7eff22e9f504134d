// Delivery between nodes over Redis pub/sub. Every node publishes the events its sockets
// produce and hears everyone else's; events for its own sockets never leave the process,
// so a node keeps delivering locally (and keeps acking: the database is the truth) while
// Redis is away. What other nodes missed meanwhile reaches their clients through sync:
// when a subscription comes back, or when a publish could not go out, the bus raises
// 'resync' and the server tells its clients to sync.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Bus, BusEvent } from './types';
import { RedisSocketSlots } from './redis-slots';
import { RedisPresence } from './redis-presence';
import type { SocketSlots } from '../im/slots';
import type { PresenceTracker } from '../im/presence';

/** Options of {@link createRedisBus}. */
export interface RedisBusOptions {
  /** `redis://[user:pass@]host:port[/db]` (also `rediss://`). */
  url: string;
  /** Prepended to the channel name, so several deployments (or tests) can share one Redis. Default `clipchat:`. */
  prefix?: string;
  /** This node's id in envelopes (default: random); a node ignores its own echoes. */
  nodeId?: string;
  /** Where connection trouble is reported (pino-compatible); default: silent. */
  log?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

type Handler<E> = (event: E) => void;

/**
 * Envelope on the wire: `o` origin node, and `e` one event, `es` several (in publish
 * order), or `r` a resync request.
 */
interface Envelope<E> {
  o: string;
  e?: E;
  es?: E[];
  r?: 1;
}

/**
 * Most events in one PUBLISH. Events published in one event-loop turn go out as one
 * message (one write to Redis, one fan-out by Redis, one parse on each node); a cap keeps
 * a burst from making one message that every node must parse in one go.
 */
const MAX_BATCH = 512;

/**
 * A pub/sub bus over Redis with local-first delivery.
 *
 * - `publish(event)` hands the event to this process's subscribers at once, then to Redis
 *   for the other nodes. It never waits on Redis and never throws for Redis' sake: when
 *   Redis is unreachable the remote copy is dropped (counted in {@link RedisBus.dropped})
 *   and a resync is requested once it is back.
 * - `onResync(fn)` is called when this node may have missed events from other nodes (its
 *   subscription was down) or other nodes may have missed this node's (a publish was
 *   dropped). The server answers it by asking its clients to sync.
 * - `close()` quits both connections; idempotent.
 */
export class RedisBus<E = BusEvent> {
  readonly nodeId: string;
  readonly channel: string;
  /** Key prefix shared by the channel and the socket count. */
  readonly prefix: string;
  /** Events that reached local subscribers but could not be sent to Redis. */
  dropped = 0;
  /** Events received from other nodes. */
  received = 0;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Set<Handler<E>>();
  private readonly resyncHandlers = new Set<() => void>();
  private readonly log: NonNullable<RedisBusOptions['log']>;
  private started = false;
  private pendingResync = false;
  private closed = false;
  /** Events waiting for this turn's PUBLISH (see {@link MAX_BATCH}). */
  private outbox: E[] = [];
  private flushScheduled = false;
  /** The start of this node's own envelopes, to skip its echoes without parsing them. */
  private readonly ownPrefix: Buffer;
  /** PUBLISH commands sent (each carries one or more events), for metrics and tests. */
  published = 0;

  constructor(options: RedisBusOptions) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.prefix = options.prefix ?? 'clipchat:';
    this.channel = `${this.prefix}events`;
    this.ownPrefix = Buffer.from(JSON.stringify({ o: this.nodeId }).slice(0, -1));
    this.log = options.log ?? { warn() {}, info() {} };
    const common = {
      // Reconnect forever, backing off to at most 1 s: a node outlives any Redis outage.
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
      // Never queue a publish while disconnected: it would arrive late and out of step
      // with what sync already delivered, and the queue would grow without bound.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    } as const;
    this.pub = new Redis(options.url, { ...common, connectionName: `clipchat-pub-${this.nodeId}` });
    this.sub = new Redis(options.url, {
      ...common,
      // The subscriber needs its SUBSCRIBE queued until the connection is ready.
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
      connectionName: `clipchat-sub-${this.nodeId}`,
    });
    // ioredis emits 'error' on every failed (re)connect; without listeners the process dies.
    this.pub.on('error', (err: Error) =>
      this.log.warn({ err: err.message }, 'redis publisher error'),
    );
    this.sub.on('error', (err: Error) =>
      this.log.warn({ err: err.message }, 'redis subscriber error'),
    );
    this.pub.on('ready', () => {
      if (this.pendingResync) {
        this.pendingResync = false;
        this.sendResyncRequest();
      }
    });
    this.sub.on('ready', () => {
      // A (re)connection after start: whatever was published while we were away is gone
      // from pub/sub, so our clients must sync. Subscribing again is idempotent and its
      // reply tells us the subscription is live before clients are asked to sync, so
      // nothing published after their sync query can slip past both.
      if (!this.started || this.closed) return;
      this.sub.subscribe(this.channel).then(
        () => {
          this.log.info(
            { node: this.nodeId },
            'redis subscription restored; asking clients to sync',
          );
          this.emitResync();
        },
        () => {},
      );
    });
    this.sub.on('messageBuffer', (_ch: Buffer, payload: Buffer) => this.onMessage(payload));
  }

  /**
   * Connects both sides and subscribes; resolves once the subscription is live and the
   * publisher is ready (so a publish right after start reaches the other nodes), or after
   * `timeoutMs` when Redis is down (it keeps retrying, and a resync follows when it is back).
   */
  async start(timeoutMs = 5000): Promise<void> {
    // A failed first connect is retried by ioredis on its own; the SUBSCRIBE waits in the
    // subscriber's queue until then. Don't hold the node's start hostage to Redis.
    this.pub.connect().catch(() => {});
    this.sub.connect().catch(() => {});
    const abort = new AbortController();
    const subscribed = this.sub.subscribe(this.channel).then(
      () => true,
      () => false,
    );
    // The publisher connects on its own socket: without waiting for it, an event published
    // just after start finds it still connecting and is dropped (counted, resync later).
    const published =
      this.pub.status === 'ready'
        ? Promise.resolve(true)
        : once(this.pub, 'ready', { signal: abort.signal }).then(
            () => true,
            () => false,
          );
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      Promise.all([subscribed, published]).then(([s, p]) => s && p),
      new Promise<false>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    abort.abort();
    if (!ok)
      this.log.warn(
        { url: 'redis' },
        'redis not reachable at start; delivery between nodes resumes when it is',
      );
    this.started = true;
  }

  /** Delivers `event` to this node's subscribers now and to other nodes via Redis. */
  async publish(event: E): Promise<void> {
    if (this.closed) return;
    this.deliver(event);
    this.outbox.push(event);
    if (this.outbox.length >= MAX_BATCH) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends the events published so far in this turn, in order, as one PUBLISH. */
  private flush(): void {
    this.flushScheduled = false;
    if (!this.outbox.length) return;
    const es = this.outbox;
    this.outbox = [];
    this.send(es.length === 1 ? { o: this.nodeId, e: es[0]! } : { o: this.nodeId, es });
  }

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(handler: Handler<E>): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /** Called whenever clients of this node should sync (see the class comment). */
  onResync(handler: () => void): () => void {
    this.resyncHandlers.add(handler);
    return () => {
      this.resyncHandlers.delete(handler);
    };
  }

  /** Sockets per user counted in Redis over every node (see {@link RedisSocketSlots}); closed with the bus. */
  socketSlots(ttlMs: number): SocketSlots {
    const slots = new RedisSocketSlots({
      redis: this.pub,
      prefix: this.prefix,
      ttlMs,
      log: this.log,
    });
    this.slots.add(slots);
    return slots;
  }

  private readonly slots = new Set<SocketSlots | PresenceTracker>();

  /** Who is connected, counted in Redis over every node (see {@link RedisPresence}); closed with the bus. */
  presence(ttlMs: number): PresenceTracker {
    const p = new RedisPresence({ redis: this.pub, prefix: this.prefix, ttlMs, log: this.log });
    this.slots.add(p);
    return p;
  }

  /** True while both connections are up. */
  get connected(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // What this turn published still goes out before the connections close.
    this.flush();
    this.closed = true;
    this.handlers.clear();
    this.resyncHandlers.clear();
    for (const s of this.slots) s.close();
    await Promise.all([quit(this.pub), quit(this.sub)]);
  }

  private send(envelope: Envelope<E>): void {
    if (this.pub.status !== 'ready') {
      this.markDropped();
      return;
    }
    this.published++;
    this.pub.publish(this.channel, JSON.stringify(envelope)).catch(() => this.markDropped());
  }

  private markDropped(): void {
    this.dropped++;
    this.pendingResync = true;
  }

  private sendResyncRequest(): void {
    this.log.info({ node: this.nodeId }, 'redis publisher restored; asking other nodes to sync');
    this.flush();
    this.send({ o: this.nodeId, r: 1 });
  }

  private onMessage(payload: Buffer): void {
    // Our own echo (already delivered locally): recognised by its first bytes, not parsed.
    if (
      payload.length > this.ownPrefix.length &&
      payload.subarray(0, this.ownPrefix.length).equals(this.ownPrefix) &&
      (payload[this.ownPrefix.length] === 0x2c || payload[this.ownPrefix.length] === 0x7d)
    )
      return;
    let envelope: Envelope<E>;
    try {
      envelope = JSON.parse(payload.toString('utf8')) as Envelope<E>;
    } catch {
      this.log.warn({ bytes: payload.length }, 'malformed bus message ignored');
      return;
    }
    if (envelope.o === this.nodeId) return; // already delivered locally
    if (envelope.r) return this.emitResync();
    if (Array.isArray(envelope.es)) {
      this.received += envelope.es.length;
      for (const e of envelope.es) this.deliver(e);
      return;
    }
    if (envelope.e === undefined) return;
    this.received++;
    this.deliver(envelope.e);
  }

  private deliver(event: E): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        this.log.warn({ err: String(err) }, 'bus subscriber threw');
      }
    }
  }

  private emitResync(): void {
    for (const h of this.resyncHandlers) {
      try {
        h();
      } catch (err) {
        this.log.warn({ err: String(err) }, 'resync handler threw');
      }
    }
  }
}

async function quit(r: Redis): Promise<void> {
  try {
    if (r.status === 'ready') await r.quit();
    else r.disconnect();
  } catch {
    r.disconnect();
  }
}

/** Creates and starts the {@link Bus} of a node in a cluster (see {@link RedisBus}). */
export async function createRedisBus(options: RedisBusOptions): Promise<RedisBus<BusEvent> & Bus> {
  const bus = new RedisBus<BusEvent>(options);
  await bus.start();
  return bus;
}
