import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The route class a path belongs to, for metric labels of bounded cardinality. */
function routeClass(ctx: Context): string {
  if (ctx.state.routeClass) return ctx.state.routeClass as string;
  if (ctx.path.startsWith('/bff/')) return ctx.path;
  if (ctx.path === '/healthz' || ctx.path === '/readyz' || ctx.path === '/metrics') return 'health';
  return 'static';
}

/**
 * Gives each request an id (the caller's `X-Request-Id` when well formed, else a new one),
 * echoes it, forwards it upstream, times the request and writes one access-log line.
 */
export function requestContext(log: Logger, metrics: Metrics) {
  return async function requestContext(ctx: Context, next: Next) {
    const started = performance.now();
    const given = ctx.req.headers['x-request-id'];
    const requestId = typeof given === 'string' && WELL_FORMED_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      metrics.requests.observe({ route: routeClass(ctx), method: ctx.method, status: String(status) }, seconds);
      if (log.isLevelEnabled('debug') || status >= 500) {
        // The path only: query strings can carry codes and states.
        log[status >= 500 ? 'warn' : 'debug']({ requestId, method: ctx.method, path: ctx.path, status, ms: Math.round(seconds * 1000) }, 'request');
      }
    }
  };
}
