import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPORTS_API } from '../dev/idp/index.js';
import type { TestBrowser } from './support/browser.js';
import { intercept, json, type Answer, type Intercepted } from './support/idp-front.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';

/**
 * Budgets, grants at the provider (docs/budgets.md, grants): no caller can make the BFF ask the
 * provider for tokens on every call, a route's own grant refused does not end the session, and
 * a refresh that outlives its session leaves no live refresh token behind. Middleware in front
 * of the real dev provider refuses or delays what each test needs; grants are counted there.
 */
const REPORTS = encodeURIComponent(REPORTS_API.audience);
const routes = ({ upstream }: { upstream: string }) =>
  [
    // A route's own user token (refresh_token grant with resource), to the recording upstream.
    `/own=${upstream}/own#resource=${REPORTS}`,
    // Client tokens of two identities of their own, so their grants are told apart.
    `/cc=${upstream}/cc#token=client&resource=${REPORTS}`,
    `/cc429=${upstream}/cc429#token=client&scope=openid`,
  ].join(',');

describe('grants at the provider', () => {
  let redis: RunningRedis;
  let stack: Stack;
  /** How the token endpoint answers a grant in the current test (undefined: the provider answers). */
  let onGrant: ((request: Intercepted) => Promise<Answer>) | undefined;
  /** Token endpoint calls by grant type, refused ones included (the provider's stats count successes). */
  const attempts: Record<string, number> = {};

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      redisUrl: redis.url,
      routes,
      idpFront: [
        intercept('/token', () => async (request) => {
          const type = request.form.get('grant_type')!;
          attempts[type] = (attempts[type] ?? 0) + 1;
          return onGrant ? onGrant(request) : request.forward();
        }),
      ],
    });
  });
  afterEach(() => {
    onGrant = undefined;
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const stored = () => storedSessions(redis, stack.bff.url);
  const call = (path: string, browser?: TestBrowser) =>
    fetch(`${stack.bff.url}${path}`, { headers: { 'x-csrf': '1', ...(browser ? { cookie: browser.cookieHeader(stack.bff.url)! } : {}) } });
  const refreshGrants = () => stack.idp.stats.tokenGrants.refresh_token ?? 0;
  const tried = (type: string) => attempts[type] ?? 0;
  const grantParam = (request: Intercepted, name: string) => request.form.get(name) ?? undefined;

  describe('a user token an upstream refuses within 10 s of its grant', () => {
    it('is not refreshed again: the upstream 401 is passed on and the provider sees one refresh, not one per call', async () => {
      const browser = await stack.signIn();
      await stored().makeOld(browser); // the sign-in token may be renewed once when refused
      const before = refreshGrants();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await call('/rec/refuse-token', browser);
        statuses.push(response.status);
        expect(await response.json()).toEqual({ error: 'invalid_token' }); // the upstream's own answer
      }
      expect(statuses).toEqual(Array(6).fill(401));
      // The old token's refusal: one refresh. The new token's refusals, all within 10 s of it: none.
      expect(refreshGrants() - before).toBe(1);
      expect(await stored().record(browser)).not.toBeNull();
      expect((await call('/rec/items', browser)).status).toBe(200);
    });

    it("holds for a route's own token too: its first grant, then no more", async () => {
      const browser = await stack.signIn();
      const before = refreshGrants();
      for (let i = 0; i < 4; i++) expect((await call('/own/refuse-token', browser)).status).toBe(401);
      expect(refreshGrants() - before).toBe(1);
    });
  });

  describe('a refused client-credentials grant', () => {
    it('is not tried again for 10 s: callers get 503 unavailable meanwhile, then the next call grants', async () => {
      onGrant = async (request) =>
        request.form.get('grant_type') === 'client_credentials' ? json(400, { error: 'unauthorized_client' }) : request.forward();
      const before = tried('client_credentials');
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        const response = await call('/cc/x');
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ error: 'unavailable' });
        const retryAfter = Number(response.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(10);
      }
      expect(tried('client_credentials') - before).toBe(1);

      // The provider takes it again: still no grant until 10 s after the refusal, then one.
      onGrant = undefined;
      expect((await call('/cc/x')).status).toBe(503);
      expect(tried('client_credentials') - before).toBe(1);
      await sleep(Math.max(0, started + 10_500 - Date.now()));
      expect((await call('/cc/x')).status).toBe(200);
      expect((await call('/cc/x')).status).toBe(200);
      expect(tried('client_credentials') - before).toBe(2);
    }, 30_000);

    it("a 429 with Retry-After: the provider's wait is honoured, beyond the 10 s", async () => {
      onGrant = async (request) =>
        request.form.get('grant_type') === 'client_credentials'
          ? json(429, { error: 'slow_down' }, { 'retry-after': '120' })
          : request.forward();
      const before = tried('client_credentials');
      for (let i = 0; i < 3; i++) {
        const response = await call('/cc429/x');
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ error: 'unavailable' });
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(100);
      }
      expect(tried('client_credentials') - before).toBe(1);
    });
  });

  describe("a route's own grant (resource/scope) refused", () => {
    /** Refuses refresh grants that carry a resource (the route's) with `answer`; the sign-in token's go through. */
    const refuseRouteGrants = (answer: Answer) => {
      onGrant = async (request) =>
        request.form.get('grant_type') === 'refresh_token' && grantParam(request, 'resource') ? answer : request.forward();
    };

    it.each<[string, Answer]>([
      ['invalid_request', json(400, { error: 'invalid_request', error_description: 'resource not allowed' })],
      ['a bare 400', { status: 400 }],
    ])('with %s: 403 forbidden, the session kept', async (_name, answer) => {
      const browser = await stack.signIn();
      refuseRouteGrants(answer);
      const response = await call('/own/x', browser);
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden' });
      expect(await stored().record(browser)).not.toBeNull();
      expect((await call('/rec/items', browser)).status).toBe(200);
    });

    it('with invalid_grant: the session ends', async () => {
      const browser = await stack.signIn();
      refuseRouteGrants(json(400, { error: 'invalid_grant' }));
      const response = await call('/own/x', browser);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
      expect(await stored().record(browser)).toBeNull();
    });
  });

  it('a refresh whose session ended while it ran revokes the refresh token it just obtained', async () => {
    const browser = await stack.signIn();
    await stored().makeDue(browser);
    let issued: ((refreshToken: string) => void) | undefined;
    const obtained = new Promise<string>((resolve) => (issued = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The provider answers the refresh, and the answer is held until the session has ended.
    onGrant = async (request) => {
      const answer = await request.forward();
      if (request.form.get('grant_type') !== 'refresh_token' || answer.status !== 200) return answer;
      issued?.((JSON.parse(answer.body!) as { refresh_token: string }).refresh_token);
      await released;
      return answer;
    };
    const pending = call('/rec/items', browser);
    const newRefreshToken = await obtained;
    // The session ends meanwhile (its idle time ran out: Redis dropped the key, nothing was revoked).
    await redis.client.del(stored().keyOf(browser));
    await stored().announce(browser);
    release();
    const response = await pending;
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
    expect(stack.idp.stats.revokedValues).toContain(newRefreshToken);
  });
});
