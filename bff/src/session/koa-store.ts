import type { Context } from 'koa';
import { SESSION_END_REASONS } from '../../../shared/src/index.js';
import type { SessionRecord } from './records.js';
import { SessionStore } from './sessions.js';

/** What the adapter leaves on `ctx.state` for the handlers. */
export interface SessionReadState {
  /** Set to false before koa-session runs (see `noSlide`) to read without sliding the idle timeout. */
  slideIdle?: boolean;
  /** The idle end (epoch seconds) found by a non-sliding read; after a sliding one it is now + idle. */
  idleEndsAt?: number;
}

/**
 * koa-session's external-store adapter over {@link SessionStore}: reads come from Redis (the
 * /bff endpoints need the full record, which the proxy's session cache does not keep) and slide
 * the idle timeout unless the route asked otherwise, and enforce the absolute deadline; writes
 * index the session for back-channel logout and the user's sessions.
 */
export function koaSessionStore(sessions: SessionStore) {
  return {
    async get(id: string, _maxAge: unknown, { ctx }: { ctx?: Context }) {
      if (!SessionStore.isId(id)) return null;
      const state = ctx?.state as SessionReadState | undefined;
      if (state?.slideIdle !== false) return sessions.load(id);
      const stored = await sessions.peek(id);
      if (stored) state.idleEndsAt = stored.idleEndsAt;
      return stored?.record ?? null;
    },
    async set(id: string, data: Record<string, unknown>, _maxAge: unknown, { ctx }: { ctx?: Context }) {
      // Only signed-in sessions are stored, and once per request: koa-session commits again
      // after regenerate() although nothing changed.
      if (typeof data.sub !== 'string' || ctx?.state.sessionWritten === id) return;
      await sessions.create(id, data as unknown as SessionRecord);
      if (ctx) ctx.state.sessionWritten = id;
    },
    // koa-session destroys a stored session only when this browser replaces or leaves it: a sign-in
    // over it (regenerate(): a step-up, or another user) or a sign-out that already ended it. Either
    // way this browser ended it, and the old id's 401 must say so, not read as a timeout.
    destroy: (id: string) => sessions.destroy(id, undefined, SESSION_END_REASONS.signedOut),
  };
}
