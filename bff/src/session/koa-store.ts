import { SessionStore, type SessionRecord } from './sessions.js';

/**
 * koa-session's external-store adapter over {@link SessionStore}: reads slide the idle timeout
 * and enforce the absolute deadline;
 * writes index the session for back-channel logout.
 */
export function koaSessionStore(sessions: SessionStore) {
  return {
    get: (id: string) => (SessionStore.isId(id) ? sessions.load(id) : Promise.resolve(null)),
    set: (id: string, data: Record<string, unknown>) => sessions.create(id, data as unknown as SessionRecord),
    destroy: (id: string) => sessions.destroy(id),
  };
}

