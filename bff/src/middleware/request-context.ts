import type { Context, Next } from 'koa';
import { recordRequest, requestIdOf } from '../http/request.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/**
 * Gives each request an id (the caller's `X-Request-Id` when well formed, else a new one),
 * echoes it, times the request and records it (metrics, access log).
 */
export function requestContext(log: Logger, metrics: Metrics) {
  return async function requestContext(ctx: Context, next: Next) {
    const started = performance.now();
    const requestId = requestIdOf(ctx.req.headers);
    ctx.state.requestId = requestId; // the error writer echoes it too
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      recordRequest(log, metrics, {
        requestId,
        method: ctx.method,
        url: ctx.path,
        status: ctx.status,
        seconds: (performance.now() - started) / 1000,
      });
    }
  };
}
