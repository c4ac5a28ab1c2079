import type { Context } from 'koa';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ERROR_CODES } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import { HttpError, describeError, unavailable } from '../errors.js';
import { SMALL_BODY_DEADLINE_MS, readBodyText } from '../http/body-text.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens older than this (by `iat`) are refused; `jti`s are remembered at least this long. */
const MAX_AGE_SECONDS = 120;
const CLOCK_TOLERANCE_SECONDS = 30;

const invalid = (message: string) => new HttpError(400, ERROR_CODES.badRequest, message);
/** `typ` values a logout token may carry (the spec's explicit type, and the generic one). */
const ACCEPTED_TYPES = new Set(['logout+jwt', 'application/logout+jwt', 'jwt']);

/**
 * No cached key matched and the provider's JWKS could not be fetched (network error, timeout,
 * 5xx): the token may be fine, so this is 503 (the provider retries), not 400.
 */
export function keysUnreachable(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout) return true;
  if (error instanceof joseErrors.JOSEError) return error.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/i.test(error.message);
  return error instanceof TypeError; // fetch itself failed (connection refused, DNS...): undici's "fetch failed"
}

/**
 * `POST /bff/backchannel-logout` (OpenID Connect Back-Channel Logout 1.0). Server to server:
 * no CSRF header. Validates the logout token (signature against the provider's JWKS, iss, aud,
 * iat window, events, sid and/or sub, no nonce, single-use jti) and ends every matching session
 * on every instance through the Redis sid/sub indexes.
 */
export function backchannelLogout({
  config,
  oidc,
  logoutTokens,
  sessions,
  log,
  metrics,
}: Pick<Deps, 'config' | 'oidc' | 'logoutTokens' | 'sessions' | 'log' | 'metrics'>) {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const deadlineMs = Math.min(config.bodyTimeoutMs, SMALL_BODY_DEADLINE_MS);
  return async function backchannelLogout(ctx: Context) {
    const token = await readLogoutToken(ctx, deadlineMs);
    const metadata = oidc.configuration.serverMetadata();
    jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri!));
    let claims: JWTPayload;
    try {
      const verified = await jwtVerify(token, jwks, {
        issuer: metadata.issuer,
        audience: config.clientId,
        maxTokenAge: MAX_AGE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'jti'],
        algorithms: metadata.id_token_signing_alg_values_supported?.filter((alg) => alg !== 'none') ?? ['RS256'],
      });
      claims = verified.payload;
      const typ = verified.protectedHeader.typ;
      // RFC 8417-style explicit typing: an ID token or access token must never pass as a logout token.
      if (typ !== undefined && !ACCEPTED_TYPES.has(typ.toLowerCase())) throw invalid('The logout token has the wrong type.');
    } catch (error) {
      if (keysUnreachable(error)) {
        metrics.backchannelLogouts.inc({ result: 'unavailable' });
        log.warn(
          { event: 'backchannel_jwks_unreachable', err: describeError(error) },
          "logout token not checked: the provider's keys could not be fetched",
        );
        throw unavailable("The provider's signing keys could not be fetched. Please retry.", error);
      }
      metrics.backchannelLogouts.inc({ result: 'rejected' });
      log.warn({ event: 'backchannel_rejected', err: describeError(error) }, 'logout token rejected');
      if (error instanceof joseErrors.JOSEError) throw invalid('The logout token is not valid.');
      throw error; // our own refusal (400), or a defect (500): never hidden as a bad token
    }
    const events = claims.events as Record<string, unknown> | undefined;
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    const problem =
      !events || typeof events[LOGOUT_EVENT] !== 'object' || events[LOGOUT_EVENT] === null
        ? 'events claim missing the back-channel logout event'
        : 'nonce' in claims
          ? 'a logout token must not carry a nonce'
          : !sid && !sub
            ? 'sid or sub is required'
            : typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256
              ? 'jti is required'
              : undefined;
    if (problem) {
      metrics.backchannelLogouts.inc({ result: 'rejected' });
      throw invalid(`The logout token is not valid: ${problem}.`);
    }
    // The jti is claimed atomically (SET NX) before the sessions end, and released again if ending
    // them failed: only a token whose sessions are gone counts as spent, so the provider's retry works.
    // Remembered for as long as the token itself could still be accepted.
    const [issuer, jti] = [claims.iss!, claims.jti as string]; // iss checked by jwtVerify, jti above
    const acceptableUntil = Math.max(claims.exp!, claims.iat! + MAX_AGE_SECONDS) + CLOCK_TOLERANCE_SECONDS;
    if (!(await logoutTokens.claim(issuer, jti, acceptableUntil))) {
      metrics.backchannelLogouts.inc({ result: 'replayed' });
      throw invalid('The logout token was already used.');
    }
    let ended: number;
    try {
      ended = await sessions.destroyByProviderSession({ sid, sub });
    } catch (error) {
      await logoutTokens.release(issuer, jti).catch(() => undefined);
      throw error;
    }
    metrics.backchannelLogouts.inc({ result: 'ok' });
    log.info({ event: 'backchannel_logout', sessions: ended }, 'back-channel logout');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 200;
    ctx.body = '';
  };
}

/** The form's `logout_token`, from a body bounded in size and time (a held-open POST ends with 408). */
async function readLogoutToken(ctx: Context, deadlineMs: number): Promise<string> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw invalid('Expected an application/x-www-form-urlencoded body.');
  const token = new URLSearchParams(await readBodyText(ctx.req, deadlineMs)).get('logout_token');
  if (!token) throw invalid('logout_token is required.');
  return token;
}
