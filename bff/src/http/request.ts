/**
 * What every request the BFF answers has, whichever side answers it (the Koa app or the raw
 * proxy): an id, a path without its query, a bounded route class for metrics, and the record it
 * leaves (latency observation, access log line). Framework-free: `middleware/` adapts it to Koa.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BFF_PATHS } from '../../../shared/src/index.js';
import { CLIENT_CLOSED } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const KNOWN_BFF_PATHS = new Set<string>(Object.values(BFF_PATHS));

/** The path of a request target without its query: query strings can carry codes and states, and never reach a log. */
export function pathOf(url: string): string {
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? url : url.slice(0, queryAt);
}

/** The caller's `X-Request-Id` when well formed (so traces join up), else a new one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && WELL_FORMED_ID.test(given) ? given : randomUUID();
}

/**
 * The route class a path belongs to, for metric labels. Bounded on purpose: a label per
 * arbitrary path would let anyone grow the metrics without limit.
 */
export function routeClass(path: string): string {
  if (KNOWN_BFF_PATHS.has(path)) return path;
  if (path.startsWith(`${BFF_PATHS.sessions}/`)) return `${BFF_PATHS.sessions}/:handle`;
  if (path.startsWith('/bff/')) return '/bff/other';
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return 'health';
  return 'static';
}

/** What one finished request leaves behind: a latency observation and, for 5xx or at debug level, a log line. */
export function recordRequest(
  log: Logger,
  metrics: Metrics,
  /** `url` may carry a query: only the path before it is ever used. */
  request: { requestId: string; method: string; url: string; route?: string; status: number; seconds: number },
): void {
  const { requestId, method, url, status, seconds } = request;
  metrics.requests.observe(seconds, request.route ?? routeClass(pathOf(url)), method, String(status));
  const serverFailure = status >= 500 && status !== CLIENT_CLOSED;
  if (serverFailure || log.isLevelEnabled('debug')) {
    log[serverFailure ? 'warn' : 'debug']({ requestId, method, path: pathOf(url), status, ms: Math.round(seconds * 1000) }, 'request');
  }
}
