/**
 * The kit's HTTP contract, shared by the BFF and the SPA: paths, header and cookie names,
 * the `/bff/user` payload and the JSON error body. Change a name here only with a changelog entry.
 */

/** Paths of the BFF's management surface. */
export const BFF_PATHS = {
  login: '/bff/login',
  callback: '/bff/callback',
  user: '/bff/user',
  logout: '/bff/logout',
  backchannelLogout: '/bff/backchannel-logout',
} as const;

/** The anti-CSRF header every `/bff/*` JSON call and every proxied call must carry. */
export const CSRF_HEADER = 'x-csrf';
export const CSRF_HEADER_VALUE = '1';

/** Session cookie names: `__Host-` prefixed on https, plain on http (local development). */
export const SESSION_COOKIE = { secure: '__Host-bff', insecure: 'bff' } as const;
/** Login transaction cookie names (short-lived, SameSite=Lax, single use). */
export const LOGIN_COOKIE = { secure: '__Host-bff-login', insecure: 'bff-login' } as const;

/** Error codes the BFF answers with, as `{ error, message }`. */
export const ERROR_CODES = {
  csrf: 'csrf',
  forbidden: 'forbidden',
  unauthenticated: 'unauthenticated',
  unavailable: 'unavailable',
  badRequest: 'bad_request',
  notFound: 'not_found',
  tooLarge: 'too_large',
  requestTimeout: 'request_timeout',
  tooManyRequests: 'too_many_requests',
  badGateway: 'bad_gateway',
  gatewayTimeout: 'gateway_timeout',
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Body of every JSON error answer. `message` is safe to show; nothing internal is in it. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
}

/** Payload of `GET /bff/user`. Times are epoch seconds. Never carries tokens. */
export interface UserInfo {
  sub: string;
  /** ID token claims (merged with userinfo at sign-in) minus protocol claims. */
  claims: Record<string, unknown>;
  session: {
    /** Absolute end of the session. */
    expiresAt: number;
    /** End of the session if no request comes before then (slides with use). */
    idleExpiresAt: number;
  };
  /** Relative URL that signs the user out, carrying the session's `sid` guard. */
  logoutUrl: string;
}

/** Query parameter the BFF sets on `/` when sign-in failed at the provider or the callback. */
export const LOGIN_ERROR_PARAM = 'login_error';

/** BroadcastChannel name tabs use to tell each other about sign-out (no secrets on it). */
export const AUTH_CHANNEL = 'bff-auth';

/** A note of the demo API (`/api/notes` through the BFF proxy). */
export interface Note {
  id: string;
  text: string;
  /** Epoch milliseconds. */
  createdAt: number;
}
