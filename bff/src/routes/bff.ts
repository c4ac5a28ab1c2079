import Router from '@koa/router';
import type Koa from 'koa';
import type { Context, Next } from 'koa';
import session from 'koa-session';
import { BFF_PATHS, SLIDE_PARAM, type BffConfig, type BffStatus, type UserInfo } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import { cookieNames, readCookie } from '../session/cookies.js';
import { unauthenticated } from '../errors.js';
import { requireCsrfHeader } from '../middleware/csrf.js';
import { loginRateLimit } from '../middleware/rate-limit.js';
import { backchannelLogout } from '../oidc/backchannel.js';
import { callback } from '../oidc/callback.js';
import { login } from '../oidc/login.js';
import { logout } from '../oidc/logout.js';
import { koaSessionStore, type SessionReadState } from '../session/koa-store.js';
import type { SessionRecord } from '../session/records.js';
import { SessionStore } from '../session/sessions.js';
import { jwks } from './jwks.js';
import { ssfReceiver } from '../ssf/receiver.js';
import { userSessionRoutes } from '../your-sessions/routes.js';

/**
 * `?slide=false` makes the session read of this request leave the idle timeout alone (the SPA's
 * background checks). Runs before koa-session, whose store adapter reads the flag.
 */
function slideOption() {
  return async function slideOption(ctx: Context, next: Next) {
    (ctx.state as SessionReadState).slideIdle = ctx.query[SLIDE_PARAM] !== 'false';
    await next();
  };
}

/**
 * `GET /bff/user[?slide=false]`: who is signed in, until when, and the guarded logout URL. Never
 * tokens. A plain (sliding) call is also the SPA's "Stay signed in". Without a session: 401 with why.
 */
function user({ config, sessions }: Pick<Deps, 'config' | 'sessions'>) {
  const sessionCookie = cookieNames(config).session;
  return async function user(ctx: Context) {
    const record = ctx.session as unknown as Partial<SessionRecord> | null;
    if (!record?.sub) throw unauthenticated(await sessions.whyEnded(readCookie(ctx.get('cookie'), sessionCookie)));
    const now = Math.floor(Date.now() / 1000);
    // A non-sliding read found the real idle end; a sliding one has just moved it to now + idle.
    const idleEnd = (ctx.state as SessionReadState).idleEndsAt ?? now + config.idleTimeout;
    ctx.body = {
      sub: record.sub,
      claims: record.claims ?? {},
      session: {
        expiresAt: record.expiresAt!,
        idleExpiresAt: Math.min(idleEnd, record.expiresAt!),
        idleTimeout: config.idleTimeout,
        ...(record.acr === undefined ? {} : { acr: record.acr }),
        ...(record.authTime === undefined ? {} : { authTime: record.authTime }),
      },
      logoutUrl: `${BFF_PATHS.logout}?sid=${encodeURIComponent(record.logoutGuard!)}`,
    } satisfies UserInfo;
  };
}

/**
 * `GET /bff/config`: the `API_ROUTES` prefixes with their WebSocket flag and token policy, so the
 * SPA calls only routes that exist. Built once from the configuration, and field by field: an
 * upstream URL, resource or scope would tell any visitor where the APIs live and what they grant.
 */
function clientConfig({ config }: Pick<Deps, 'config'>) {
  const body = JSON.stringify({
    routes: config.apiRoutes.map(({ prefix, websocket, token }) => ({ prefix, websocket, token })),
  } satisfies BffConfig);
  return async function clientConfig(ctx: Context) {
    ctx.type = 'application/json';
    ctx.body = body;
  };
}

/**
 * `GET /bff/status`: whether the cookie names a live session, and if not why (as a 401 would say).
 * Read without sliding the idle timeout (a page load alone keeps nothing alive) and never answered
 * with 401: a signed-out page learns it without an error in the browser's console.
 */
function status({ config, sessions }: Pick<Deps, 'config' | 'sessions'>) {
  const sessionCookie = cookieNames(config).session;
  return async function status(ctx: Context) {
    const id = readCookie(ctx.get('cookie'), sessionCookie);
    const signedIn = SessionStore.isId(id) && (await sessions.isLive(sessions.storageIdOf(id)));
    ctx.body = (signedIn ? { signedIn } : { signedIn, reason: await sessions.whyEnded(id) }) satisfies BffStatus;
  };
}

/**
 * The `/bff/*` management surface. Each endpoint is a short list of named middleware.
 * koa-session runs only here (the proxy reads sessions itself, in one Redis round trip).
 */
export function bffRoutes(app: Koa, deps: Deps): Router {
  const { config, sessions } = deps;
  const sessionMiddleware = session(
    {
      key: cookieNames(config).session,
      store: koaSessionStore(sessions),
      genid: () => SessionStore.newId(),
      maxAge: 'session', // the server enforces idle and absolute timeouts; the cookie just carries the id
      httpOnly: true,
      secure: config.secureCookies,
      sameSite: config.sameSite,
      signed: false, // the id is 256 random bits and means nothing without the server-side record
      overwrite: true,
      rolling: false,
    },
    app,
  );
  const router = new Router();
  router.get(BFF_PATHS.login, loginRateLimit(deps.loginTransactions, config.loginRateLimit, config.trustedProxyHops), login(deps));
  router.get(BFF_PATHS.callback, sessionMiddleware, callback(deps));
  router.get(BFF_PATHS.user, requireCsrfHeader(), slideOption(), sessionMiddleware, user(deps));
  router.get(BFF_PATHS.logout, sessionMiddleware, logout(deps));
  router.post(BFF_PATHS.backchannelLogout, backchannelLogout(deps));
  if (config.ssf) router.post(BFF_PATHS.ssf, ...ssfReceiver(deps));
  router.get(BFF_PATHS.jwks, jwks(deps));
  router.get(BFF_PATHS.config, requireCsrfHeader(), clientConfig(deps));
  router.get(BFF_PATHS.status, requireCsrfHeader(), status(deps));
  const userSessions = userSessionRoutes(deps);
  router.get(BFF_PATHS.sessions, requireCsrfHeader(), sessionMiddleware, userSessions.list);
  router.delete(BFF_PATHS.sessions, requireCsrfHeader(), sessionMiddleware, userSessions.endOthers);
  router.delete(`${BFF_PATHS.sessions}/:handle`, requireCsrfHeader(), sessionMiddleware, userSessions.endOne);
  return router;
}
