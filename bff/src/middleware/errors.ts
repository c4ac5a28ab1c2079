import type { Context, Next } from 'koa';
import { ERROR_CODES, type ErrorBody } from '../../../shared/src/index.js';
import { HttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../oidc/provider.js';
import { StoreUnavailableError } from '../session/kv.js';

/**
 * The one error path. Known failures map to a status and a JSON body `{ error, message }`;
 * anything else is a 500 with a generic message. The client never sees a stack, a cause or a
 * token; the log gets the cause (through the redacting logger).
 */
export function errorHandler(log: Logger) {
  return async function errorHandler(ctx: Context, next: Next) {
    try {
      await next();
    } catch (error) {
      const failure = toHttpError(error);
      if (failure.status >= 500) log.error({ err: describe(failure.cause ?? error), status: failure.status, path: ctx.path }, 'request failed');
      else log.debug({ status: failure.status, code: failure.code, path: ctx.path }, 'request refused');
      if (ctx.respond === false || ctx.headerSent) return; // the response is already on its way
      ctx.status = failure.status;
      ctx.set('Cache-Control', 'no-store');
      for (const [name, value] of Object.entries(failure.headers ?? {})) ctx.set(name, value);
      ctx.body = { error: failure.code, message: failure.message } satisfies ErrorBody;
    }
  };
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreUnavailableError) {
    return new HttpError(503, ERROR_CODES.unavailable, 'The service is temporarily unavailable. Please try again shortly.', { cause: error });
  }
  // Koa and its body parsers throw http-errors with `status` and `expose`.
  const status = (error as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = status === 413 ? ERROR_CODES.tooLarge : status === 404 ? ERROR_CODES.notFound : ERROR_CODES.badRequest;
    return new HttpError(status, code, status === 413 ? 'The request is too large.' : 'The request is not valid.', { cause: error });
  }
  return new HttpError(500, ERROR_CODES.internal, 'Something went wrong on our side.', { cause: error });
}
