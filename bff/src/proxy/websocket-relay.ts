import { WebSocket, type RawData } from 'ws';
import { WEBSOCKET_CLOSE } from '../../../shared/src/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { LiveCloseReason, LiveConnections } from './live-connections.js';

/** Pause reading one side while this much is still queued for the other (backpressure). */
const HIGH_WATER_BYTES = 1024 * 1024;
/** How often the browser leg is pinged; no pong by the next ping ends the connection. */
const PING_MS = 30_000;
/** A peer that never answers our close handshake is cut after this. */
const CLOSE_GRACE_MS = 2_000;

export interface RelayLimits {
  /** A receiver that reads nothing for this long while the sender waits is cut (the route's timeout). */
  stallMs: number;
  /** A message may take this long to arrive whole (API_BODY_TIMEOUT_MS); close 1008 after it. */
  messageMs: number;
}

/**
 * Relays frames between an upgraded browser leg and its upstream leg until either side closes
 * (a close on one side closes the other), registered with `live` so the session's end closes
 * it. What one socket can hold is bounded: a message above WS_MAX_MESSAGE_BYTES closes it
 * (1009, by `ws`'s maxPayload on both legs), a message still arriving after `messageMs`
 * closes it (1008), and at most HIGH_WATER_BYTES wait for a slow receiver before the sender is
 * paused.
 */
export function relayWebSocket(
  browser: WebSocket,
  upstream: WebSocket,
  sessionId: string | undefined,
  limits: RelayLimits,
  deps: { live: LiveConnections; metrics: Metrics; log: Logger },
): void {
  const { live, metrics, log } = deps;
  let closedBy: string | undefined;
  const terminateBoth = () => {
    browser.terminate();
    upstream.terminate();
  };
  const connection = {
    kind: 'websocket' as const,
    close(reason: LiveCloseReason) {
      closedBy ??= reason;
      const ended = reason === 'session_ended';
      const text = ended ? 'session ended' : 'going away';
      browser.close(ended ? WEBSOCKET_CLOSE.sessionEnded : WEBSOCKET_CLOSE.goingAway, text);
      upstream.close(ended ? 1000 : WEBSOCKET_CLOSE.goingAway, text);
      setTimeout(terminateBoth, CLOSE_GRACE_MS).unref();
    },
  };
  const forget = live.add(sessionId, connection);
  forward(browser, upstream, limits.stallMs);
  forward(upstream, browser, limits.stallMs);
  const stopWatching = watch(browser, limits.messageMs, {
    missedPong() {
      closedBy ??= 'browser';
      terminateBoth();
    },
    messageTooSlow() {
      closedBy ??= 'message_deadline';
      browser.close(WEBSOCKET_CLOSE.policyViolation, 'message took too long');
      upstream.close(1000, 'going away');
      setTimeout(terminateBoth, CLOSE_GRACE_MS).unref();
    },
  });
  browser.once('close', (code, reason) => {
    closedBy ??= 'browser';
    closeWith(upstream, code, reason);
  });
  upstream.once('close', (code, reason) => {
    closedBy ??= 'upstream';
    closeWith(browser, code, reason);
  });
  let closes = 0;
  const closed = () => {
    if (++closes < 2) return;
    stopWatching();
    forget();
    metrics.liveConnectionsClosed.inc({ kind: 'websocket', reason: closedBy ?? 'error' });
  };
  browser.once('close', closed);
  upstream.once('close', closed);
  for (const side of [browser, upstream]) {
    side.on('error', (error) => {
      closedBy ??= 'error';
      log.debug({ err: String(error) }, 'websocket relay error');
      // For a protocol error (a message above WS_MAX_MESSAGE_BYTES: 1009) `ws` has just queued its
      // close frame: cutting the socket now would lose it (the peer would see 1006). The close
      // handlers above pass the close on; whatever is still open after the grace is cut.
      setTimeout(terminateBoth, CLOSE_GRACE_MS).unref();
    });
  }
}

/**
 * The browser leg's two clocks, on one timer: a ping every PING_MS (no pong by the next one:
 * the browser vanished), and the age of the message it is sending (still unfinished after
 * `messageMs`: a peer pinning memory with a message it never completes).
 */
function watch(browser: WebSocket, messageMs: number, on: { missedPong(): void; messageTooSlow(): void }): () => void {
  const tick = Math.min(PING_MS, Math.max(50, Math.floor(messageMs / 4)));
  let answered = true;
  let lastPing = performance.now();
  let messages = 0;
  let partialSince: { at: number; messages: number } | undefined;
  browser.on('pong', () => (answered = true));
  browser.on('message', () => messages++);
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - lastPing >= PING_MS) {
      if (!answered) return on.missedPong();
      answered = false;
      lastPing = now;
      browser.ping();
    }
    // The same message still in progress since the tick that first saw it: how long it has taken.
    if (partialMessageBytes(browser) === 0 || partialSince?.messages !== messages) {
      partialSince = partialMessageBytes(browser) === 0 ? undefined : { at: now, messages };
    } else if (now - partialSince.at >= messageMs) {
      on.messageTooSlow();
    }
  }, tick).unref();
  return () => clearInterval(timer);
}

/**
 * Bytes of the message `ws` is assembling from this peer (0 between messages). `ws` has no
 * public flag for a half-received message; its receiver's running total is exactly that
 * (counted from each frame header, reset when a message completes), so it is read here, in one
 * place, and the message-deadline test fails if a `ws` upgrade ever changes it.
 */
function partialMessageBytes(socket: WebSocket): number {
  return (socket as unknown as { _receiver?: { _totalPayloadLength?: number } })._receiver?._totalPayloadLength ?? 0;
}

/**
 * Sends each message on, pausing the sender while the receiver has too much queued. A receiver
 * that reads nothing for `stallMs` while the sender waits is cut, as a slow HTTP reader is.
 */
function forward(from: WebSocket, to: WebSocket, stallMs: number): void {
  let stalled: NodeJS.Timeout | undefined;
  from.on('message', (data: RawData, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < HIGH_WATER_BYTES / 2) {
        clearTimeout(stalled);
        from.resume();
      }
    });
    if (to.bufferedAmount > HIGH_WATER_BYTES && !from.isPaused) {
      from.pause();
      stalled = setTimeout(() => {
        from.terminate();
        to.terminate();
      }, stallMs).unref();
    }
  });
  from.once('close', () => clearTimeout(stalled));
}

/** Passes a close on: codes a peer may send are kept, the others (1005, 1006, 1015) become 1000. */
function closeWith(to: WebSocket, code: number, reason: Buffer): void {
  if (to.readyState === WebSocket.CLOSED || to.readyState === WebSocket.CLOSING) return;
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  to.close(sendable ? code : 1000, sendable ? reason : undefined);
}
