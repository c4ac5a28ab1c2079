import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { KeyValueStore } from './kv.js';
import type { SessionCache } from './session-cache.js';

/** The pub/sub channel every instance listens on. */
export const SESSION_EVENTS_CHANNEL = 'bff:session-events';
/** The message that says a session (by storageId) changed or ended. */
export const changedMessage = (storageId: string) => `changed:${storageId}`;

const CHANGED = 'changed:';
const HEARTBEAT_MS = 500;
const PUBLISH_ATTEMPTS = 3;
/** Without its own heartbeat back for this long, an instance stops trusting its cache. */
const HEARTBEAT_TIMEOUT_MS = 2500;

/**
 * Keeps every instance's {@link SessionCache} exact through Redis pub/sub, which works the same on
 * standalone Redis, Sentinel and Cluster (a Cluster forwards every PUBLISH to every node).
 *
 * - A writer calls `changed(storageId)` after each write to a session and before it answers: every
 *   instance, this one included, drops its copy.
 * - The instance publishes a heartbeat every 500 ms and only trusts its cache while its own
 *   heartbeats come back: a lost, reconnecting or silently stalled subscription (messages may
 *   have been missed) empties the cache, and calls read Redis until the heartbeats return. When
 *   Redis is gone, that read fails and the call gets 503 as it always did.
 */
export class SessionSync {
  readonly #beat = `beat:${randomBytes(9).toString('base64url')}`;
  readonly #listeners = new Set<(storageId: string) => void>();
  #lastBeatAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly cache: SessionCache,
    private readonly log: Logger,
  ) {}

  /** Subscribes and starts the heartbeat; the cache goes live when the first heartbeat returns. */
  async start(): Promise<void> {
    this.#unsubscribe = await this.kv.subscribe(
      SESSION_EVENTS_CHANNEL,
      (message) => this.#receive(message),
      () => this.#down('subscription lost'),
    );
    this.#timer = setInterval(() => this.#heartbeat(), HEARTBEAT_MS).unref();
    this.#heartbeat();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.cache.setLive(false);
    await this.#unsubscribe?.();
  }

  /**
   * Tells every instance that the session with this storageId changed or ended. Resolves once Redis
   * took the message; a failure is logged, not thrown (the write it follows already happened,
   * and an instance that cannot reach Redis stops trusting its cache by itself).
   */
  async changed(storageId: string): Promise<void> {
    this.cache.invalidate(storageId);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.kv.publish(SESSION_EVENTS_CHANNEL, changedMessage(storageId));
        return;
      } catch (error) {
        // A reconnect between the write and its announcement: try again briefly, since other
        // instances would otherwise serve the old record until their copy is re-read.
        if (attempt < PUBLISH_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
          continue;
        }
        this.#down('publish failed');
        this.log.error(
          { err: String(error) },
          'could not announce a session change: other instances may serve it for up to min(60 s, idle/10)',
        );
        return;
      }
    }
  }

  /** Calls `listener` with the storageId of every session that changed or ended, on any instance. */
  onChange(listener: (storageId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #receive(message: string): void {
    if (message === this.#beat) {
      this.#lastBeatAt = Date.now();
      if (!this.cache.live) {
        this.cache.setLive(true);
        this.log.info('session cache live: every change to a session is heard');
      }
      return;
    }
    if (!message.startsWith(CHANGED)) return; // another instance's heartbeat
    const storageId = message.slice(CHANGED.length);
    this.cache.invalidate(storageId);
    for (const listener of this.#listeners) listener(storageId);
  }

  #heartbeat(): void {
    if (Date.now() - this.#lastBeatAt > HEARTBEAT_TIMEOUT_MS) this.#down('no heartbeat');
    this.kv.publish(SESSION_EVENTS_CHANNEL, this.#beat).catch(() => this.#down('heartbeat not sent'));
  }

  #down(reason: string): void {
    if (!this.cache.live) return;
    this.cache.setLive(false);
    this.log.warn({ reason }, 'session cache off until Redis pub/sub is back: every call reads Redis');
  }
}
