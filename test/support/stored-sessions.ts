import type { SessionRecord } from '../../bff/src/session/records.js';
import { changedMessage, SESSION_EVENTS_CHANNEL } from '../../bff/src/session/session-sync.js';
import { sessionStorageId, sessionKey } from './bff.js';
import type { TestBrowser } from './browser.js';
import type { RunningRedis } from './redis.js';

/**
 * Reads and rewrites the session records a browser holds at `bffUrl`, straight in Redis and
 * under the BFF's own key layout: how tests age tokens or damage a record on purpose.
 */
export function storedSessions(redis: RunningRedis, bffUrl: string) {
  const idOf = (browser: TestBrowser) => browser.cookie(bffUrl, 'bff')!;
  const keyOf = (browser: TestBrowser) => sessionKey(idOf(browser));
  const storageIdOf = (browser: TestBrowser) => sessionStorageId(idOf(browser));
  async function record(browser: TestBrowser): Promise<SessionRecord | null> {
    const raw = await redis.client.get(keyOf(browser));
    return raw ? (JSON.parse(raw) as SessionRecord) : null;
  }
  /**
   * Replaces fields of the stored record, keeping its TTL, and announces the change like every
   * writer of a session must (instances drop their cached copy).
   */
  async function patch(browser: TestBrowser, fields: Partial<SessionRecord>): Promise<void> {
    const current = (await record(browser))!;
    await redis.client.set(keyOf(browser), JSON.stringify({ ...current, ...fields }), 'KEEPTTL');
    await announce(browser);
  }
  /** Publishes that the browser's session changed (after a test wrote to Redis directly). */
  const announce = (browser: TestBrowser) =>
    redis.client.publish(SESSION_EVENTS_CHANNEL, changedMessage(storageIdOf(browser))).then(() => undefined);
  return {
    idOf,
    keyOf,
    record,
    patch,
    announce,
    /** Makes the stored access token due now, so the next proxied call refreshes first. */
    makeDue: (browser: TestBrowser) => patch(browser, { accessExpiresAt: Math.floor(Date.now() / 1000) }),
    /**
     * Makes the stored sign-in token look obtained a minute ago and still good for a minute: past
     * the 10 s in which an upstream's refusal of a token gets no new grant, and not due.
     */
    makeOld: (browser: TestBrowser) => patch(browser, { accessExpiresAt: Math.floor(Date.now() / 1000) + 60, accessLifetime: 120 }),
  };
}
