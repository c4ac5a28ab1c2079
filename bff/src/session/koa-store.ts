import type { Context } from 'koa';
import { SessionStore, type SessionRecord } from './sessions.js';

/**
 * koa-session's external-store adapter over {@link SessionStore}: reads come from the cache or
 * from Redis (sliding the idle timeout) and enforce the absolute deadline; writes index the
 * session for back-channel logout.
 */
export function koaSessionStore(sessions: SessionStore) {
  return {
    get: async (id: string) => (SessionStore.isId(id) ? (sessions.cached(id) ?? (await sessions.load(id))) : null),
    async set(id: string, data: Record<string, unknown>, _maxAge: unknown, { ctx }: { ctx?: Context }) {
      // Only signed-in sessions are stored, and once per request: koa-session commits again
      // after regenerate() although nothing changed.
      if (typeof data.sub !== 'string' || ctx?.state.sessionWritten === id) return;
      await sessions.create(id, data as unknown as SessionRecord);
      if (ctx) ctx.state.sessionWritten = id;
    },
    destroy: (id: string) => sessions.destroy(id),
  };
}
