import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { errors as joseErrors, type JWTPayload } from 'jose';
import { SSF_ERRORS } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import { describeError, unavailable } from '../errors.js';
import { SMALL_BODY_DEADLINE_MS, readBodyText } from '../http/body-text.js';
import { clientAddress } from '../http/client-address.js';
import { Budget, overBudget } from '../proxy/budget.js';
import { keysUnreachable } from '../oidc/backchannel.js';
import { eventSubject, sameIssuer, sessionEndingEvents } from './security-events.js';
import { SET_CLOCK_TOLERANCE_SECONDS, SET_MAX_AGE_SECONDS, TransmitterUnavailable } from './transmitter.js';

/** SET deliveries in flight: per client address, and on the instance. */
const LIMITS = { each: 4, total: 64 };

/** An RFC 8935 error answer (`{ err, description }`), never cached. */
function refuse(ctx: Context, status: number, err: string, description: string) {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { err, description };
}

/** A constant-time comparison of the presented push token with SSF_PUSH_TOKEN (digests: equal lengths). */
function tokenMatches(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
}

/**
 * `POST /bff/ssf` (only with SSF_ISSUER): push delivery (RFC 8935) of Security Event Tokens
 * (RFC 8417) from the Shared Signals transmitter. Server to server: no CSRF header, no session.
 * The named steps: the push token (401 before anything is read), a slot in the deliveries budget
 * (429), the body (bounded in size and time), then the SET itself.
 */
export function ssfReceiver(deps: Pick<Deps, 'config' | 'transmitter' | 'setLedger' | 'sessions' | 'log' | 'metrics'>): Middleware[] {
  const { config, log, metrics } = deps;
  const settings = config.ssf!;
  const expected = createHash('sha256').update(settings.pushToken).digest();
  const budget = new Budget({ session: LIMITS, address: LIMITS });
  const deadlineMs = Math.min(config.bodyTimeoutMs, SMALL_BODY_DEADLINE_MS);

  /** RFC 8935 §2.1 / RFC 6750: the transmitter authenticates with the push token as a bearer token. */
  async function pushToken(ctx: Context, next: Next) {
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(ctx.get('authorization'));
    if (!match || !tokenMatches(match[1]!, expected)) {
      metrics.securityEvents.inc({ result: 'unauthenticated' });
      ctx.set('WWW-Authenticate', 'Bearer');
      return refuse(ctx, 401, SSF_ERRORS.authenticationFailed, 'A valid push token is required.');
    }
    await next();
  }

  /** One slot per delivery, taken before the body is read and released however it ends. */
  async function admission(ctx: Context, next: Next) {
    const slot = budget.take({ kind: 'address', key: clientAddress(ctx.req, config.trustedProxyHops) });
    if (!slot) {
      metrics.securityEvents.inc({ result: 'over_budget' });
      throw overBudget('Too many security events in flight from your address.');
    }
    try {
      await next();
    } finally {
      slot.release();
    }
  }

  async function receiveSet(ctx: Context) {
    if (!ctx.is('application/secevent+jwt')) {
      return refuse(ctx, 400, SSF_ERRORS.invalidRequest, 'Expected Content-Type application/secevent+jwt.');
    }
    const token = (await readBodyText(ctx.req, deadlineMs)).trim();
    let claims: JWTPayload;
    try {
      claims = await deps.transmitter!.verify(token);
    } catch (error) {
      if (error instanceof TransmitterUnavailable || keysUnreachable(error)) {
        metrics.securityEvents.inc({ result: 'unavailable' });
        log.warn(
          { event: 'ssf_transmitter_unreachable', err: describeError(error) },
          "SET not checked: the transmitter's keys are unreachable",
        );
        throw unavailable("The transmitter's configuration or keys could not be fetched. Please retry.", error);
      }
      if (!(error instanceof joseErrors.JOSEError)) throw error;
      metrics.securityEvents.inc({ result: 'rejected' });
      log.warn({ event: 'ssf_rejected', err: describeError(error) }, 'security event token rejected');
      return refuse(ctx, 400, SSF_ERRORS.invalidRequest, `The SET is not valid: ${error.message}`);
    }
    const jti = claims.jti!;
    if (typeof jti !== 'string' || jti.length > 256) return refuse(ctx, 400, SSF_ERRORS.invalidRequest, 'The SET is not valid: jti.');
    if (typeof claims.events !== 'object' || claims.events === null) {
      return refuse(ctx, 400, SSF_ERRORS.invalidRequest, 'The SET is not valid: it carries no events.');
    }
    // Claimed before the sessions end, released if ending them failed (the transmitter's retry must work).
    const acceptableUntil = claims.iat! + SET_MAX_AGE_SECONDS + SET_CLOCK_TOLERANCE_SECONDS;
    if (!(await deps.setLedger.claim(settings.issuer, jti, acceptableUntil))) {
      metrics.securityEvents.inc({ result: 'replayed' });
      return refuse(ctx, 400, SSF_ERRORS.invalidRequest, 'The SET was already received (jti).');
    }
    try {
      const ended = await endSubjectSessions(claims);
      metrics.securityEvents.inc({ result: ended === undefined ? 'ignored' : 'ok' });
      log.info({ event: 'security_event', sessions: ended ?? 0, ignored: ended === undefined }, 'security event received');
    } catch (error) {
      await deps.setLedger.release(settings.issuer, jti).catch(() => undefined);
      throw error;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 202;
    ctx.body = '';
  }

  /**
   * Ends the sessions each session-ending event names, through the one path every provider-side
   * ending takes (the back-channel logout's: sid and user indexes, every instance, live
   * connections closed). Undefined when no event applies (unknown types, another issuer's users).
   */
  async function endSubjectSessions(claims: JWTPayload): Promise<number | undefined> {
    let ended: number | undefined;
    for (const [, event] of sessionEndingEvents(claims.events)) {
      const subject = eventSubject(claims, event);
      // A subject of another issuer than our provider names nobody here.
      if (!subject || !sameIssuer(subject.iss, config.issuer.href)) continue;
      ended = (ended ?? 0) + (await deps.sessions.destroyByProviderSession({ sub: subject.sub, sid: subject.sid }));
    }
    return ended;
  }

  return [pushToken, admission, receiveSet];
}
