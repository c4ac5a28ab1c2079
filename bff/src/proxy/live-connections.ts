import type { HttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SessionSync } from '../session/session-sync.js';
import type { SessionStore } from '../session/sessions.js';
import { Budget, overBudget, type Owner, type Slot } from './budget.js';

export type LiveKind = 'websocket' | 'event_stream';
/** Why the BFF closed a live connection itself (the browser's or upstream's own closes are counted as such). */
export type LiveCloseReason = 'session_ended' | 'shutdown';

/** A WebSocket or an event stream held open through the proxy. */
export interface LiveConnection {
  readonly kind: LiveKind;
  /** Closes both legs; for a WebSocket with 4401 (session ended) or 1001 (going away). */
  close(reason: LiveCloseReason): void;
}

/** How often sessions with live connections are checked for an idle or absolute end (no code runs then). */
const SWEEP_MS = 2_000;
/** Sessions checked at once by a sweep. */
const SWEEP_BATCH = 50;
/** Live connections one session may hold on one instance (tabs × sockets and streams). */
const MAX_LIVE_PER_SESSION = 16;
/** Live connections without a session (token=none or client routes) on one instance. */
const MAX_LIVE_ANONYMOUS = 1000;
/** Of those, what one client address may hold. */
const MAX_LIVE_PER_ADDRESS = 32;
/** Live connections of signed-in sessions on one instance (each holds two sockets and an upstream connection). */
const MAX_LIVE_SIGNED_IN = 20_000;

/**
 * The long-lived answers of this instance (WebSockets, `text/event-stream` responses), by the
 * storage storageId of the session they belong to, closed when that session ends, on every
 * instance (docs/real-time.md):
 *
 * - an ended session (sign-out, back-channel logout, revocation by the user, a refused refresh)
 *   announces itself through {@link SessionSync}: the instance checks that session and closes
 *   its connections within milliseconds;
 * - idle and absolute timeouts run no code anywhere, so every 2 s the sessions that hold live
 *   connections are checked (one non-sliding read each: an open socket alone does not keep a
 *   session alive).
 */
export class LiveConnections {
  readonly #byStorageId = new Map<string, Set<LiveConnection>>();
  /** Connections on routes without a session (token=none or client). */
  readonly #anonymous = new Set<LiveConnection>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #stopListening: () => void;
  #sweeping = false;
  /** Set at shutdown: anything registering later is closed at once. */
  #closed = false;
  /** Reservations, taken at admission (before any await) and released when the connection ends. */
  readonly #budget = new Budget({
    session: { each: MAX_LIVE_PER_SESSION, total: MAX_LIVE_SIGNED_IN },
    address: { each: MAX_LIVE_PER_ADDRESS, total: MAX_LIVE_ANONYMOUS },
  });
  /** How many live connections this instance admits at most (sizes the event-stream pools). */
  readonly capacity = MAX_LIVE_SIGNED_IN + MAX_LIVE_ANONYMOUS;

  constructor(
    private readonly sessions: SessionStore,
    sync: SessionSync,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.#stopListening = sync.onChange((storageId) => {
      if (this.#byStorageId.has(storageId)) void this.#check(storageId);
    });
    this.#sweeper = setInterval(() => void this.#sweep(), SWEEP_MS).unref();
  }

  /**
   * Reserves one live connection for `owner` (the session its cookie names, or its address), in
   * one step: null when the owner or the instance holds its share already. Live connections hold
   * upstream connections and sockets until they end. Release the slot when the connection (or
   * its handshake) ends, whichever way.
   */
  reserve(owner: Owner): Slot | null {
    return this.#budget.take(owner);
  }

  /** The answer to a connection {@link reserve} refused (429; a WebSocket never opens). */
  refusal(): HttpError {
    return overBudget('Too many live connections are open. Close some and try again.');
  }

  /**
   * Registers a connection of the session with this id (none: a route without a session, closed
   * only at shutdown); returns the function that forgets it (call it once it closed).
   */
  add(sessionId: string | undefined, connection: LiveConnection): () => void {
    const storageId = sessionId === undefined ? undefined : this.sessions.storageIdOf(sessionId);
    let connections = storageId === undefined ? this.#anonymous : this.#byStorageId.get(storageId);
    if (!connections) this.#byStorageId.set(storageId!, (connections = new Set()));
    connections.add(connection);
    this.metrics.liveConnections.inc({ kind: connection.kind });
    if (this.#closed) queueMicrotask(() => connection.close('shutdown'));
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.metrics.liveConnections.dec({ kind: connection.kind });
      connections.delete(connection);
      if (storageId !== undefined && connections.size === 0 && this.#byStorageId.get(storageId) === connections)
        this.#byStorageId.delete(storageId);
    };
  }

  /** How many connections of this kind are open. */
  count(kind: LiveKind): number {
    let total = 0;
    for (const connections of [this.#anonymous, ...this.#byStorageId.values()])
      for (const connection of connections) if (connection.kind === kind) total++;
    return total;
  }

  /** Closes every live connection (graceful shutdown: "going away"), and any that registers later. */
  closeAll(): void {
    this.#closed = true;
    for (const connections of [this.#anonymous, ...this.#byStorageId.values()])
      for (const connection of [...connections]) connection.close('shutdown');
  }

  stop(): void {
    clearInterval(this.#sweeper);
    this.#stopListening();
  }

  async #check(storageId: string): Promise<void> {
    let live: boolean;
    try {
      live = await this.sessions.isLive(storageId);
    } catch (error) {
      // Redis unreachable: the session may well be alive. Keep the connections; check again later.
      this.log.debug({ err: String(error) }, 'could not check a session with live connections');
      return;
    }
    if (live) return;
    const connections = this.#byStorageId.get(storageId);
    for (const connection of [...(connections ?? [])]) connection.close('session_ended');
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping) return; // a slow Redis must not pile sweeps up
    this.#sweeping = true;
    try {
      const storageIds = [...this.#byStorageId.keys()];
      for (let i = 0; i < storageIds.length; i += SWEEP_BATCH)
        await Promise.all(storageIds.slice(i, i + SWEEP_BATCH).map((storageId) => this.#check(storageId)));
    } finally {
      this.#sweeping = false;
    }
  }
}
