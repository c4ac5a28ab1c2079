import { ERROR_CODES, SESSION_END_REASONS, type ErrorCode, type SessionEndReason } from '../../shared/src/index.js';
import type { Logger } from './logger.js';

/**
 * Everything about failures but their writing: the error type, the factories, the mapping of any
 * thrown value to what a client may see, and the log line. A leaf: it imports nothing of the BFF
 * (the one writer of every error answer is `http/error-response.ts`).
 */

/**
 * An HTTP failure the client may see: `status`, a stable `code` and a safe `message`.
 * `expose` follows Koa's rule (true below 500); `cause` is for the log only.
 */
export class HttpError extends Error {
  readonly expose: boolean;
  /** Extra response headers that are safe to send (e.g. Retry-After). */
  readonly headers: Record<string, string> | undefined;
  /** Heading of the HTML page, when this failure is answered with one. */
  readonly title: string | undefined;
  /** More members of the JSON body, safe to send (e.g. a step-up's `acr_values`). */
  readonly details: Record<string, string | number> | undefined;
  /** Why there is no session: only on 401 `unauthenticated`. */
  readonly reason: SessionEndReason | undefined;
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options?: {
      cause?: unknown;
      headers?: Record<string, string>;
      title?: string;
      details?: Record<string, string | number>;
      reason?: SessionEndReason;
    },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.expose = status < 500;
    this.headers = options?.headers;
    this.title = options?.title;
    this.details = options?.details;
    this.reason = options?.reason;
  }
}

/** nginx's convention for "the client closed the connection before the answer was complete". */
export const CLIENT_CLOSED = 499;

/** The safe message of each 401, by reason (the SPA words its own view from the reason alone). */
const UNAUTHENTICATED_MESSAGES: Record<SessionEndReason, string> = {
  [SESSION_END_REASONS.noSession]: 'Sign in to continue.',
  [SESSION_END_REASONS.idleTimeout]: 'Your session timed out after a period without activity. Please sign in again.',
  [SESSION_END_REASONS.absoluteTimeout]: 'Your session reached its time limit. Please sign in again.',
  [SESSION_END_REASONS.signedOut]: 'You signed out. Sign in to continue.',
  [SESSION_END_REASONS.endedElsewhere]: 'Your session was ended elsewhere. Please sign in again.',
  [SESSION_END_REASONS.refreshRefused]: 'Your sign-in could not be renewed. Please sign in again.',
};
/** 401 `unauthenticated` with why there is no session (see SessionStore.whyEnded). */
export const unauthenticated = (reason: SessionEndReason) =>
  new HttpError(401, ERROR_CODES.unauthenticated, UNAUTHENTICATED_MESSAGES[reason], { reason });
export const unavailable = (message: string, cause?: unknown) => new HttpError(503, ERROR_CODES.unavailable, message, { cause });
export const badRequest = (message: string, title?: string) => new HttpError(400, ERROR_CODES.badRequest, message, { title });
export const csrfRefused = () =>
  new HttpError(403, ERROR_CODES.csrf, 'This request is missing the anti-forgery header or came from another site.');
export const forbidden = (message: string, cause?: unknown) => new HttpError(403, ERROR_CODES.forbidden, message, { cause });
export const notFound = () => new HttpError(404, ERROR_CODES.notFound, 'Not found.');
/** The same answer for a handle of nobody and one of another user: handles cannot be probed. */
export const sessionNotFound = () => new HttpError(404, ERROR_CODES.notFound, 'That session does not exist or has already ended.');
/** The connection is closed after these: the rest of the body is never read. */
export const bodyTooLarge = () =>
  new HttpError(413, ERROR_CODES.tooLarge, 'The request body is too large.', { headers: { connection: 'close' } });
export const gatewayTimeout = (message = 'The API did not answer in time.', cause?: unknown) =>
  new HttpError(504, ERROR_CODES.gatewayTimeout, message, { cause });
export const bodyStalled = () =>
  new HttpError(408, ERROR_CODES.requestTimeout, 'The request body stopped arriving.', { headers: { connection: 'close' } });

const KNOWN_CLIENT_ERRORS: Record<number, [ErrorCode, string]> = {
  404: [ERROR_CODES.notFound, 'Not found.'],
  405: [ERROR_CODES.badRequest, 'This method is not allowed here.'],
  413: [ERROR_CODES.tooLarge, 'The request is too large.'],
  429: [ERROR_CODES.tooManyRequests, 'Too many requests. Please wait and try again.'],
};
/** Headers of a thrown http-error that may reach the client. */
const SAFE_THROWN_HEADERS = ['retry-after', 'allow'];

/** Maps anything thrown to what the client may see; unknown errors are a generic 500. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  // Koa and its router throw http-errors with `status`, `expose` and `headers`.
  const { status, headers, expose, message } = error as {
    status?: unknown;
    headers?: Record<string, unknown>;
    expose?: boolean;
    message?: string;
  };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = KNOWN_CLIENT_ERRORS[status] ?? [ERROR_CODES.badRequest, 'The request is not valid.'];
    // Only the rate limiter's message (marked safe by http-errors' `expose`) replaces ours.
    const text = expose && typeof message === 'string' && status === 429 ? message : known[1];
    const safe: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers ?? {}))
      if (SAFE_THROWN_HEADERS.includes(name.toLowerCase())) safe[name.toLowerCase()] = String(value);
    return new HttpError(status, known[0], text, { cause: error, headers: safe });
  }
  return new HttpError(500, ERROR_CODES.internal, 'Something went wrong on our side.', { cause: error });
}

/** Server failures go to the log with their cause; refusals only at debug level. */
export function logFailure(log: Logger, failure: HttpError, error: unknown, path: string): void {
  if (failure.status >= 500 && failure.status !== CLIENT_CLOSED) {
    log.error({ err: describeError(failure.cause ?? error), status: failure.status, path }, 'request failed');
  } else {
    log.debug({ status: failure.status, code: failure.code, path }, 'request refused');
  }
}

/** A log-safe description of an error: code and message, never request bodies. */
export function describeError(error: unknown): { errorCode?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { errorCode: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { message: String(error) };
}
