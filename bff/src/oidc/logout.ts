import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import * as client from 'openid-client';
import type { Deps } from '../context.js';
import { cookieNames } from '../session/cookie-names.js';
import { errorPage } from '../pages.js';
import { SessionStore, type SessionRecord } from '../session/sessions.js';
import { describe } from './client.js';

const sameGuard = (given: unknown, expected: string) =>
  typeof given === 'string' && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));

/**
 * `GET /bff/logout?sid=...`: the `sid` guard from `/bff/user`'s `logoutUrl` proves the request
 * comes from our own page (a cross-site link cannot know it). Revokes the refresh token (RFC 7009),
 * deletes the session, clears the cookie, then hands over to the provider's end-session endpoint.
 */
export function logout({ config, oidc, sessions, sessionTokens, log }: Deps) {
  const names = cookieNames(config);
  const postLogoutRedirectUri = new URL('/', config.publicUrl).href;
  return async function logout(ctx: Context) {
    const record = ctx.session as unknown as Partial<SessionRecord> | null;
    const id = ctx.cookies.get(names.session);
    if (!record?.sub || !SessionStore.isId(id)) {
      ctx.redirect('/'); // already signed out
      return;
    }
    if (!sameGuard(ctx.query.sid, record.logoutGuard!)) {
      errorPage(ctx, 400, 'Sign-out not confirmed', 'This sign-out link is not valid for your session. Use the Sign out button in the app.');
      return;
    }
    const secrets = sessionTokens.open(record as SessionRecord);
    await sessions.destroy(id);
    ctx.session = null;

    if (!oidc.ready) {
      ctx.redirect('/');
      return;
    }
    const metadata = oidc.configuration.serverMetadata();
    if (secrets.refreshToken && metadata.revocation_endpoint) {
      try {
        await client.tokenRevocation(oidc.configuration, secrets.refreshToken, { token_type_hint: 'refresh_token' });
      } catch (error) {
        // The session is gone either way; an unrevoked token expires on its own at the provider.
        log.warn({ event: 'revocation_failed', err: describe(error) }, 'refresh token revocation failed');
      }
    }
    if (!metadata.end_session_endpoint) {
      ctx.redirect('/');
      return;
    }
    const parameters: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri };
    if (secrets.idToken) parameters.id_token_hint = secrets.idToken;
    else parameters.client_id = config.clientId;
    ctx.redirect(client.buildEndSessionUrl(oidc.configuration, parameters).href);
  };
}
