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
  /** The user's own sessions: `GET` lists them, `DELETE` ends every other one, `DELETE /{handle}` ends one. */
  sessions: '/bff/sessions',
  /** Whether the cookie names a live session: `{ signedIn }`, never 401, the idle timeout left alone. */
  status: '/bff/status',
  /** The BFF's public keys (client assertion key, DPoP key, identity assertion keys) as a JWK set: public, no session, no X-CSRF. */
  jwks: '/bff/jwks',
  /** What the SPA may call: the `API_ROUTES` prefixes with their policies (X-CSRF, no session needed). */
  config: '/bff/config',
  /** Shared Signals push delivery (RFC 8935) of Security Event Tokens from `SSF_ISSUER`; only when it is set. */
  ssf: '/bff/ssf',
} as const;

/** The `err` codes of `POST /bff/ssf`'s refusals, in RFC 8935's `{ err, description }` form. */
export const SSF_ERRORS = {
  /** A bad SET: not parsable, not verified, wrong iss, aud or iat, replayed, or the wrong content type. */
  invalidRequest: 'invalid_request',
  /** No or the wrong `Authorization: Bearer` push token (status 401). */
  authenticationFailed: 'authentication_failed',
} as const;

/**
 * Query parameter of `GET /bff/user`: `slide=false` answers without extending the idle timeout.
 * The SPA sends it on every background check, so only real use keeps a session alive.
 */
export const SLIDE_PARAM = 'slide';

/** The anti-CSRF header every `/bff/*` JSON call and every proxied call must carry. */
export const CSRF_HEADER = 'x-csrf';
export const CSRF_HEADER_VALUE = '1';

/**
 * Session cookie names: `__Host-Http-` prefixed on https (RFC 10017: HttpOnly, Secure, Path=/, no
 * Domain, and never settable from script), plain on http (local development). `SESSION_COOKIE_NAME`
 * overrides it (e.g. `__Host-bff`, the name of 1.x, during a migration).
 */
export const SESSION_COOKIE = { secure: '__Host-Http-bff', insecure: 'bff' } as const;
/** Login transaction cookie names (short-lived, SameSite=Lax, single use). */
export const LOGIN_COOKIE = { secure: '__Host-Http-bff-login', insecure: 'bff-login' } as const;

/**
 * Close codes the BFF sends on WebSockets it relays (4000-4999 are the application's own; the
 * others are RFC 6455's): the SPA reads `sessionEnded` as "signed out".
 */
export const WEBSOCKET_CLOSE = {
  /** The socket's session ended (sign-out, timeout, back-channel logout...), on any instance. */
  sessionEnded: 4401,
  /** The BFF is shutting down. */
  goingAway: 1001,
  /** A message in progress missed its deadline (API_BODY_TIMEOUT_MS). */
  policyViolation: 1008,
  /** A message above WS_MAX_MESSAGE_BYTES. */
  messageTooBig: 1009,
} as const;

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
  /** The route (or its upstream, RFC 9470) asks for a stronger or more recent sign-in: {@link StepUpRequired}. */
  stepUpRequired: 'step_up_required',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * Why a request has no session, in every 401 `unauthenticated` answer (`/bff/*`, the proxy,
 * WebSocket handshakes): the SPA's signed-out view says it in plain words. A cookie the BFF never
 * issued (or none) reads `no_session`; the others come from a short-lived record of the ended
 * session, reachable only by presenting its cookie (docs/session-lifecycle.md).
 */
export const SESSION_END_REASONS = {
  /** No cookie, or one that names nothing the BFF knows (never issued, or ended long ago). */
  noSession: 'no_session',
  /** No use for SESSION_IDLE_TIMEOUT. */
  idleTimeout: 'idle_timeout',
  /** SESSION_ABSOLUTE_TIMEOUT after sign-in, however active. */
  absoluteTimeout: 'absolute_timeout',
  /** This browser signed out (in this tab or another). */
  signedOut: 'signed_out',
  /** Ended from another device ("Your sessions"), by the provider's back-channel logout or a security event. */
  endedElsewhere: 'ended_elsewhere',
  /** The provider refused to renew the session's tokens (or they can no longer be read). */
  refreshRefused: 'refresh_refused',
} as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[keyof typeof SESSION_END_REASONS];

/** Body of every JSON error answer. `message` is safe to show; nothing internal is in it. */
export interface ErrorBody {
  error: ErrorCode;
  /** Only on `unauthenticated` (401) answers: why there is no session. */
  reason?: SessionEndReason;
  message: string;
}

/**
 * Body of a 401 `step_up_required` (RFC 9470): what the sign-in must bring, and a ready sign-in
 * URL asking for it. `acr_values` and `max_age` are there only when asked for.
 */
export interface StepUpRequired extends ErrorBody {
  error: typeof ERROR_CODES.stepUpRequired;
  /** Space-separated acceptable `acr` values. */
  acr_values?: string;
  /** Seconds: the sign-in must be at most this old. */
  max_age?: number;
  /** `/bff/login?acr_values=...&max_age=N&returnTo=...`: the SPA may replace `returnTo`. */
  login: string;
}

/** Query parameters of `GET /bff/login` that ask for a step-up (OpenID Connect Core §3.1.2.1). */
export const STEP_UP_PARAMS = { acrValues: 'acr_values', maxAge: 'max_age' } as const;

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
    /** SESSION_IDLE_TIMEOUT in seconds: how long without use ends it (the SPA's warning says so). */
    idleTimeout: number;
    /** The sign-in's `acr` (how the user authenticated), when the provider said. */
    acr?: string;
    /** When the user last authenticated (`auth_time`), when the provider said. */
    authTime?: number;
  };
  /** Relative URL that signs the user out, carrying the session's `sid` guard. */
  logoutUrl: string;
}

/** One entry of `GET /bff/sessions`. Times are epoch seconds. */
export interface UserSession {
  /** A random public name for the session, stable for its life; never its id or cookie value. */
  handle: string;
  /** True for the session of the browser that asked. */
  current: boolean;
  /** When it signed in. */
  createdAt: number;
  /** Its last activity that slid the idle timeout (background checks with `slide=false` do not count). */
  lastActiveAt: number;
  /** `<browser> on <OS>` from the User-Agent at sign-in, or "Unknown device". */
  device: string;
}

/** Payload of `GET /bff/sessions`: every live session of the signed-in user, newest first. */
export interface UserSessions {
  sessions: UserSession[];
}

/** Payload of `DELETE /bff/sessions`: how many other sessions were ended. */
export interface SessionsEnded {
  ended: number;
}

/** Who a route's calls speak for (docs/route-policies.md): the `token=` option of an `API_ROUTES` entry. */
export type RouteTokenPolicy = 'user' | 'user-or-none' | 'client' | 'user-or-client' | 'none' | 'exchange' | 'assertion';

/** One `API_ROUTES` entry as the SPA sees it: never its upstream URL, resource or scope. */
export interface RouteInfo {
  /** The path prefix, e.g. `/api`; calls under it go through the BFF's proxy. */
  prefix: string;
  /** WebSocket upgrades are accepted under this prefix. */
  websocket: boolean;
  token: RouteTokenPolicy;
}

/**
 * Payload of `GET /bff/config`: the routes the SPA may call, so it calls only those that exist.
 * Deliberately nothing else: where the routes lead and which tokens they get stay in the BFF.
 */
export interface BffConfig {
  routes: RouteInfo[];
}

/**
 * Payload of `GET /bff/status`: whether the browser's cookie names a live session, read without
 * sliding its idle timeout and never answered with 401. A page load asks this first, so a
 * signed-out page never asks `/bff/user` for a 401 the browser would log as an error.
 */
export interface BffStatus {
  signedIn: boolean;
  /** When not signed in: why (as in a 401), so a page loaded after a session ended can say so. */
  reason?: SessionEndReason;
}

/** Query parameter the BFF sets on `/` when sign-in failed at the provider or the callback. */
export const LOGIN_ERROR_PARAM = 'login_error';
/**
 * `login_error` value of a step-up the provider did not deliver: the ID token's `acr` was none of
 * those asked, or its `auth_time` older than `max_age`. The session, if any, is as it was.
 */
export const STEP_UP_FAILED = 'step_up_failed';

/** BroadcastChannel name tabs use to tell each other about sign-out (no secrets on it). */
export const AUTH_CHANNEL = 'bff-auth';

/** A note of the demo API (`/api/notes` through the BFF proxy). */
export interface Note {
  id: string;
  text: string;
  /** Epoch milliseconds. */
  createdAt: number;
}
