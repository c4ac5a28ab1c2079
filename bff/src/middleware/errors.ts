import type { Context, Next } from 'koa';
import { BFF_PATHS } from '../../../shared/src/index.js';
import { logFailure, toHttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import { writeError } from '../http/error-response.js';

/** Paths browsers navigate to: failures there are answered with a page, not JSON. */
const NAVIGATIONS = new Set<string>([BFF_PATHS.login, BFF_PATHS.callback, BFF_PATHS.logout]);

/**
 * The Koa side of the one error path: whatever a later middleware throws is logged and answered
 * by `writeError`, the same writer the proxy uses.
 */
export function errorHandler(log: Logger, options: { hsts: boolean }) {
  return async function errorHandler(ctx: Context, next: Next) {
    try {
      await next();
    } catch (error) {
      const failure = toHttpError(error);
      logFailure(log, failure, error, ctx.path);
      ctx.respond = false; // writeError answers on Node's response itself
      writeError(ctx.res, failure, { page: NAVIGATIONS.has(ctx.path), hsts: options.hsts, requestId: ctx.state.requestId as string });
      if (!ctx.res.writableEnded) ctx.res.destroy(); // headers were already out: cut the answer short
    }
  };
}
