import { BFF_PATHS, ERROR_CODES, STEP_UP_PARAMS } from '../../../shared/src/index.js';
import { HttpError, forbidden } from '../errors.js';
import { safeReturnTo } from '../oidc/return-to.js';
import type { RouteAccess } from '../route-access.js';
import type { HotSession } from '../session/session-cache.js';

/**
 * Per-route authorization before anything goes upstream (docs/step-up.md), for HTTP calls, event
 * streams and WebSocket handshakes alike, and the same answer for an upstream's RFC 9470
 * `insufficient_user_authentication` challenge. Only routes with access rules come here: the
 * callers test `route.access` first, so other routes pay one null check.
 */

/** What a sign-in must bring: acceptable `acr` values (space-separated) and/or a `max_age`. */
export interface StepUp {
  acrValues?: string;
  maxAge?: number;
}

/**
 * Throws 403 `forbidden` when a `require` rule fails (stepping up would not help), 401
 * `step_up_required` when the session's `acr` is not one the route accepts or its `auth_time` is
 * older than `max_age`. `referer` gives the sign-in's `returnTo` (the page the call came from).
 */
export function authorize(access: RouteAccess, session: HotSession, publicUrl: URL, referer: string | undefined): void {
  for (const rule of access.require) {
    if (!holds(session.claims, rule.path, rule.value)) throw forbidden('Your account may not use this API.');
  }
  const acrMet = access.acr === undefined || (session.acr !== undefined && access.acr.includes(session.acr));
  const fresh = access.maxAge === undefined || (session.authTime !== undefined && Date.now() / 1000 - session.authTime <= access.maxAge);
  if (acrMet && fresh) return;
  throw stepUpRequired({ acrValues: access.acr?.join(' '), maxAge: access.maxAge }, publicUrl, referer);
}

/** The 401 `step_up_required` answer, with a ready sign-in URL back to the page the call came from. */
export function stepUpRequired(stepUp: StepUp, publicUrl: URL, referer: string | undefined): HttpError {
  const login = new URLSearchParams();
  const details: Record<string, string | number> = {};
  if (stepUp.acrValues !== undefined) login.set(STEP_UP_PARAMS.acrValues, (details.acr_values = stepUp.acrValues));
  if (stepUp.maxAge !== undefined) login.set(STEP_UP_PARAMS.maxAge, String((details.max_age = stepUp.maxAge)));
  login.set('returnTo', returnToOf(referer, publicUrl));
  details.login = `${BFF_PATHS.login}?${login}`;
  return new HttpError(401, ERROR_CODES.stepUpRequired, 'Confirm it is you to continue.', { details });
}

/** The page a call came from, when it is one of ours; else `/`. */
function returnToOf(referer: string | undefined, publicUrl: URL): string {
  if (referer === undefined || !URL.canParse(referer)) return '/';
  const page = new URL(referer);
  return page.origin === publicUrl.origin ? safeReturnTo(`${page.pathname}${page.search}${page.hash}`, publicUrl) : '/';
}

/** Whether the claim at `path` is `value`, or (a list) contains it. Numbers and booleans compare as text. */
function holds(claims: Record<string, unknown> | undefined, path: readonly string[], value: string): boolean {
  let found: unknown = claims;
  for (const name of path) {
    if (found === null || typeof found !== 'object' || Array.isArray(found) || !Object.hasOwn(found, name)) return false;
    found = (found as Record<string, unknown>)[name];
  }
  return Array.isArray(found) ? found.some((item) => matches(item, value)) : matches(found, value);
}

const matches = (claim: unknown, value: string) =>
  (typeof claim === 'string' || typeof claim === 'number' || typeof claim === 'boolean') && String(claim) === value;

const INSUFFICIENT = /(?:^|[\s,])error="?insufficient_user_authentication"?/;
const AUTH_PARAM = /([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g;
const ACR_VALUES = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

/**
 * The step-up an upstream's `WWW-Authenticate` asks for (RFC 9470 §3), or undefined when it is not
 * an `insufficient_user_authentication` challenge. Values the kit could not send on are dropped.
 */
export function insufficientAuthentication(challenge: string): StepUp | undefined {
  if (!INSUFFICIENT.test(challenge)) return undefined;
  const stepUp: StepUp = {};
  for (const [, name, quoted, bare] of challenge.matchAll(AUTH_PARAM)) {
    const value = (quoted ?? bare ?? '').replace(/\\(.)/g, '$1');
    if (name === 'acr_values' && ACR_VALUES.test(value) && value.length <= 512) stepUp.acrValues = value;
    if (name === 'max_age' && /^\d{1,9}$/.test(value)) stepUp.maxAge = Number(value);
  }
  return stepUp;
}
