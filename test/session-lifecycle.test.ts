import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SESSION_END_REASONS, type SessionEndReason, type UserInfo, type UserSessions } from '../shared/src/index.js';
import { TestBrowser } from './support/browser.js';
import { intercept, json, type Answer, type Intercepted } from './support/idp-front.js';
import { logoutTokenFor } from './support/logout-token.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { BOB, startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';

/** Short enough to wait out in a test, long enough for a sign-in and a few calls. */
const IDLE_SECONDS = 3;
const ABSOLUTE_SECONDS = 6;

/**
 * Why a session ended, told by every 401 on every instance (docs/session-lifecycle.md): two BFF
 * instances on one Redis; each session ends on the first and is asked about on the second.
 */
describe('why a session ended, on two instances', () => {
  let redis: RunningRedis;
  let stack: Stack;
  /** How the token endpoint answers a grant in the current test (undefined: the provider answers). */
  let onGrant: ((request: Intercepted) => Promise<Answer>) | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      redisUrl: redis.url,
      instances: 2,
      env: { SESSION_IDLE_TIMEOUT: String(IDLE_SECONDS), SESSION_ABSOLUTE_TIMEOUT: String(ABSOLUTE_SECONDS) },
      idpFront: [intercept('/token', () => async (request) => (onGrant ? onGrant(request) : request.forward()))],
    });
  });
  afterEach(() => {
    onGrant = undefined;
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const [first, second] = [() => stack.bffs[0]!, () => stack.bffs[1]!];
  /** A call like the SPA's, with this cookie header (or none). */
  const call = (bff: Stack['bff'], path: string, cookie?: string, headers: Record<string, string> = {}) =>
    fetch(`${bff.url}${path}`, { redirect: 'manual', headers: { 'x-csrf': '1', ...(cookie ? { cookie } : {}), ...headers } });
  /** The WebSocket handshake's refusal: status and body. */
  const handshake = (bff: Stack['bff'], cookie?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`${bff.url.replace('http:', 'ws:')}/api/live`, {
        headers: { origin: bff.url, ...(cookie ? { cookie } : {}) },
      });
      ws.once('open', () => reject(new Error('the handshake was accepted')));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      ws.once('error', reject);
    });

  /** Every kind of request a browser makes with this cookie answers 401 with `reason`, on both instances. */
  async function expectReason(cookie: string | undefined, reason: SessionEndReason) {
    for (const bff of [second(), first()]) {
      // A page load asks /bff/status first: no 401 there, the same reason.
      expect(await (await call(bff, '/bff/status', cookie)).json()).toEqual({ signedIn: false, reason });
      const user = await call(bff, '/bff/user', cookie);
      expect(user.status).toBe(401);
      expect(await user.json()).toEqual({ error: 'unauthenticated', reason, message: expect.any(String) });
      const proxied = await call(bff, '/api/notes', cookie);
      expect(proxied.status).toBe(401);
      expect(await proxied.json()).toMatchObject({ error: 'unauthenticated', reason });
      const stream = await call(bff, '/api/events', cookie, { accept: 'text/event-stream' });
      expect(stream.status).toBe(401);
      expect(await stream.json()).toMatchObject({ error: 'unauthenticated', reason });
      const sessions = await call(bff, '/bff/sessions', cookie);
      expect(sessions.status).toBe(401);
      expect(await sessions.json()).toMatchObject({ error: 'unauthenticated', reason });
      const refused = await handshake(bff, cookie);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toMatchObject({ error: 'unauthenticated', reason });
    }
  }

  async function signedIn(user = undefined as typeof BOB | undefined, browser = new TestBrowser()) {
    await stack.signIn(user, first(), browser);
    const cookie = browser.cookieHeader(first().url)!;
    const info = (await (await call(first(), '/bff/user', cookie)).json()) as UserInfo;
    return { browser, cookie, info };
  }

  it('without a cookie: no_session', async () => {
    await expectReason(undefined, SESSION_END_REASONS.noSession);
  });

  it('a made-up cookie reads no_session, like none, and a thousand of them write nothing to Redis', async () => {
    const madeUp = () => `bff=${randomBytes(32).toString('base64url')}`;
    await expectReason(madeUp(), SESSION_END_REASONS.noSession);
    await expectReason('bff=not-even-well-formed', SESSION_END_REASONS.noSession);
    const keysBefore = await redis.client.dbsize();
    for (let i = 0; i < 20; i++) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, j) => call(stack.bffs[j % 2]!, '/bff/user', madeUp())));
      for (const answer of answers) expect(((await answer.json()) as { reason: string }).reason).toBe('no_session');
    }
    expect(await redis.client.dbsize()).toBe(keysBefore);
  });

  it('signed out on one instance: signed_out on the other, for the cookie the browser held', async () => {
    const { browser, cookie, info } = await signedIn();
    expect((await browser.fetch(`${first().url}${info.logoutUrl}`)).status).toBe(302);
    await expectReason(cookie, SESSION_END_REASONS.signedOut);
  });

  it('signed in again over the session (as a step-up does): the old cookie reads signed_out, not a timeout', async () => {
    const { browser, cookie, info } = await signedIn();
    await stack.signIn(undefined, first(), browser);
    const replaced = browser.cookieHeader(first().url)!;
    expect(replaced).not.toBe(cookie); // a new id for the same session (no fixation)
    expect(((await (await call(second(), '/bff/user', replaced)).json()) as UserInfo).sub).toBe(info.sub);
    await expectReason(cookie, SESSION_END_REASONS.signedOut);
  });

  it('ended from another device ("Your sessions"): ended_elsewhere; the device that ended it signed nothing out', async () => {
    const phone = await signedIn(BOB);
    const laptop = await signedIn(BOB);
    const list = (await (await call(first(), '/bff/sessions', laptop.cookie)).json()) as UserSessions;
    const other = list.sessions.find((session) => !session.current)!;
    expect(
      (await fetch(`${first().url}/bff/sessions/${other.handle}`, { method: 'DELETE', headers: { 'x-csrf': '1', cookie: laptop.cookie } }))
        .status,
    ).toBe(204);
    await expectReason(phone.cookie, SESSION_END_REASONS.endedElsewhere);
    expect((await call(second(), '/bff/user', laptop.cookie)).status).toBe(200);
  });

  it('ending its own session from "Your sessions" is this browser\'s sign-out: signed_out', async () => {
    const { cookie } = await signedIn();
    const list = (await (await call(first(), '/bff/sessions', cookie)).json()) as UserSessions;
    const own = list.sessions.find((session) => session.current)!;
    expect(
      (await fetch(`${first().url}/bff/sessions/${own.handle}`, { method: 'DELETE', headers: { 'x-csrf': '1', cookie } })).status,
    ).toBe(204);
    await expectReason(cookie, SESSION_END_REASONS.signedOut);
  });

  it("ended by the provider's back-channel logout: ended_elsewhere", async () => {
    const { cookie } = await signedIn(BOB);
    const token = await logoutTokenFor(stack, { sub: BOB.sub });
    const logout = await fetch(`${first().url}/bff/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    });
    expect(logout.status).toBe(200);
    await expectReason(cookie, SESSION_END_REASONS.endedElsewhere);
  });

  it('the provider refused to renew its tokens: refresh_refused', async () => {
    const { browser, cookie } = await signedIn();
    onGrant = async (request) =>
      request.form.get('grant_type') === 'refresh_token' ? json(400, { error: 'invalid_grant' }) : request.forward();
    // The access token due: the next proxied call refreshes first, and the provider refuses.
    await storedSessions(redis, first().url).makeDue(browser);
    const refused = await call(second(), '/api/notes', cookie);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'unauthenticated', reason: 'refresh_refused' });
    await expectReason(cookie, SESSION_END_REASONS.refreshRefused);
  });

  it('no use for the idle timeout: idle_timeout (nothing ran when it ended)', async () => {
    const { cookie } = await signedIn();
    await sleep(IDLE_SECONDS * 1000 + 500);
    await expectReason(cookie, SESSION_END_REASONS.idleTimeout);
  });

  it('kept busy past the absolute timeout: absolute_timeout', async () => {
    const { cookie, info } = await signedIn();
    // Used every second (each use slides the idle end) until the absolute end has passed.
    while (Date.now() / 1000 < info.session.expiresAt + 0.5) {
      const answer = await call(stack.bffs[Math.round(Date.now() / 1000) % 2]!, '/bff/user', cookie);
      if (answer.status !== 200) break;
      await sleep(1000);
    }
    await expectReason(cookie, SESSION_END_REASONS.absoluteTimeout);
  });
});
