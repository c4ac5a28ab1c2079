import { Pool } from 'undici';
import type { ApiRoute } from '../api-routes.js';

/** Pooled connections per upstream origin; a session's share is at most a quarter of them. */
const MIN_UPSTREAM_CONNECTIONS = 128;

/**
 * The proxy's keep-alive connections, per upstream origin: one pool for ordinary calls, sized so
 * one session's calls (`maxCallsPerSession`) hold at most a quarter of it, and one for event
 * streams, as many as the live-connection budget admits (`streamCapacity`), so streams never
 * hold up the pool that ordinary calls use.
 */
export function upstreamPools(routes: readonly ApiRoute[], maxCallsPerSession: number, streamCapacity: number) {
  const connections = Math.max(MIN_UPSTREAM_CONNECTIONS, 4 * maxCallsPerSession);
  const calls = new Map<string, Pool>();
  for (const route of routes) {
    const { origin } = route.upstream;
    if (!calls.has(origin)) calls.set(origin, new Pool(origin, { connections, keepAliveTimeout: 30_000 }));
  }
  const streams = new Map<string, Pool>();
  return {
    /** The pool for a call to `origin` (an event stream's own, when `eventStream`). */
    for(origin: string, eventStream: boolean): Pool {
      if (!eventStream) return calls.get(origin)!;
      let pool = streams.get(origin);
      if (!pool) streams.set(origin, (pool = new Pool(origin, { connections: streamCapacity, keepAliveTimeout: 5_000 })));
      return pool;
    },
    /** Closes every pool (graceful shutdown). */
    close: () => Promise.all([...calls.values(), ...streams.values()].map((pool) => pool.close())).then(() => undefined),
  };
}
