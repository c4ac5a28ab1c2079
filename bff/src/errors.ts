import { ERROR_CODES, type ErrorCode } from '../../shared/src/index.js';

/**
 * An HTTP failure the client may see: `status`, a stable `code` and a safe `message`.
 * `expose` follows Koa's rule (true below 500); `cause` is for the log only.
 */
export class HttpError extends Error {
  readonly expose: boolean;
  /** Extra response headers that are safe to send (e.g. Retry-After). */
  readonly headers: Record<string, string> | undefined;
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.expose = status < 500;
    this.headers = options?.headers;
  }
}

export const unauthenticated = (message = 'Sign in to continue.') =>
  new HttpError(401, ERROR_CODES.unauthenticated, message);
export const unavailable = (message: string, cause?: unknown) =>
  new HttpError(503, ERROR_CODES.unavailable, message, { cause });
export const badRequest = (message: string) => new HttpError(400, ERROR_CODES.badRequest, message);
