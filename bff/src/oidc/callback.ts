import type { Context } from 'koa';
import * as client from 'openid-client';
import { LOGIN_ERROR_PARAM } from '../../../shared/src/index.js';
import type { Deps } from '../context.js';
import { cookieNames } from '../session/cookie-names.js';
import { tokenEndpointParams } from './client.js';
import { errorPage } from '../pages.js';
import { keys, SessionStore, type SessionRecord } from '../session/sessions.js';
import { accessTiming } from './session-tokens.js';
import { hashBrowserBinding, type LoginTransaction } from './login.js';
import { describe } from './client.js';

// Protocol claims say nothing about the user; the SPA gets the rest.
const PROTOCOL_CLAIMS = ['nonce', 'at_hash', 'c_hash', 'aud', 'azp', 'iss', 'iat', 'exp', 'auth_time', 'sid', 'jti', 'acr', 'amr', 's_hash'];

/**
 * `GET /bff/callback`: checks that `state` belongs to a transaction of this browser (single use),
 * exchanges the code with PKCE and client authentication, lets openid-client validate the ID token
 * (iss, aud, exp, signature, nonce), and starts a session under a NEW id (no fixation).
 */
export function callback(deps: Deps) {
  const { config, oidc, kv, log, metrics, sessionTokens } = deps;
  const names = cookieNames(config);
  return async function callback(ctx: Context) {
    const { state, error } = ctx.query;
    const binding = ctx.cookies.get(names.login);
    const raw = typeof state === 'string' && state.length <= 256 ? await kv.take(keys.login(state)) : null;
    const transaction = raw ? (JSON.parse(raw) as LoginTransaction) : undefined;
    const ours = transaction !== undefined && binding !== undefined && transaction.browser === hashBrowserBinding(binding);

    if (typeof error === 'string') {
      // The provider refused (e.g. access_denied): tell the SPA with a code, never the provider's text.
      const code = /^[a-z_]{1,64}$/.test(error) ? error : 'invalid_request';
      metrics.signIns.inc({ result: code });
      ctx.redirect(`/?${LOGIN_ERROR_PARAM}=${code}`);
      return;
    }
    if (!ours) {
      metrics.signIns.inc({ result: 'bad_state' });
      log.warn({ event: 'callback_rejected', reason: transaction ? 'other_browser' : 'unknown_state' }, 'callback refused');
      errorPage(ctx, 400, 'Sign-in could not be completed', 'This sign-in link is invalid, was already used, or has expired. Please sign in again.');
      return;
    }

    const currentUrl = new URL(ctx.originalUrl, config.publicUrl);
    let response: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      response = await client.authorizationCodeGrant(
        oidc.configuration,
        currentUrl,
        { pkceCodeVerifier: transaction.codeVerifier, expectedState: state as string, expectedNonce: transaction.nonce, idTokenExpected: true },
        tokenEndpointParams(config),
      );
    } catch (failure) {
      metrics.signIns.inc({ result: 'failed' });
      const providerAnswered = failure instanceof client.ResponseBodyError || failure instanceof client.AuthorizationResponseError;
      log.warn({ event: 'code_exchange_failed', err: describe(failure) }, 'sign-in failed at the code exchange');
      if (providerAnswered || (failure instanceof Error && (failure as { code?: string }).code?.startsWith('OAUTH_'))) {
        errorPage(ctx, 400, 'Sign-in could not be completed', 'The sign-in service rejected this sign-in. Please sign in again.');
      } else {
        errorPage(ctx, 503, 'Sign-in service unavailable', 'The sign-in service could not be reached. Please try again in a moment.');
      }
      return;
    }

    const idClaims = response.claims()!;
    let claims: Record<string, unknown> = { ...idClaims };
    if (oidc.configuration.serverMetadata().userinfo_endpoint) {
      try {
        claims = { ...claims, ...(await client.fetchUserInfo(oidc.configuration, response.access_token, idClaims.sub)) };
      } catch (failure) {
        // Not fatal: the ID token's claims are enough to sign in.
        log.warn({ event: 'userinfo_failed', err: describe(failure) }, 'userinfo failed; using ID token claims');
      }
    }
    for (const name of PROTOCOL_CLAIMS) delete claims[name];

    const now = Math.floor(Date.now() / 1000);
    const record: SessionRecord = {
      sub: idClaims.sub,
      claims,
      opSid: typeof idClaims.sid === 'string' ? idClaims.sid : undefined,
      logoutGuard: SessionStore.newId(),
      createdAt: now,
      expiresAt: now + config.absoluteTimeout,
      sealedTokens: sessionTokens.seal({ accessToken: response.access_token, refreshToken: response.refresh_token, idToken: response.id_token }),
      ...accessTiming(response.expires_in, now),
    };
    // koa-session writes the record through our store under a brand-new id and drops the old one.
    ctx.session = record as unknown as typeof ctx.session;
    await ctx.session!.regenerate();
    metrics.signIns.inc({ result: 'ok' });
    log.info({ event: 'signed_in', sub: record.sub }, 'signed in');
    ctx.redirect(transaction.returnTo);
  };
}
