import {
  BFF_PATHS,
  SESSION_END_REASONS,
  type BffConfig,
  type BffStatus,
  type Note,
  type RouteInfo,
  type RouteTokenPolicy,
  type SessionEndReason,
  type SessionsEnded,
  type UserInfo,
  type UserSession,
  type UserSessions,
} from '../../../shared/src/index.js';

/*
 * Checks for the JSON bodies the SPA reads. A 200 is no promise about its body: a misrouted
 * prefix, a proxy's page or a changed API can answer with anything, and rendering that as if it
 * were the expected type throws inside the view. Each function returns a fresh value of the
 * expected shape, or undefined when the body is something else; the client turns undefined into
 * an ApiError (`bad_response`) that the views show like any other failure.
 */

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Largest |epoch ms| a Date can hold; beyond it `toISOString()` throws in the view. */
const MAX_TIME_MS = 8.64e15;

function isTimeMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_TIME_MS;
}

/** Epoch seconds (as `/bff/user` sends them): the views multiply by 1000 before making a Date. */
function isTimeSeconds(value: unknown): value is number {
  return typeof value === 'number' && isTimeMs(value * 1000);
}

/** Every item parsed, or undefined when one is malformed: the whole answer is rejected rather than part of it hidden. */
function parseAll<T>(items: unknown[], parse: (item: unknown) => T | undefined): T[] | undefined {
  const parsed: T[] = [];
  for (const item of items) {
    const value = parse(item);
    if (value === undefined) return undefined;
    parsed.push(value);
  }
  return parsed;
}

/** One note: a non-empty string id, a string text and a representable epoch-ms `createdAt`. */
export function parseNote(body: unknown): Note | undefined {
  if (!isObject(body)) return undefined;
  const { id, text, createdAt } = body;
  if (typeof id !== 'string' || id === '' || typeof text !== 'string' || !isTimeMs(createdAt)) return undefined;
  return { id, text, createdAt };
}

/** A list of notes; one malformed entry rejects the whole answer rather than hiding it. */
export function parseNotes(body: unknown): Note[] | undefined {
  return Array.isArray(body) ? parseAll(body, parseNote) : undefined;
}

/**
 * The `/bff/user` payload. `logoutUrl` must be the BFF's own logout path, because Sign out
 * navigates the page to it.
 */
export function parseUserInfo(body: unknown): UserInfo | undefined {
  if (!isObject(body)) return undefined;
  const { sub, claims, session, logoutUrl } = body;
  if (typeof sub !== 'string' || sub === '' || !isObject(claims) || !isObject(session)) return undefined;
  const { expiresAt, idleExpiresAt, idleTimeout } = session;
  if (!isTimeSeconds(expiresAt) || !isTimeSeconds(idleExpiresAt)) return undefined;
  if (typeof idleTimeout !== 'number' || !Number.isInteger(idleTimeout) || idleTimeout <= 0) return undefined;
  if (typeof logoutUrl !== 'string' || !(logoutUrl === BFF_PATHS.logout || logoutUrl.startsWith(`${BFF_PATHS.logout}?`))) return undefined;
  return { sub, claims, session: { expiresAt, idleExpiresAt, idleTimeout }, logoutUrl };
}

/** One entry of `/bff/sessions`: a non-empty handle and device text, a boolean `current`, epoch-second times. */
function parseUserSession(body: unknown): UserSession | undefined {
  if (!isObject(body)) return undefined;
  const { handle, current, createdAt, lastActiveAt, device } = body;
  if (typeof handle !== 'string' || handle === '' || typeof current !== 'boolean' || typeof device !== 'string' || device === '')
    return undefined;
  if (!isTimeSeconds(createdAt) || !isTimeSeconds(lastActiveAt)) return undefined;
  return { handle, current, createdAt, lastActiveAt, device };
}

/** The `/bff/sessions` payload; one malformed entry rejects the whole answer (as for notes). */
export function parseUserSessions(body: unknown): UserSessions | undefined {
  if (!isObject(body) || !Array.isArray(body.sessions)) return undefined;
  const sessions = parseAll(body.sessions, parseUserSession);
  return sessions && { sessions };
}

/** The `DELETE /bff/sessions` answer: a whole, non-negative count. */
export function parseSessionsEnded(body: unknown): SessionsEnded | undefined {
  if (!isObject(body)) return undefined;
  const { ended } = body;
  return typeof ended === 'number' && Number.isInteger(ended) && ended >= 0 ? { ended } : undefined;
}

const TOKEN_POLICIES: readonly RouteTokenPolicy[] = ['user', 'user-or-none', 'client', 'user-or-client', 'none', 'exchange', 'assertion'];

/** One route of `/bff/config`: a prefix starting with `/`, a boolean `websocket`, a known token policy. */
function parseRouteInfo(body: unknown): RouteInfo | undefined {
  if (!isObject(body)) return undefined;
  const { prefix, websocket, token } = body;
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || typeof websocket !== 'boolean') return undefined;
  if (!TOKEN_POLICIES.includes(token as RouteTokenPolicy)) return undefined;
  return { prefix, websocket, token: token as RouteTokenPolicy };
}

/** The `/bff/config` payload; one malformed route rejects the whole answer (as for notes). */
export function parseBffConfig(body: unknown): BffConfig | undefined {
  if (!isObject(body) || !Array.isArray(body.routes)) return undefined;
  const routes = parseAll(body.routes, parseRouteInfo);
  return routes && { routes };
}

/** One of the contract's reasons for a missing session, or undefined for anything else. */
export function parseSessionEndReason(value: unknown): SessionEndReason | undefined {
  return (Object.values(SESSION_END_REASONS) as unknown[]).includes(value) ? (value as SessionEndReason) : undefined;
}

/** `GET /bff/status`: `{ signedIn, reason? }` (a reason only when it is one of the contract's), nothing else kept. */
export function parseBffStatus(body: unknown): BffStatus | undefined {
  if (!isObject(body) || typeof body.signedIn !== 'boolean') return undefined;
  const reason = body.signedIn ? undefined : parseSessionEndReason(body.reason);
  return reason ? { signedIn: body.signedIn, reason } : { signedIn: body.signedIn };
}
