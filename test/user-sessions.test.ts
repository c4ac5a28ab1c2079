import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionsEnded, UserInfo, UserSessions } from '../shared/src/index.js';
import { TEST_SESSION_KEY, startBff, userIndexKey } from './support/bff.js';
import { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, BOB, CLIENT_ID, CLIENT_SECRET, startStack, type Stack } from './support/stack.js';
import { logoutTokenFor } from './support/logout-token.js';
import { storedSessions } from './support/stored-sessions.js';

const UA = {
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
};
const PUBLIC_HANDLE = /^[A-Za-z0-9_-]{22}$/;

/** Waits until the clock shows a new second, so sessions signed in one after another have distinct `createdAt`s. */
async function nextSecond() {
  const now = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === now) await sleep(20);
}

/**
 * Tries `check` until it holds or `ms` have passed since `since`; returns whether a check started
 * in time saw it hold. The check's own calls do not count against `ms`: under a loaded CI run four
 * HTTP probes alone can take longer than 100 ms, while what is judged is the state they saw.
 */
async function within(ms: number, since: number, check: () => Promise<boolean>): Promise<boolean> {
  for (let startedAt = Date.now(); startedAt - since <= ms; startedAt = Date.now()) {
    if (await check()) return true;
    await sleep(5);
  }
  return false;
}

describe("the user's sessions on two BFF instances sharing Redis", () => {
  let redis: RunningRedis;
  let stack: Stack;
  /** Which instance each browser signed in through: its cookie lives under that host. */
  const home = new Map<TestBrowser, number>();

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, instances: 2 });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  async function signIn(user: typeof ALICE, instance: number, userAgent?: string): Promise<TestBrowser> {
    const browser = await stack.signIn(user, stack.bffs[instance]!, new TestBrowser({ userAgent }));
    home.set(browser, instance);
    return browser;
  }
  const cookieOf = (browser: TestBrowser) => browser.cookieHeader(stack.bffs[home.get(browser)!]!.url);
  /** A call as the SPA makes it (X-CSRF, the browser's cookie) to any instance. */
  const call = (browser: TestBrowser, instance: number, path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('x-csrf')) headers.set('x-csrf', '1');
    const cookie = cookieOf(browser);
    if (cookie) headers.set('cookie', cookie);
    return fetch(`${stack.bffs[instance]!.url}${path}`, { ...init, headers });
  };
  const list = async (browser: TestBrowser, instance = 0) => {
    const response = await call(browser, instance, '/bff/sessions');
    expect(response.status).toBe(200);
    return ((await response.json()) as UserSessions).sessions;
  };
  const stored = () => storedSessions(redis, stack.bff.url);
  const storedFor = (browser: TestBrowser) => storedSessions(redis, stack.bffs[home.get(browser)!]!.url);
  const refreshTokenOf = async (browser: TestBrowser) =>
    stack.bff.deps.sessionTokens.open((await storedFor(browser).record(browser))!).refreshToken!;
  /** A refresh grant straight at the provider: what a thief holding the refresh token would try. */
  const refreshAtProvider = (refreshToken: string) =>
    fetch(`${stack.idp.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
  /** 401 on /bff/user and on a proxied call, on both instances. */
  const signedOutEverywhere = async (browser: TestBrowser) => {
    const statuses = await Promise.all(
      [0, 1].flatMap((i) => [call(browser, i, '/bff/user?slide=false'), call(browser, i, '/rec/items')]).map(async (r) => (await r).status),
    );
    return statuses.every((status) => status === 401);
  };

  let laptop: TestBrowser; // alice, Chrome on Linux, instance 0
  let desktop: TestBrowser; // alice, Firefox on Windows, instance 1
  let phone: TestBrowser; // alice, Safari on iOS, instance 0
  let bobs: TestBrowser; // bob, Edge on Windows, instance 1

  beforeAll(async () => {
    laptop = await signIn(ALICE, 0, UA.chromeLinux);
    await nextSecond();
    desktop = await signIn(ALICE, 1, UA.firefoxWindows);
    await nextSecond();
    phone = await signIn(ALICE, 0, UA.safariIphone);
    bobs = await signIn(BOB, 1, UA.edgeWindows);
  });

  it('lists every session of the user, newest first, with public handles, devices and times, this one marked', async () => {
    const before = Math.floor(Date.now() / 1000);
    const response = await call(laptop, 1, '/bff/sessions');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    const { sessions } = JSON.parse(text) as UserSessions;
    expect(sessions.map((s) => s.device)).toEqual(['Safari on iOS', 'Firefox on Windows', 'Chrome on Linux']);
    expect(sessions.map((s) => s.current)).toEqual([false, false, true]);
    const created = sessions.map((s) => s.createdAt);
    expect(created[0]!).toBeGreaterThan(created[1]!);
    expect(created[1]!).toBeGreaterThan(created[2]!);
    for (const session of sessions) {
      expect(Object.keys(session).sort()).toEqual(['createdAt', 'current', 'device', 'handle', 'lastActiveAt']);
      expect(session.handle).toMatch(PUBLIC_HANDLE);
      expect(session.lastActiveAt).toBeGreaterThanOrEqual(session.createdAt);
      expect(session.lastActiveAt).toBeLessThanOrEqual(before + 1);
    }
    expect(new Set(sessions.map((s) => s.handle)).size).toBe(3);

    // Handles are public names: never a session id (cookie value), never the storage handle, no raw User-Agent.
    for (const browser of [laptop, desktop, phone]) {
      const id = storedFor(browser).idOf(browser);
      expect(text).not.toContain(id);
      expect(text).not.toContain(stack.bff.deps.sessions.storageIdOf(id));
    }
    for (const agent of Object.values(UA)) expect(text).not.toContain(agent);
    expect(text).not.toMatch(/Mozilla|AppleWebKit|Gecko/);

    // Stable for the session's life, the same on both instances and from every device.
    expect(await list(desktop, 0)).toEqual(
      sessions.map((s) => ({ ...s, current: s.device === 'Firefox on Windows', lastActiveAt: expect.any(Number) })),
    );
    const bobList = await list(bobs, 0);
    expect(bobList).toEqual([expect.objectContaining({ device: 'Edge on Windows', current: true })]);
    expect(sessions.map((s) => s.handle)).not.toContain(bobList[0]!.handle);
  });

  it('requires X-CSRF, a same-origin Sec-Fetch-Site and a session on all three endpoints', async () => {
    const [target] = await list(laptop);
    const endpoints: Array<[string, string]> = [
      ['GET', '/bff/sessions'],
      ['DELETE', `/bff/sessions/${target!.handle}`],
      ['DELETE', '/bff/sessions'],
    ];
    for (const [method, path] of endpoints) {
      const noHeader = await call(laptop, 0, path, { method, headers: { 'x-csrf': '' } });
      expect(noHeader.status, `${method} ${path} without X-CSRF`).toBe(403);
      expect(await noHeader.json()).toMatchObject({ error: 'csrf' });
      const crossSite = await call(laptop, 1, path, { method, headers: { 'sec-fetch-site': 'cross-site' } });
      expect(crossSite.status, `${method} ${path} cross-site`).toBe(403);
      const anonymous = await fetch(`${stack.bff.url}${path}`, { method, headers: { 'x-csrf': '1' } });
      expect(anonymous.status, `${method} ${path} without a session`).toBe(401);
      expect(await anonymous.json()).toMatchObject({ error: 'unauthenticated' });
    }
    // Nothing was ended by any of the refused calls.
    expect(await list(laptop)).toHaveLength(3);
  });

  it("answers 404 to another user's handle, an unknown one and a malformed one, and ends nothing", async () => {
    const alices = await list(laptop);
    for (const handle of [alices[0]!.handle, 'A'.repeat(22), 'not-a-handle', '..%2f..']) {
      const response = await call(bobs, 0, `/bff/sessions/${handle}`, { method: 'DELETE' });
      expect(response.status, handle).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not_found' });
    }
    expect(await list(laptop)).toHaveLength(3);
    expect((await call(bobs, 1, '/bff/user')).status).toBe(200);
  });

  it('ends one other session: 401 on every instance within 100 ms, refresh token revoked at the provider, index pruned', async () => {
    const refreshToken = await refreshTokenOf(desktop);
    const desktopHandle = stack.bff.deps.sessions.storageIdOf(storedFor(desktop).idOf(desktop));
    const revokedBefore = stack.idp.stats.revokedTokens;
    expect(await signedOutEverywhere(desktop)).toBe(false);
    const target = (await list(laptop)).find((s) => s.device === 'Firefox on Windows')!;

    const response = await call(laptop, 0, `/bff/sessions/${target.handle}`, { method: 'DELETE' });
    const answeredAt = Date.now();
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toEqual([]); // the caller's own cookie is untouched
    expect(await within(100, answeredAt, () => signedOutEverywhere(desktop))).toBe(true);

    expect(stack.idp.stats.revokedTokens).toBe(revokedBefore + 1);
    const refresh = await refreshAtProvider(refreshToken);
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe('invalid_grant');
    expect(await redis.client.sismember(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }), desktopHandle)).toBe(0);
    expect((await list(phone, 1)).map((s) => s.device)).toEqual(['Safari on iOS', 'Chrome on Linux']);
    expect((await call(laptop, 1, '/rec/items')).status).toBe(200);
    // Gone is gone: the same handle again is 404.
    expect((await call(laptop, 1, `/bff/sessions/${target.handle}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('revokes the newest refresh token even when the session was read before a refresh rotated it', async () => {
    const browser = await signIn(BOB, 0, UA.chromeLinux);
    const stored = storedFor(browser);
    const before = (await stored.record(browser))!; // what a "Your sessions" listing read
    await stored.makeDue(browser);
    expect((await call(browser, 0, '/rec/items')).status).toBe(200); // refreshed: a new refresh token
    const newest = await refreshTokenOf(browser);
    expect(newest).not.toBe(stack.bff.deps.sessionTokens.open(before).refreshToken);
    const { endSession } = await import('../bff/src/oidc/end-session.js');
    const storageId = stack.bff.deps.sessions.storageIdOf(stored.idOf(browser));
    await endSession(stack.bff.deps, { storageId, record: before }, 'ended_elsewhere');
    expect(stack.idp.stats.revokedValues.at(-1)).toBe(newest);
  });

  it('ends every other session of the user and reports how many; the other user is untouched', async () => {
    const tablet = await signIn(ALICE, 1, UA.edgeWindows);
    const revokedBefore = stack.idp.stats.revokedTokens;
    const tokens = [await refreshTokenOf(phone), await refreshTokenOf(tablet)];

    const response = await call(laptop, 1, '/bff/sessions', { method: 'DELETE' });
    const answeredAt = Date.now();
    expect(response.status).toBe(200);
    expect((await response.json()) as SessionsEnded).toEqual({ ended: 2 });
    expect(await within(100, answeredAt, async () => (await signedOutEverywhere(phone)) && (await signedOutEverywhere(tablet)))).toBe(true);
    expect(stack.idp.stats.revokedTokens).toBe(revokedBefore + 2);
    for (const token of tokens) expect((await refreshAtProvider(token)).status).toBe(400);

    expect((await list(laptop)).map((s) => [s.device, s.current])).toEqual([['Chrome on Linux', true]]);
    expect((await call(bobs, 0, '/bff/user')).status).toBe(200);
    expect(await list(bobs)).toHaveLength(1);
    const again = await call(laptop, 0, '/bff/sessions', { method: 'DELETE' });
    expect(await again.json()).toEqual({ ended: 0 });
  });

  it('prunes index members whose sessions expired when listing', async () => {
    const shortLived = await signIn(ALICE, 0, UA.firefoxWindows);
    const handle = stack.bff.deps.sessions.storageIdOf(stored().idOf(shortLived));
    expect(await redis.client.sismember(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }), handle)).toBe(1);
    await redis.client.pexpire(stored().keyOf(shortLived), 1); // its idle timeout runs out, in Redis
    await sleep(20);
    expect((await list(laptop)).map((s) => s.device)).toEqual(['Chrome on Linux']);
    expect(await redis.client.sismember(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }), handle)).toBe(0);
  });

  it('lists and ends a session stored before sessions had public handles and devices', async () => {
    const old = await signIn(ALICE, 0, UA.firefoxWindows);
    const record = (await stored().record(old))!;
    delete record.publicId;
    delete record.device;
    await redis.client.set(stored().keyOf(old), JSON.stringify(record), 'KEEPTTL');
    const entry = (await list(laptop)).find((s) => !s.current)!;
    expect(entry).toMatchObject({ device: 'Unknown device', handle: expect.stringMatching(PUBLIC_HANDLE) });
    expect((await list(laptop, 1)).find((s) => !s.current)!.handle).toBe(entry.handle); // derived, yet stable
    expect((await call(laptop, 1, `/bff/sessions/${entry.handle}`, { method: 'DELETE' })).status).toBe(204);
    expect(await signedOutEverywhere(old)).toBe(true);
  });

  it('ends its own session as a sign-out without the provider round trip: 204 and the cookie cleared', async () => {
    const own = (await list(laptop)).find((s) => s.current)!;
    const response = await laptop.fetch(`${stack.bff.url}/bff/sessions/${own.handle}`, { method: 'DELETE', headers: { 'x-csrf': '1' } });
    expect(response.status).toBe(204);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.getSetCookie().some((line) => /^bff=;/.test(line))).toBe(true);
    expect(laptop.cookie(stack.bff.url, 'bff')).toBeUndefined();
    expect((await laptop.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
  });
});

for (const store of ['redis', 'memory'] as const) {
  describe(`GET /bff/user?slide=false (${store} store)`, () => {
    const IDLE = 3;
    let redis: RunningRedis | undefined;
    let stack: Stack;
    beforeAll(async () => {
      if (store === 'redis') redis = await startRedis();
      stack = await startStack({ redisUrl: redis?.url, env: { SESSION_IDLE_TIMEOUT: String(IDLE) } });
    });
    afterAll(async () => {
      await stack?.close();
      await redis?.stop();
    });

    it('lets an idle session expire under background checks while a sliding poll keeps another alive', async () => {
      const idle = await stack.signIn(ALICE, stack.bff, new TestBrowser());
      const busy = await stack.signIn(ALICE, stack.bff, new TestBrowser());
      const user = async (browser: TestBrowser, slide: boolean) => browser.api(`${stack.bff.url}/bff/user${slide ? '' : '?slide=false'}`);
      const first = (await (await user(idle, false)).json()) as UserInfo;
      const idleEnd = first.session.idleExpiresAt;

      const statuses: number[] = [];
      const ends: number[] = [];
      const sessionsOf = async (browser: TestBrowser) =>
        ((await (await browser.api(`${stack.bff.url}/bff/sessions`)).json()) as UserSessions).sessions;
      let quietMidway: UserSessions['sessions'][number] | undefined;
      const startedAt = Date.now();
      while (Date.now() - startedAt < (IDLE + 1.5) * 1000) {
        const [quiet, active] = await Promise.all([user(idle, false), user(busy, true)]);
        statuses.push(quiet.status);
        if (quiet.status === 200) ends.push(((await quiet.json()) as UserInfo).session.idleExpiresAt);
        expect(active.status).toBe(200); // the sliding poll keeps its session alive well past IDLE
        if (!quietMidway && Date.now() - startedAt > 2000) quietMidway = (await sessionsOf(busy)).find((s) => !s.current);
        await sleep(300);
      }
      // Background checks saw the same idle end every time, and then the session was gone.
      expect(ends.length).toBeGreaterThan(2);
      expect(new Set(ends)).toEqual(new Set([idleEnd]));
      expect(statuses.at(-1)).toBe(401);
      expect(statuses.indexOf(401)).toBeGreaterThan(0);
      expect(statuses.slice(statuses.indexOf(401)).every((status) => status === 401)).toBe(true);
      expect(Date.now() / 1000).toBeGreaterThanOrEqual(idleEnd);

      // lastActiveAt: still the sign-in time for the session only checked in the background,
      // moved with the sliding one (seen from a third session, so the listing itself does not count).
      expect(quietMidway).toBeDefined();
      expect(quietMidway!.lastActiveAt).toBe(quietMidway!.createdAt);
      const viewer = await stack.signIn(ALICE, stack.bff, new TestBrowser());
      const seen = await sessionsOf(viewer);
      expect(seen.map((s) => s.current)).toEqual([true, false]);
      expect(seen[1]!.lastActiveAt).toBeGreaterThanOrEqual(seen[1]!.createdAt + IDLE);
    });
  });
}

describe("the user's session index in Redis", () => {
  let redis: RunningRedis;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const call = (browser: TestBrowser, path: string, init: RequestInit = {}) =>
    fetch(`${stack.bff.url}${path}`, { ...init, headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url) ?? '' } });
  const devicesOf = async (browser: TestBrowser) =>
    ((await (await call(browser, '/bff/sessions')).json()) as UserSessions).sessions.map((s) => s.device).sort();

  it('names no user in any key (a keyed hash of issuer and sub); listing, ending the others and back-channel logout by sub still work', async () => {
    const laptop = await stack.signIn(ALICE, stack.bff, new TestBrowser({ userAgent: UA.chromeLinux }));
    const phone = await stack.signIn(ALICE, stack.bff, new TestBrowser({ userAgent: UA.safariIphone }));
    const tablet = await stack.signIn(ALICE, stack.bff, new TestBrowser({ userAgent: UA.edgeWindows }));
    const bobs = await stack.signIn(BOB, stack.bff, new TestBrowser({ userAgent: UA.firefoxWindows }));

    const names = await redis.client.keys('*');
    expect(names.length).toBeGreaterThan(4);
    const issuer = new URL(stack.idp.issuer);
    for (const identifier of [ALICE.sub, BOB.sub, stack.idp.issuer, issuer.host]) {
      expect(
        names.filter((name) => name.includes(identifier)),
        identifier,
      ).toEqual([]);
    }
    expect(await redis.client.scard(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }))).toBe(3);

    expect(await devicesOf(laptop)).toEqual(['Chrome on Linux', 'Edge on Windows', 'Safari on iOS']);
    expect(await devicesOf(bobs)).toEqual(['Firefox on Windows']);
    expect(await (await call(tablet, '/bff/sessions', { method: 'DELETE' })).json()).toEqual({ ended: 2 });
    expect((await call(laptop, '/bff/user')).status).toBe(401);
    expect((await call(phone, '/bff/user')).status).toBe(401);
    expect(await devicesOf(tablet)).toEqual(['Edge on Windows']);

    const token = await logoutTokenFor(stack, { sub: ALICE.sub });
    const logout = await fetch(`${stack.bff.url}/bff/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    });
    expect(logout.status).toBe(200);
    expect((await call(tablet, '/bff/user')).status).toBe(401);
    expect((await call(bobs, '/bff/user')).status).toBe(200); // another user's sessions are untouched
  });

  it('finds the sessions indexed under a retired SESSION_KEYS entry after a rotation, and ends them by sub', async () => {
    const first = await stack.signIn(ALICE, stack.bff, new TestBrowser({ userAgent: UA.chromeLinux }));
    const second = await stack.signIn(ALICE, stack.bff, new TestBrowser({ userAgent: UA.safariIphone }));
    const rotatedKey = 'rotated-session-key-0123456789abcdef-012345';
    const rotated = await startBff({ ...stack.env, SESSION_KEYS: `${rotatedKey},${TEST_SESSION_KEY}` });
    const at = (browser: TestBrowser, path: string) =>
      fetch(`${rotated.url}${path}`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } });
    try {
      // The first session moves to the new key as it is read; the second is still indexed under the old one.
      const listed = (await (await at(first, '/bff/sessions')).json()) as UserSessions;
      expect(listed.sessions.map((s) => s.device).sort()).toEqual(['Chrome on Linux', 'Safari on iOS']);
      expect(await redis.client.scard(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }, rotatedKey))).toBe(1);
      const token = await logoutTokenFor(stack, { sub: ALICE.sub });
      const logout = await fetch(`${rotated.url}/bff/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }),
      });
      expect(logout.status).toBe(200);
      for (const browser of [first, second]) expect((await at(browser, '/bff/user')).status).toBe(401);
    } finally {
      await rotated.close();
    }
  });

  it('still lists and ends by sub a session indexed before the index was hashed (pre-upgrade)', async () => {
    const current = await stack.signIn(ALICE, stack.bff, new TestBrowser({ userAgent: UA.chromeLinux }));
    const old = await stack.signIn(ALICE, stack.bff, new TestBrowser({ userAgent: UA.firefoxWindows }));
    const stored = storedSessions(redis, stack.bff.url);
    const handle = stack.bff.deps.sessions.storageIdOf(stored.idOf(old));
    // As the previous release left it: the handle in the sub-named set only.
    await redis.client.srem(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }), handle);
    await redis.client.sadd(`bff:by-sub:{${ALICE.sub}}`, handle);
    expect(await devicesOf(current)).toEqual(['Chrome on Linux', 'Firefox on Windows']);
    const token = await logoutTokenFor(stack, { sub: ALICE.sub });
    const logout = await fetch(`${stack.bff.url}/bff/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    });
    expect(logout.status).toBe(200);
    expect((await call(old, '/bff/user')).status).toBe(401);
    expect(await redis.client.exists(`bff:by-sub:{${ALICE.sub}}`)).toBe(0);
  });
});
