import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserInfo } from '../shared/src/index.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, startStack, type Stack } from './support/stack.js';
import { sessionKey } from './support/bff.js';

/** Reads what a session holds in the store, by the browser's session cookie. */
async function storedSession(stack: Stack, browser: TestBrowser) {
  const id = browser.cookie(stack.bff.url, 'bff');
  return id ? stack.bff.deps.kv.get(sessionKey(id)) : null;
}

for (const store of ['redis', 'memory'] as const) {
  describe(`sign-in end to end (${store} store)`, () => {
    let redis: RunningRedis | undefined;
    let stack: Stack;

    beforeAll(async () => {
      if (store === 'redis') redis = await startRedis();
      stack = await startStack({ redisUrl: redis?.url });
    });
    afterAll(async () => {
      await stack?.close();
      await redis?.stop();
    });

    it('redirects to the provider with PKCE S256, state, nonce and the exact redirect_uri', async () => {
      const browser = new TestBrowser();
      const response = await browser.fetch(`${stack.bff.url}/bff/login?returnTo=/notes`);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin).toBe(new URL(stack.idp.issuer).origin);
      const query = location.searchParams;
      expect(query.get('response_type')).toBe('code');
      expect(query.get('client_id')).toBe('bff-kit-test');
      expect(query.get('redirect_uri')).toBe(`${stack.bff.url}/bff/callback`);
      expect(query.get('scope')?.split(' ')).toContain('openid');
      expect(query.get('code_challenge_method')).toBe('S256');
      expect(query.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(query.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(query.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      const loginCookie = response.headers.getSetCookie().find((c) => c.startsWith('bff-login='))!;
      expect(loginCookie).toMatch(/httponly/i);
      expect(loginCookie).toMatch(/samesite=lax/i);
      const expires = Date.parse(/expires=([^;]+)/i.exec(loginCookie)![1]!);
      expect(expires - Date.now()).toBeGreaterThan(590_000);
      expect(expires - Date.now()).toBeLessThanOrEqual(601_000);
    });

    it('signs in, returns to returnTo, and serves the user without tokens', async () => {
      const browser = new TestBrowser();
      const start = await browser.fetch(`${stack.bff.url}/bff/login?returnTo=${encodeURIComponent('/notes?tab=1')}`);
      const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
      expect(back.startsWith(`${stack.bff.url}/bff/callback?`)).toBe(true);
      const done = await browser.fetch(back);
      expect(done.status).toBe(302);
      expect(done.headers.get('location')).toBe('/notes?tab=1');
      const sessionCookie = done.headers.getSetCookie().find((c) => c.startsWith('bff='))!;
      expect(sessionCookie).toMatch(/httponly/i);
      expect(sessionCookie).toMatch(/samesite=strict/i);
      expect(sessionCookie).toMatch(/path=\//i);
      expect(sessionCookie).not.toMatch(/domain=/i);
      expect(browser.cookie(stack.bff.url, 'bff')).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const response = await browser.api(`${stack.bff.url}/bff/user`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const user = (await response.json()) as UserInfo;
      expect(user.sub).toBe(ALICE.sub);
      expect(user.claims.name).toBe(ALICE.name);
      expect(user.claims.email).toBe(ALICE.email);
      for (const protocolClaim of ['nonce', 'at_hash', 'c_hash', 'aud', 'azp']) expect(user.claims).not.toHaveProperty(protocolClaim);
      const now = Date.now() / 1000;
      expect(user.session.expiresAt).toBeGreaterThan(now + 28000);
      expect(user.session.idleExpiresAt).toBeGreaterThan(now + 1700);
      expect(user.session.idleExpiresAt).toBeLessThanOrEqual(user.session.expiresAt);
      expect(user.logoutUrl).toMatch(/^\/bff\/logout\?sid=[A-Za-z0-9_-]+$/);
      const body = JSON.stringify(user);
      expect(body).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/); // no JWT anywhere
      expect(body).not.toMatch(/token/i);
    });

    it('keeps tokens encrypted in the store and under a TTL', async () => {
      const browser = await stack.signIn();
      const raw = (await storedSession(stack, browser))!;
      expect(raw).toBeTruthy();
      expect(raw).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
      const record = JSON.parse(raw) as { sealedTokens: string };
      expect(record.sealedTokens).toMatch(/^v2\./);
      if (redis) {
        const id = browser.cookie(stack.bff.url, 'bff')!;
        const ttl = await redis.client.pttl(sessionKey(id));
        expect(ttl).toBeGreaterThan(1_700_000);
        expect(ttl).toBeLessThanOrEqual(1_800_000);
        for (const key of await redis.client.keys('*')) expect(await redis.client.pttl(key)).toBeGreaterThan(0);
      }
    });

    it('writes the new session exactly once at the callback', async () => {
      if (!redis) return expect(store).toBe('memory'); // counted with Redis's own statistics
      const browser = new TestBrowser();
      const start = await browser.fetch(`${stack.bff.url}/bff/login`);
      const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
      const sets = async () => Number(/cmdstat_set:calls=(\d+)/.exec(await redis!.client.info('commandstats'))?.[1] ?? 0);
      const before = await sets();
      expect((await browser.fetch(back)).status).toBe(302);
      // The record and its end marker (why it ended, later: session-ends.ts), each once.
      expect((await sets()) - before).toBe(2);
    });

    it('a callback costs GETDEL, two SETs and one SADD + PEXPIRE per index: no script, nothing read', async () => {
      if (!redis) return expect(store).toBe('memory'); // counted with Redis's own statistics
      const browser = new TestBrowser();
      const start = await browser.fetch(`${stack.bff.url}/bff/login`);
      const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
      const commandCounts = async () =>
        new Map(
          [...(await redis!.client.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)]
            .filter(([, name]) => name !== 'info' && name !== 'publish') // the probe itself, the instances' heartbeats
            .map(([, name, calls]) => [name!, Number(calls)]),
        );
      const before = await commandCounts();
      expect((await browser.fetch(back)).status).toBe(302);
      const spent = Object.fromEntries(
        [...(await commandCounts())].map(([name, calls]) => [name, calls - (before.get(name) ?? 0)]).filter(([, n]) => n),
      );
      // The login transaction taken once, the record and its end marker, the user's index (and the
      // provider session's, when the ID token names one), each set with its TTL in the same write.
      const indexes = spent.sadd;
      expect(indexes === 1 || indexes === 2).toBe(true);
      expect(spent).toEqual({ getdel: 1, set: 2, sadd: indexes, pexpire: indexes });
    });

    it('a first sign-in reads and deletes no session at the callback (there is none to drop)', async () => {
      if (!redis) return expect(store).toBe('memory'); // counted with Redis's own statistics
      const browser = new TestBrowser();
      browser.cookies.set(new URL(stack.bff.url).host, new Map([['bff', 'B'.repeat(43)]])); // names no session
      const start = await browser.fetch(`${stack.bff.url}/bff/login`);
      const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
      const calls = async (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(await redis!.client.info('commandstats'))?.[1] ?? 0);
      const before = { get: await calls('get'), del: await calls('del') };
      expect((await browser.fetch(back)).status).toBe(302);
      // koa-session looked up what the planted cookie names (a GETEX, nothing found) and made a fresh
      // id: there is no old session to read for its indexes or to delete.
      expect((await calls('get')) - before.get).toBe(0);
      expect((await calls('del')) - before.del).toBe(0);
      expect(browser.cookie(stack.bff.url, 'bff')).not.toBe('B'.repeat(43));
    });

    it('issues a new session id at sign-in (no fixation)', async () => {
      const browser = await stack.signIn();
      const first = browser.cookie(stack.bff.url, 'bff')!;
      await stack.signIn(ALICE, stack.bff, browser);
      const second = browser.cookie(stack.bff.url, 'bff')!;
      expect(second).not.toBe(first);
      expect(await stack.bff.deps.kv.get(sessionKey(first))).toBeNull();

      // A planted cookie value is never adopted as a session id.
      const victim = new TestBrowser();
      const planted = 'A'.repeat(43);
      victim.cookies.set(new URL(stack.bff.url).host, new Map([['bff', planted]]));
      await stack.signIn(ALICE, stack.bff, victim);
      expect(victim.cookie(stack.bff.url, 'bff')).not.toBe(planted);
      expect(await stack.bff.deps.kv.get(sessionKey(planted))).toBeNull();
    });

    it('answers 401 to /bff/user without a session and 403 without the CSRF header', async () => {
      const anonymous = await fetch(`${stack.bff.url}/bff/user`, { headers: { 'x-csrf': '1' } });
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toEqual({ error: 'unauthenticated', reason: 'no_session', message: expect.any(String) });
      const browser = await stack.signIn();
      const noHeader = await browser.fetch(`${stack.bff.url}/bff/user`);
      expect(noHeader.status).toBe(403);
      expect(((await noHeader.json()) as { error: string }).error).toBe('csrf');
      const crossSite = await browser.api(`${stack.bff.url}/bff/user`, { headers: { 'sec-fetch-site': 'cross-site' } });
      expect(crossSite.status).toBe(403);
    });

    it('rejects a tampered state with a 400 page and no session', async () => {
      const browser = new TestBrowser();
      const start = await browser.fetch(`${stack.bff.url}/bff/login`);
      const back = new URL(await loginThroughIdp(start.headers.get('location')!, ALICE));
      back.searchParams.set('state', `${back.searchParams.get('state')}x`);
      const response = await browser.fetch(back.href);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      expect(browser.cookie(stack.bff.url, 'bff')).toBeUndefined();
    });

    it('rejects a replayed callback with no session', async () => {
      const browser = new TestBrowser();
      const start = await browser.fetch(`${stack.bff.url}/bff/login`);
      const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
      expect((await browser.fetch(back)).status).toBe(302);
      const replayer = new TestBrowser();
      replayer.cookies.set(new URL(stack.bff.url).host, new Map([['bff-login', browser.cookie(stack.bff.url, 'bff-login')!]]));
      const replay = await replayer.fetch(back);
      expect(replay.status).toBe(400);
      expect(replayer.cookie(stack.bff.url, 'bff')).toBeUndefined();
    });

    it("refuses a callback carrying another browser's state (login CSRF)", async () => {
      const attacker = new TestBrowser();
      const start = await attacker.fetch(`${stack.bff.url}/bff/login`);
      const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
      const victim = new TestBrowser();
      await victim.fetch(`${stack.bff.url}/bff/login`); // the victim has a login cookie of its own
      const response = await victim.fetch(back);
      expect(response.status).toBe(400);
      expect(victim.cookie(stack.bff.url, 'bff')).toBeUndefined();
    });

    it('lets several tabs sign in at once without breaking each other', async () => {
      const browser = new TestBrowser();
      const starts = [];
      for (const n of [1, 2, 3]) starts.push(await browser.fetch(`${stack.bff.url}/bff/login?returnTo=/tab${n}`));
      const backs = [];
      for (const start of starts) backs.push(await loginThroughIdp(start.headers.get('location')!, ALICE));
      const results = [];
      for (const back of backs.reverse()) results.push(await browser.fetch(back));
      expect(results.map((r) => r.status)).toEqual([302, 302, 302]);
      expect(results.map((r) => r.headers.get('location'))).toEqual(['/tab3', '/tab2', '/tab1']);
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(200);
    });

    it('sends provider errors back to the app as login_error', async () => {
      const browser = new TestBrowser();
      const start = await browser.fetch(`${stack.bff.url}/bff/login`);
      const back = await loginThroughIdp(start.headers.get('location')!, ALICE, { deny: true });
      const response = await browser.fetch(back);
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/?login_error=access_denied');
      expect(browser.cookie(stack.bff.url, 'bff')).toBeUndefined();
    });

    it('signs out: refuses a wrong sid, then deletes the session and hands over to end-session', async () => {
      const browser = await stack.signIn();
      const id = browser.cookie(stack.bff.url, 'bff')!;
      const { logoutUrl } = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as UserInfo;

      const forged = await browser.fetch(`${stack.bff.url}/bff/logout?sid=wrong`);
      expect(forged.status).toBe(400);
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(200);

      const response = await browser.fetch(`${stack.bff.url}${logoutUrl}`);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin).toBe(new URL(stack.idp.issuer).origin);
      expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.bff.url}/`);
      expect(location.searchParams.get('id_token_hint')).toBeTruthy();
      expect(await stack.bff.deps.kv.get(sessionKey(id))).toBeNull();
      expect(browser.cookie(stack.bff.url, 'bff')).toBeUndefined();
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
    });

    it('clears a cookie that names no session (ended, unknown, made under a retired key) and redirects to /, with or without a sid', async () => {
      const browser = await stack.signIn();
      const id = browser.cookie(stack.bff.url, 'bff')!;
      const { logoutUrl } = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as UserInfo;
      await stack.bff.deps.sessions.destroy(id); // ended elsewhere; this browser still holds the cookie
      const signOut = (path: string, cookie?: string) =>
        fetch(`${stack.bff.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      const unknown = 'A'.repeat(43); // well-formed, but no key (current or retired) finds it
      for (const [path, cookie] of [
        [logoutUrl, `bff=${id}`],
        ['/bff/logout?sid=anything', `bff=${unknown}`],
        ['/bff/logout', `bff=${unknown}`],
        ['/bff/logout', 'bff=not-an-id'],
      ] as const) {
        const response = await signOut(path, cookie);
        expect(response.status, `${path} ${cookie}`).toBe(302);
        expect(response.headers.get('location')).toBe('/');
        expect(
          response.headers.getSetCookie().find((line) => line.startsWith('bff=')),
          `${path} ${cookie}`,
        ).toMatch(/^bff=;.*expires=Thu, 01 Jan 1970/i);
      }
      // No cookie: nothing to clear.
      const bare = await signOut('/bff/logout');
      expect(bare.status).toBe(302);
      expect(bare.headers.getSetCookie()).toEqual([]);
    });

    it('keeps open redirects out of returnTo', async () => {
      for (const returnTo of ['https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)']) {
        const browser = new TestBrowser();
        const start = await browser.fetch(`${stack.bff.url}/bff/login?returnTo=${encodeURIComponent(returnTo)}`);
        const done = await browser.fetch(await loginThroughIdp(start.headers.get('location')!, ALICE));
        expect(done.headers.get('location')).toBe('/');
      }
    });
  });
}
