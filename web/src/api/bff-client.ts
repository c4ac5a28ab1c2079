import {
  BFF_PATHS,
  CSRF_HEADER,
  CSRF_HEADER_VALUE,
  ERROR_CODES,
  SLIDE_PARAM,
  type BffConfig,
  type BffStatus,
  type ErrorBody,
  type SessionEndReason,
  type SessionsEnded,
  type UserInfo,
  type UserSessions,
} from '../../../shared/src/index.js';
import { strings } from '../strings.js';
import { readStepUpAsk, reportStepUpRequired, type StepUpAsk } from '../step-up/step-up.js';
import { parseBffConfig, parseBffStatus, parseSessionEndReason, parseSessionsEnded, parseUserInfo, parseUserSessions } from './validate.js';

/**
 * A failed call: the HTTP status (0 when the server could not be reached), the BFF's error code
 * (see ERROR_CODES in the shared contract, or `network` / `http_error` / `bad_response` from this
 * client) and a message that is safe to show.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** With `step_up_required`: what the sign-in must bring. */
  readonly stepUp: StepUpAsk | undefined;
  /** On a 401: why there is no session, when the BFF said (see SESSION_END_REASONS). */
  readonly reason: SessionEndReason | undefined;

  constructor(status: number, code: string, message: string, stepUp?: StepUpAsk, reason?: SessionEndReason) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.stepUp = stepUp;
    this.reason = reason;
  }
}

export type UnauthorizedListener = (error: ApiError) => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/**
 * Subscribes to "the session ended": called whenever any call answers 401. The session controller
 * listens here so that a 401 anywhere shows the signed-out view. Returns the unsubscribe function.
 */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => {
    unauthorizedListeners.delete(listener);
  };
}

/** Tells every `onUnauthorized` listener that the session ended (a 401, or a live socket closed with 4401). */
export function reportUnauthorized(error: ApiError): void {
  for (const listener of [...unauthorizedListeners]) listener(error);
}

/** Messages for answers that carry no usable JSON error body. */
const FALLBACK_MESSAGES: Record<number, string> = {
  401: strings.errors.sessionEnded,
  503: strings.errors.unavailable,
};

/** Checks a 2xx JSON body: the value of the expected type, or undefined when the body is something else. */
export type Parse<T> = (body: unknown) => T | undefined;

/**
 * The one fetch helper. Same-origin only: always `X-CSRF: 1` and `credentials: 'same-origin'`
 * (the browser attaches the HttpOnly session cookie; this code never sees it). JSON bodies get a
 * content type; non-2xx answers become an ApiError; a 401 also notifies `onUnauthorized`
 * listeners. An aborted call rejects with the abort reason, untouched.
 * A typed answer needs `parse` (see ./validate.ts): a 2xx body it rejects (or an empty one)
 * becomes an ApiError `bad_response`, so views never render a body of the wrong shape.
 * Without `parse` the body comes back as `unknown`.
 */
export function request<T>(path: string, init: RequestInit & { parse: Parse<T> }, fetchImpl?: typeof fetch): Promise<T>;
export function request(path: string, init?: RequestInit, fetchImpl?: typeof fetch): Promise<unknown>;
export async function request(
  path: string,
  init: RequestInit & { parse?: Parse<unknown> } = {},
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<unknown> {
  const { parse, ...fetchInit } = init;
  const headers = new Headers(fetchInit.headers);
  headers.set(CSRF_HEADER, CSRF_HEADER_VALUE);
  if (typeof fetchInit.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  if (!headers.has('accept')) headers.set('accept', 'application/json');

  let response: Response;
  try {
    response = await fetchImpl(path, { ...fetchInit, headers, credentials: 'same-origin' });
  } catch (failure) {
    if (fetchInit.signal?.aborted) throw failure;
    throw new ApiError(0, 'network', strings.errors.network);
  }

  if (!response.ok) {
    const error = await toApiError(response);
    // A step-up leaves the session as it is: the prompt asks for it, the page stays signed in.
    if (error.stepUp) reportStepUpRequired(error.stepUp);
    else if (error.status === 401) reportUnauthorized(error);
    throw error;
  }
  let body: unknown;
  if (response.status !== 204 && response.status !== 205) {
    try {
      body = await response.json();
    } catch (failure) {
      if (fetchInit.signal?.aborted) throw failure;
      throw badResponse(response.status);
    }
  }
  if (!parse) return body;
  const value = parse(body);
  if (value === undefined) throw badResponse(response.status);
  return value;
}

function badResponse(status: number): ApiError {
  return new ApiError(status, 'bad_response', strings.errors.badResponse);
}

/** Turns a non-2xx answer into an ApiError, using the BFF's `{ error, message }` body when there is one. */
async function toApiError(response: Response): Promise<ApiError> {
  // Typed loosely on purpose: the body may come from anything in front of the API.
  let body: { [K in keyof ErrorBody | 'acr_values' | 'max_age']?: unknown } = {};
  try {
    const parsed: unknown = await response.json();
    if (parsed !== null && typeof parsed === 'object') body = parsed as typeof body;
  } catch {
    // not JSON (e.g. an HTML error page of a proxy in front): fall back to the status
  }
  const code = typeof body.error === 'string' && body.error !== '' ? body.error : 'http_error';
  const message =
    typeof body.message === 'string' && body.message !== ''
      ? body.message
      : (FALLBACK_MESSAGES[response.status] ?? strings.errors.requestFailed(response.status));
  return new ApiError(
    response.status,
    code,
    message,
    response.status === 401 ? readStepUpAsk(body) : undefined,
    response.status === 401 ? parseSessionEndReason(body.reason) : undefined,
  );
}

/** True for the answer that means "no session (any more)" (a step-up request is not one). */
export function isUnauthorized(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status === 401 && !error.stepUp;
}

/** What an error view shows: a short title, the message, and whether a retry can help. */
export interface ErrorDescription {
  title: string;
  message: string;
  retryable: boolean;
}

/**
 * Describes any failure for display; 503 and network failures read as a temporary outage.
 * `refusedTitle` titles the remaining 4xx answers (e.g. "Could not load your notes").
 */
export function describeError(error: unknown, refusedTitle: string = strings.errors.titleRefused): ErrorDescription {
  if (!(error instanceof ApiError)) {
    return { title: strings.errors.titleUnexpected, message: strings.errors.unexpected, retryable: true };
  }
  if (error.status === 503 || error.code === ERROR_CODES.unavailable) {
    return { title: strings.errors.titleUnavailable, message: error.message, retryable: true };
  }
  if (error.status === 0) return { title: strings.errors.titleOffline, message: error.message, retryable: true };
  if (error.status === 429) return { title: strings.errors.titleTooMany, message: error.message, retryable: true };
  if (error.status >= 500) return { title: strings.errors.titleUnexpected, message: error.message, retryable: true };
  // A 2xx the app could not read: not a refusal, and a retry may well get a proper answer.
  if (error.code === 'bad_response') return { title: strings.errors.titleBadResponse, message: error.message, retryable: true };
  return { title: refusedTitle, message: error.message, retryable: false };
}

/**
 * The signed-in user; rejects with a 401 ApiError when there is no session. `slide: false` for
 * background checks (timers, visibility, other tabs): they must not keep an unused session alive.
 */
export const getUser = (signal?: AbortSignal, { slide = true }: { slide?: boolean } = {}): Promise<UserInfo> =>
  request(slide ? BFF_PATHS.user : `${BFF_PATHS.user}?${SLIDE_PARAM}=false`, { signal, parse: parseUserInfo });

/** Every live session of the signed-in user, newest first. */
export const listSessions = (signal?: AbortSignal): Promise<UserSessions> =>
  request(BFF_PATHS.sessions, { signal, parse: parseUserSessions });

/** Ends one of the user's sessions by its public handle (204); a 404 means it had already ended. */
export async function endSession(handle: string): Promise<void> {
  await request(`${BFF_PATHS.sessions}/${encodeURIComponent(handle)}`, { method: 'DELETE' });
}

/** Ends every other session of the user; resolves to how many ended. */
export const endOtherSessions = (): Promise<SessionsEnded> => request(BFF_PATHS.sessions, { method: 'DELETE', parse: parseSessionsEnded });

/**
 * The routes the SPA may call (`API_ROUTES` prefixes, WebSocket flags, token policies). Needs no
 * session; the app asks once at start and shows only the panels whose routes exist.
 */
export const getConfig = (signal?: AbortSignal): Promise<BffConfig> => request(BFF_PATHS.config, { signal, parse: parseBffConfig });

/** Whether the cookie names a live session, without a 401 and without sliding the idle timeout. */
export const getStatus = (signal?: AbortSignal): Promise<BffStatus> => request(BFF_PATHS.status, { signal, parse: parseBffStatus });

/**
 * Where Sign in goes: a full-page navigation, so the BFF can redirect to the provider and back to
 * `returnTo`. `prompt: 'none'` asks the provider to sign in without showing anything (it answers
 * `login_required` when it cannot).
 */
export function loginUrl(returnTo: string, { prompt }: { prompt?: 'none' } = {}): string {
  return `${BFF_PATHS.login}?returnTo=${encodeURIComponent(returnTo)}${prompt ? `&prompt=${prompt}` : ''}`;
}

/**
 * A live connection (WebSocket closed with 4401, or an event stream the BFF ended) says the
 * session ended but not why: one non-sliding `/bff/user` asks, and its 401 (with the reason)
 * reaches every `onUnauthorized` listener like any other.
 */
export function checkSessionAfterLiveEnd(): void {
  getUser(undefined, { slide: false }).catch(() => undefined);
}
