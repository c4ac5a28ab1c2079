import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.js';
import type { LiveCloseReason, LiveConnections } from './live-connections.js';

/**
 * `text/event-stream` answers as live connections: registered under their call's session (so
 * they end with it, on every instance) and counted while open.
 */
export function eventStreams(live: LiveConnections, metrics: Metrics) {
  return {
    /** Registers the stream of `call`; returns what to call when the upstream finished or failed. */
    add(call: { sessionId: string | undefined; req: IncomingMessage; res: ServerResponse }, stream: { end(): void }): () => void {
      let closedBy: LiveCloseReason | 'browser' | 'upstream' | undefined;
      const forget = live.add(call.sessionId, {
        kind: 'event_stream',
        close(reason) {
          closedBy ??= reason;
          stream.end();
        },
      });
      const browserLeft = () => {
        closedBy ??= 'browser';
        done();
      };
      call.res.once('close', browserLeft);
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        call.res.off('close', browserLeft);
        forget();
        metrics.liveConnectionsClosed.inc({ kind: 'event_stream', reason: closedBy ?? 'upstream' });
      };
      return done;
    },
  };
}
