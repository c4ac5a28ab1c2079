import type { Context } from 'koa';
import { SESSION_END_REASONS, type SessionsEnded, type UserSession, type UserSessions } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import { sessionNotFound, unauthenticated } from '../errors.js';
import { endSession } from '../oidc/end-session.js';
import { cookieNames } from '../session/cookies.js';
import { UNKNOWN_DEVICE } from './device.js';
import { publicIdOf, type SessionRecord, type StoredSession } from '../session/records.js';
import { SessionStore } from '../session/sessions.js';

/** Sessions ended at once by "Sign out all other sessions". */
const END_BATCH = 8;

/** Shape of a public session name (128 bits, base64url): anything else is 404 without a lookup. */
const PUBLIC_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * "Your sessions": `GET /bff/sessions`, `DELETE /bff/sessions/{handle}`, `DELETE /bff/sessions`.
 * A user sees and ends only sessions of their own `sub` (found through the sub index); sessions
 * are named by their random public id, never by their id or storage handle.
 */
export function userSessionRoutes(deps: Pick<Deps, 'config' | 'oidc' | 'sessions' | 'sessionTokens' | 'log' | 'tracing'>) {
  const { config, sessions } = deps;
  const sessionCookie = cookieNames(config).session;

  /** The signed-in session of this request: its record and its storage handle; 401 (with why) without one. */
  async function signedIn(ctx: Context): Promise<{ record: SessionRecord; handle: string }> {
    const record = ctx.session as unknown as Partial<SessionRecord> | null;
    const id = ctx.cookies.get(sessionCookie);
    if (!record?.sub || !SessionStore.isId(id)) throw unauthenticated(await sessions.whyEnded(id));
    return { record: record as SessionRecord, handle: sessions.storageIdOf(id) };
  }

  function toUserSession(stored: StoredSession, currentStorageId: string): UserSession {
    return {
      handle: publicIdOf(stored),
      current: stored.storageId === currentStorageId,
      createdAt: stored.record.createdAt,
      lastActiveAt: stored.lastActiveAt,
      device: stored.record.device ?? UNKNOWN_DEVICE,
    };
  }

  return {
    /** `GET /bff/sessions`: every live session of this user, newest first (expired index members pruned on the way). */
    list: async function listSessions(ctx: Context) {
      const { record, handle } = await signedIn(ctx);
      const mine = await sessions.ofUser(record);
      mine.sort((a, b) => b.record.createdAt - a.record.createdAt);
      ctx.body = { sessions: mine.map((stored) => toUserSession(stored, handle)) } satisfies UserSessions;
    },

    /**
     * `DELETE /bff/sessions/{handle}`: ends one session of this user -> 204. A handle of nobody
     * and a handle of another user get the same 404. Ending this browser's own session is a
     * sign-out without the provider round trip (the cookie is cleared).
     */
    endOne: async function endOneSession(ctx: Context) {
      const { record, handle: currentStorageId } = await signedIn(ctx);
      const wanted = (ctx.params as { handle?: string }).handle ?? '';
      if (!PUBLIC_ID.test(wanted)) throw sessionNotFound();
      const target = (await sessions.ofUser(record)).find((stored) => publicIdOf(stored) === wanted);
      if (!target) throw sessionNotFound();
      // Its own session ended from here is this browser signing out; any other is ended elsewhere.
      const own = target.storageId === currentStorageId;
      await endSession(deps, target, own ? SESSION_END_REASONS.signedOut : SESSION_END_REASONS.endedElsewhere);
      if (own) ctx.session = null;
      ctx.status = 204;
    },

    /** `DELETE /bff/sessions`: ends every OTHER session of this user -> `{ ended: n }`. */
    endOthers: async function endOtherSessions(ctx: Context) {
      const { record, handle: currentStorageId } = await signedIn(ctx);
      const others = (await sessions.ofUser(record)).filter((stored) => stored.storageId !== currentStorageId);
      // A few at a time: each ending is a Redis write and a revocation call to the provider.
      for (let i = 0; i < others.length; i += END_BATCH)
        await Promise.all(others.slice(i, i + END_BATCH).map((stored) => endSession(deps, stored, SESSION_END_REASONS.endedElsewhere)));
      ctx.body = { ended: others.length } satisfies SessionsEnded;
    },
  };
}
