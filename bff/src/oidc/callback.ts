import type { Context } from 'koa';
import * as client from 'openid-client';
import { LOGIN_ERROR_PARAM, STEP_UP_FAILED } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import { cookieNames } from '../session/cookies.js';
import { tokenEndpointParams } from './client.js';
import { HttpError, badRequest, describeError } from '../errors.js';
import { ERROR_CODES } from '../../../shared/src/index.js';
import type { SessionRecord } from '../session/records.js';
import { SessionStore } from '../session/sessions.js';
import { describeDevice } from '../your-sessions/device.js';
import { accessTiming } from './token-timing.js';
import { traced } from '../tracing/tracing.js';
import { hashBrowserBinding } from './login.js';
import { refreshTokenCap, tokenTypeOf } from '../tokens.js';
import { stepUpShortfall } from './step-up-sign-in.js';
import { redirect } from './redirect.js';

// Protocol claims say nothing about the user; the SPA gets the rest.
const PROTOCOL_CLAIMS = [
  'nonce',
  'at_hash',
  'c_hash',
  'aud',
  'azp',
  'iss',
  'iat',
  'exp',
  'auth_time',
  'sid',
  'jti',
  'acr',
  'amr',
  's_hash',
];

/** Error codes of authorization responses (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6). */
const AUTHORIZATION_ERRORS = new Set([
  'access_denied',
  'invalid_request',
  'unauthorized_client',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
]);

const SIGN_IN_FAILED = 'Sign-in could not be completed';

/**
 * `GET /bff/callback`: checks that `state` belongs to a transaction of this browser (single use),
 * exchanges the code with PKCE and client authentication, lets openid-client validate the ID token
 * (iss, aud, exp, signature, nonce), checks a step-up's `acr` and `auth_time` itself, and starts a
 * session under a NEW id (no fixation). A step-up by the session's own user continues that
 * session (its handle, device and absolute end) with the new tokens and claims, under the new id.
 */
export function callback(
  deps: Pick<Deps, 'config' | 'oidc' | 'loginTransactions' | 'log' | 'metrics' | 'sessions' | 'sessionTokens' | 'tracing'>,
) {
  const { config, oidc, loginTransactions, log, metrics, sessionTokens, tracing } = deps;
  const names = cookieNames(config);
  return async function callback(ctx: Context) {
    const { state, error } = ctx.query;
    const binding = ctx.cookies.get(names.login);
    const transaction = typeof state === 'string' && state.length <= 256 ? await loginTransactions.take(state) : undefined;
    const ours = transaction !== undefined && binding !== undefined && transaction.browser === hashBrowserBinding(binding);

    if (typeof error === 'string') {
      // The provider refused (e.g. access_denied): tell the SPA with a code, never the provider's
      // text. Codes come from a fixed set: each becomes a metric label and a query value.
      const code = AUTHORIZATION_ERRORS.has(error) ? error : 'other';
      metrics.signIns.inc({ result: code });
      redirect(ctx, `/?${LOGIN_ERROR_PARAM}=${code}`);
      return;
    }
    if (!ours) {
      metrics.signIns.inc({ result: 'bad_state' });
      log.warn({ event: 'callback_rejected', reason: transaction ? 'other_browser' : 'unknown_state' }, 'callback refused');
      throw badRequest('This sign-in link is invalid, was already used, or has expired. Please sign in again.', SIGN_IN_FAILED);
    }

    const currentUrl = new URL(ctx.originalUrl, config.publicUrl);
    let response: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      const configuration = oidc.configuration;
      response = await traced(tracing, 'oidc code_exchange', () =>
        client.authorizationCodeGrant(
          configuration,
          currentUrl,
          {
            pkceCodeVerifier: transaction.codeVerifier,
            expectedState: state as string,
            expectedNonce: transaction.nonce,
            idTokenExpected: true,
          },
          tokenEndpointParams(config),
          oidc.dpop, // with DPoP the access token is bound to the BFF's key
        ),
      );
    } catch (failure) {
      metrics.signIns.inc({ result: 'failed' });
      const providerAnswered = failure instanceof client.ResponseBodyError || failure instanceof client.AuthorizationResponseError;
      log.warn({ event: 'code_exchange_failed', err: describeError(failure) }, 'sign-in failed at the code exchange');
      if (providerAnswered || (failure instanceof Error && (failure as { code?: string }).code?.startsWith('OAUTH_'))) {
        throw badRequest('The sign-in service rejected this sign-in. Please sign in again.', SIGN_IN_FAILED);
      }
      throw new HttpError(503, ERROR_CODES.unavailable, 'The sign-in service could not be reached. Please try again in a moment.', {
        cause: failure,
        title: 'Sign-in service unavailable',
      });
    }

    const idClaims = response.claims()!;
    // The provider may have ignored acr_values or max_age: a step-up it did not deliver signs
    // nobody in, and the browser's existing session (if any) stays exactly as it was.
    const shortfall = stepUpShortfall(transaction.stepUp, idClaims);
    if (shortfall !== undefined) {
      metrics.signIns.inc({ result: STEP_UP_FAILED });
      log.warn(
        { event: 'step_up_failed', claim: shortfall, acr: idClaims.acr, authTime: idClaims.auth_time },
        'the ID token does not carry the step-up asked for; sign-in refused',
      );
      redirect(ctx, `/?${LOGIN_ERROR_PARAM}=${STEP_UP_FAILED}`);
      return;
    }
    let claims: Record<string, unknown> = { ...idClaims };
    if (oidc.configuration.serverMetadata().userinfo_endpoint) {
      try {
        const { access_token: accessToken } = response;
        // A DPoP-bound access token is only accepted with a proof, at userinfo too.
        const proof = response.token_type === 'dpop' ? oidc.dpop : undefined;
        claims = {
          ...claims,
          ...(await traced(tracing, 'oidc userinfo', () => client.fetchUserInfo(oidc.configuration, accessToken, idClaims.sub, proof))),
        };
      } catch (failure) {
        // Not fatal: the ID token's claims are enough to sign in.
        log.warn({ event: 'userinfo_failed', err: describeError(failure) }, 'userinfo failed; using ID token claims');
      }
    }
    for (const name of PROTOCOL_CLAIMS) delete claims[name];

    const now = Math.floor(Date.now() / 1000);
    // Read before regenerate() drops it: the same user stepping up continues this session.
    const previous = ctx.session as unknown as Partial<SessionRecord> | null;
    const continued = previous?.sub === idClaims.sub ? previous : undefined;
    const sessionEnd = continued?.expiresAt ?? now + config.absoluteTimeout;
    const record: SessionRecord = {
      sub: idClaims.sub,
      claims,
      opSid: typeof idClaims.sid === 'string' ? idClaims.sid : undefined,
      acr: typeof idClaims.acr === 'string' ? idClaims.acr : undefined,
      authTime: typeof idClaims.auth_time === 'number' ? idClaims.auth_time : undefined,
      logoutGuard: SessionStore.newId(),
      createdAt: continued?.createdAt ?? now,
      // A step-up keeps the session's end; a provider that says when the refresh token expires caps it.
      expiresAt: refreshTokenCap(response, sessionEnd, now) ?? sessionEnd,
      sealedTokens: sessionTokens.seal({
        accessToken: response.access_token,
        ...tokenTypeOf(response.token_type),
        refreshToken: response.refresh_token,
        idToken: response.id_token,
      }),
      ...accessTiming(response.expires_in, now),
      publicId: continued?.publicId ?? SessionStore.newPublicId(),
      device: continued?.device ?? describeDevice(ctx.get('user-agent')),
    };
    // No fixation: the record is written under an id the BFF made. A session loaded from the cookie
    // (the same user stepping up, or someone else's) is dropped for a brand-new id; without one,
    // koa-session already made a fresh random id for this request (a cookie naming no session is
    // never adopted), and there is nothing to drop: no read and no delete of a session that never was.
    ctx.session = record as unknown as typeof ctx.session;
    if (previous?.sub !== undefined) await ctx.session!.regenerate();
    metrics.signIns.inc({ result: 'ok' });
    log.info({ event: continued ? 'stepped_up' : 'signed_in', sub: record.sub }, 'signed in');
    redirect(ctx, transaction.returnTo);
  };
}
