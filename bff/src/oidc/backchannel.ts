import type { Context } from 'koa';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ERROR_CODES } from '../../../shared/src/index.js';
import type { Deps } from '../context.js';
import { HttpError } from '../errors.js';
import { keys } from '../session/sessions.js';
import { describe } from './client.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens older than this (by `iat`) are refused; `jti`s are remembered at least this long. */
const MAX_AGE_SECONDS = 120;
const CLOCK_TOLERANCE_SECONDS = 30;
const MAX_BODY_BYTES = 16 * 1024;

const invalid = (message: string) => new HttpError(400, ERROR_CODES.badRequest, message);

/**
 * `POST /bff/backchannel-logout` (OpenID Connect Back-Channel Logout 1.0). Server to server:
 * no CSRF header. Validates the logout token (signature against the provider's JWKS, iss, aud,
 * iat window, events, sid and/or sub, no nonce, single-use jti) and ends every matching session
 * on every instance through the Redis sid/sub indexes.
 */
export function backchannelLogout({ config, oidc, kv, sessions, log, metrics }: Deps) {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  return async function backchannelLogout(ctx: Context) {
    const token = await readLogoutToken(ctx);
    const metadata = oidc.configuration.serverMetadata();
    jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri!));
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer: metadata.issuer,
        audience: config.clientId,
        maxTokenAge: MAX_AGE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        algorithms: metadata.id_token_signing_alg_values_supported?.filter((alg) => alg !== 'none') ?? ['RS256'],
      }));
    } catch (error) {
      metrics.backchannelLogouts.inc({ result: 'rejected' });
      log.warn({ event: 'backchannel_rejected', err: describe(error) }, 'logout token rejected');
      if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout)) throw invalid('The logout token is not valid.');
      throw error;
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
    // Remember the jti for as long as the token itself could still be accepted.
    const acceptableUntil = Math.max(claims.exp ?? 0, (claims.iat ?? 0) + MAX_AGE_SECONDS) + CLOCK_TOLERANCE_SECONDS;
    const rememberMs = Math.max(1000, (acceptableUntil - Date.now() / 1000) * 1000);
    if (!(await kv.set(keys.logoutJti(`${claims.iss}|${claims.jti as string}`), '1', Math.ceil(rememberMs), 'ifAbsent'))) {
      metrics.backchannelLogouts.inc({ result: 'replayed' });
      throw invalid('The logout token was already used.');
    }
    const ended = await sessions.destroyByProviderSession({ sid, sub });
    metrics.backchannelLogouts.inc({ result: 'ok' });
    log.info({ event: 'backchannel_logout', sessions: ended }, 'back-channel logout');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 200;
    ctx.body = '';
  };
}

async function readLogoutToken(ctx: Context): Promise<string> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw invalid('Expected an application/x-www-form-urlencoded body.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, ERROR_CODES.tooLarge, 'The request body is too large.');
    chunks.push(chunk);
  }
  const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token');
  if (!token) throw invalid('logout_token is required.');
  return token;
}
