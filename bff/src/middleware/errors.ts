import type { Context, Next } from 'koa';
import { BFF_PATHS, ERROR_CODES, type ErrorBody, type ErrorCode } from '../../../shared/src/index.js';
import { HttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../oidc/client.js';
import { errorPage } from '../pages.js';
import { StoreUnavailableError } from '../session/kv.js';
import { baseSecurityHeaders } from './security-headers.js';

const NAVIGATIONS = new Set<string>([BFF_PATHS.login, BFF_PATHS.callback, BFF_PATHS.logout]);

/** Server failures go to the log with their cause; refusals only at debug level. */
export function logFailure(log: Logger, failure: HttpError, error: unknown, path: string): void {
  if (failure.status >= 500) log.error({ err: describe(failure.cause ?? error), status: failure.status, path }, 'request failed');
  else log.debug({ status: failure.status, code: failure.code, path }, 'request refused');
}

/** Headers of every JSON error answer, wherever it is written: never cached, never sniffed. */
export function failureHeaders(options: { hsts: boolean }): Record<string, string> {
  return { ...baseSecurityHeaders(options), 'cache-control': 'no-store' };
}

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
      logFailure(log, failure, error, ctx.path);
      if (ctx.headerSent) return; // the response is already on its way
      if (NAVIGATIONS.has(ctx.path)) {
        // The browser navigated here (sign-in, sign-out): it expects a page, not JSON.
        errorPage(ctx, failure.status, failure.status >= 500 ? 'Temporarily unavailable' : 'Request refused', failure.message);
        for (const [name, value] of Object.entries(failure.headers ?? {})) ctx.set(name, value);
        return;
      }
      ctx.status = failure.status;
      ctx.set('Cache-Control', 'no-store');
      for (const [name, value] of Object.entries(failure.headers ?? {})) ctx.set(name, value);
      ctx.body = { error: failure.code, message: failure.message } satisfies ErrorBody;
    }
  };
}

const KNOWN_CLIENT_ERRORS: Record<number, [ErrorCode, string]> = {
  404: [ERROR_CODES.notFound, 'Not found.'],
  405: [ERROR_CODES.badRequest, 'This method is not allowed here.'],
  413: [ERROR_CODES.tooLarge, 'The request is too large.'],
  429: [ERROR_CODES.tooManyRequests, 'Too many requests. Please wait and try again.'],
};

function pickSafeHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  const safe: Record<string, string> = {};
  for (const name of ['Retry-After', 'Allow', 'allow', 'retry-after']) if (headers[name] !== undefined) safe[name] = String(headers[name]);
  return safe;
}

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreUnavailableError) {
    return new HttpError(503, ERROR_CODES.unavailable, 'The service is temporarily unavailable. Please try again shortly.', { cause: error });
  }
  // Koa and its body parsers throw http-errors with `status` and `expose`.
  const { status, headers, expose, message } = error as { status?: unknown; headers?: Record<string, string>; expose?: boolean; message?: string };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = KNOWN_CLIENT_ERRORS[status] ?? [ERROR_CODES.badRequest, 'The request is not valid.'];
    // Only messages the thrower marked safe (http-errors' `expose`) replace ours.
    const text = expose && typeof message === 'string' && status === 429 ? message : known[1];
    return new HttpError(status, known[0], text, { cause: error, headers: pickSafeHeaders(headers) });
  }
  return new HttpError(500, ERROR_CODES.internal, 'Something went wrong on our side.', { cause: error });
}
