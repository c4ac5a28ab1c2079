import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import * as client from 'openid-client';
import { SESSION_END_REASONS } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import { cookieNames } from '../session/cookies.js';
import { badRequest } from '../errors.js';
import type { SessionRecord } from '../session/records.js';
import { SessionStore } from '../session/sessions.js';
import { endSession } from './end-session.js';
import { redirect } from './redirect.js';

function sameGuard(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b); // byte lengths: a multi-byte character must not make it throw
}

/**
 * `GET /bff/logout?sid=...`: the `sid` guard from `/bff/user`'s `logoutUrl` proves the request
 * comes from our own page (a cross-site link cannot know it). Ends the session (see
 * {@link endSession}: deleted, refresh token revoked), clears the cookie, then hands over to the
 * provider's end-session endpoint.
 */
export function logout(deps: Pick<Deps, 'config' | 'oidc' | 'sessions' | 'sessionTokens' | 'log' | 'tracing'>) {
  const { config, oidc, sessions } = deps;
  const names = cookieNames(config);
  const postLogoutRedirectUri = new URL('/', config.publicUrl).href;

  return async function logout(ctx: Context) {
    const record = ctx.session as unknown as Partial<SessionRecord> | null;
    const id = ctx.cookies.get(names.session);
    if (!record?.sub || !SessionStore.isId(id)) {
      // Already signed out. A cookie that names no session (ended, expired, malformed, made under
      // a retired key) is cleared here without the sid guard: it cannot carry one, and all a
      // cross-site request can do is clear a cookie that names nothing. A live session still
      // needs the guard below.
      if (id !== undefined) ctx.session = null;
      redirect(ctx, '/');
      return;
    }
    if (!sameGuard(ctx.query.sid, record.logoutGuard!)) {
      throw badRequest('This sign-out link is not valid for your session. Use the Sign out button in the app.', 'Sign-out not confirmed');
    }
    const secrets = await endSession(
      deps,
      { storageId: sessions.storageIdOf(id), record: record as SessionRecord },
      SESSION_END_REASONS.signedOut,
    );
    ctx.session = null;

    if (!oidc.ready) {
      redirect(ctx, '/');
      return;
    }
    const metadata = oidc.configuration.serverMetadata();
    if (!metadata.end_session_endpoint) {
      redirect(ctx, '/');
      return;
    }
    // `state` and `client_id` always: some providers return to post_logout_redirect_uri only with a state.
    const parameters: Record<string, string> = {
      post_logout_redirect_uri: postLogoutRedirectUri,
      client_id: config.clientId,
      state: client.randomState(),
    };
    if (secrets?.idToken) parameters.id_token_hint = secrets.idToken;
    redirect(ctx, client.buildEndSessionUrl(oidc.configuration, parameters).href);
  };
}
