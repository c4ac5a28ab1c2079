import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier } from '../dev/api/index.js';
import { REPORTS_API } from '../dev/idp/index.js';
import type { SessionRecord } from '../bff/src/session/records.js';
import { startBff } from './support/bff.js';
import type { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, API_AUDIENCE, BOB, CLIENT_ID, startStack, type Stack } from './support/stack.js';
import { expectRouteRefusals } from './support/route-refusals.js';
import { storedSessions } from './support/stored-sessions.js';

/**
 * Route policies (docs/route-policies.md): which token each route's upstream receives. Every
 * route below goes to the recording upstream under its own base path, so each request shows
 * which route it came through; `/reports` goes to a real API that checks the audience itself.
 */
const REPORTS = encodeURIComponent(REPORTS_API.audience);
const routes = ({ upstream }: { upstream: string }) =>
  [
    `/u=${upstream}/u`,
    `/uon=${upstream}/uon#token=user-or-none`,
    `/uoc=${upstream}/uoc#token=user-or-client&resource=${REPORTS}`,
    `/cl=${upstream}/cl#token=client&resource=${REPORTS}`,
    `/clplain=${upstream}/clplain#token=client`,
    `/none=${upstream}/none#token=none`,
    `/rep=${upstream}/rep#resource=${REPORTS}`,
    `/unknown=${upstream}/unknown#resource=https%3A%2F%2Funknown.example%2F`,
    `/badscope=${upstream}/badscope#scope=admin`,
  ].join(',');

/** Token endpoint calls, watched at the provider: how many run at once, and how many were refused. */
function tokenEndpointWatch() {
  const watch = { inFlight: 0, maxInFlight: 0, refused: [] as string[], delayMs: 0 };
  const middleware: Middleware = async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
    watch.inFlight++;
    watch.maxInFlight = Math.max(watch.maxInFlight, watch.inFlight);
    try {
      // A slow token endpoint: grants that are not serialized would overlap here.
      if (watch.delayMs) await sleep(watch.delayMs);
      await next();
      if (ctx.status >= 400) watch.refused.push(String((ctx.body as { error?: string } | undefined)?.error));
    } finally {
      watch.inFlight--;
    }
  };
  return { watch, middleware };
}

describe('route policies: per-route tokens on two BFF instances', () => {
  let redis: RunningRedis;
  let stack: Stack;
  const { watch, middleware } = tokenEndpointWatch();

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, instances: 2, routes, idpFront: [middleware] });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const call = (path: string, browser?: TestBrowser, instance = 0, init: RequestInit = {}) =>
    fetch(`${stack.bffs[instance]!.url}${path}`, {
      ...init,
      headers: { 'x-csrf': '1', ...(browser ? { cookie: browser.cookieHeader(stack.bff.url)! } : {}), ...(init.headers as object) },
    });
  /** The bearer token the upstream received on the last request under `base`. */
  const received = (base: string) => {
    const request = stack.upstream.requests.findLast((r) => r.url.startsWith(`${base}/`));
    const authorization = request?.headers.authorization;
    return authorization === undefined ? undefined : authorization.replace(/^Bearer /, '');
  };
  /** Verifies a token with the provider's key for `audience` (signature, issuer, audience, type). */
  const verify = (token: string, audience: string) => createAccessTokenVerifier({ issuer: stack.idp.issuer, audience }).verify(token);
  const stored = () => storedSessions(redis, stack.bff.url);

  it('user: the sign-in token for the demo API, and 401 signed out', async () => {
    const browser = await stack.signIn();
    expect((await call('/u/x', browser)).status).toBe(200);
    expect(await verify(received('/u')!, API_AUDIENCE)).toMatchObject({ sub: ALICE.sub });
    const signedOut = await call('/u/x');
    expect(signedOut.status).toBe(401);
    expect(await signedOut.json()).toMatchObject({ error: 'unauthenticated' });
  });

  it('user with resource: a token for that audience only, obtained on first use and kept sealed in the session', async () => {
    const browser = await stack.signIn();
    const before = (await stored().record(browser))!;
    expect(before.routeTokens).toBeUndefined(); // nothing fetched at sign-in
    const grantsBefore = stack.idp.stats.tokenGrants.refresh_token ?? 0;
    expect((await call('/rep/x', browser)).status).toBe(200);
    const token = received('/rep')!;
    expect(await verify(token, REPORTS_API.audience)).toMatchObject({ sub: ALICE.sub, audience: REPORTS_API.audience });
    await expect(verify(token, API_AUDIENCE)).rejects.toThrow();
    const after = (await stored().record(browser))!;
    expect(Object.keys(after.routeTokens!)).toHaveLength(1);
    expect(JSON.stringify(after)).not.toContain(token);
    // Reused from the session on both instances: no second grant.
    expect((await call('/rep/y', browser, 1)).status).toBe(200);
    expect(received('/rep')).toBe(token);
    expect((stack.idp.stats.tokenGrants.refresh_token ?? 0) - grantsBefore).toBe(1);
    // The sign-in token is unchanged and still goes to the plain route.
    expect(stack.bff.deps.sessionTokens.open(after).accessToken).toBe(stack.bff.deps.sessionTokens.open(before).accessToken);
  });

  it('a real API for the reports audience accepts the route token and refuses the sign-in token', async () => {
    const browser = await stack.signIn();
    const me = await call('/reports/me', browser);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: ALICE.sub, audience: REPORTS_API.audience });
    const { accessToken } = stack.bff.deps.sessionTokens.open((await stored().record(browser))!);
    const direct = await fetch(`${stack.reports.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(direct.status).toBe(401);
  });

  it("one route's token never reaches another route's upstream", async () => {
    const browser = await stack.signIn(BOB);
    const seen = new Map<string, string>();
    for (const base of ['/u', '/rep', '/cl', '/clplain', '/uon', '/uoc']) {
      expect((await call(`${base}/x`, browser)).status).toBe(200);
      seen.set(base, received(base)!);
    }
    // Same identity, same token: user-or-none and user use the sign-in token, user-or-client with
    // the reports resource uses the user's reports token while signed in.
    expect(seen.get('/uon')).toBe(seen.get('/u'));
    expect(seen.get('/uoc')).toBe(seen.get('/rep'));
    const distinct = new Set([seen.get('/u'), seen.get('/rep'), seen.get('/cl'), seen.get('/clplain')]);
    expect(distinct.size).toBe(4);
    for (const request of stack.upstream.requests) {
      const token = request.headers.authorization?.replace(/^Bearer /, '');
      if (token === seen.get('/u')) expect(request.url).toMatch(/^\/(u|uon)\//);
      if (token === seen.get('/rep')) expect(request.url).toMatch(/^\/(rep|uoc)\//);
      if (token === seen.get('/cl')) expect(request.url).toMatch(/^\/(cl|uoc)\//);
      if (token === seen.get('/clplain')) expect(request.url).toMatch(/^\/clplain\//);
    }
  });

  it('client: the BFF own token for its resource, signed in or not, cached and reused', async () => {
    const grantsBefore = stack.idp.stats.tokenGrants.client_credentials ?? 0;
    const responses = await Promise.all(Array.from({ length: 5 }, () => call('/cl/x')));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const token = received('/cl')!;
    const claims = await verify(token, REPORTS_API.audience);
    expect(claims).toMatchObject({ sub: CLIENT_ID, clientId: CLIENT_ID });
    const browser = await stack.signIn();
    expect((await call('/cl/y', browser)).status).toBe(200);
    expect(received('/cl')).toBe(token); // not the user's token, and not a new one
    // At most one grant per instance for this identity (five concurrent calls shared it).
    expect((stack.idp.stats.tokenGrants.client_credentials ?? 0) - grantsBefore).toBeLessThanOrEqual(1);
    // Without a resource, a client token of its own identity (the provider's default audience).
    expect((await call('/clplain/x')).status).toBe(200);
    expect(await verify(received('/clplain')!, API_AUDIENCE)).toMatchObject({ sub: CLIENT_ID });
  });

  it('user-or-none: the user token signed in; no token signed out or with an ended session', async () => {
    const browser = await stack.signIn();
    expect((await call('/uon/x', browser)).status).toBe(200);
    expect(await verify(received('/uon')!, API_AUDIENCE)).toMatchObject({ sub: ALICE.sub });
    expect((await call('/uon/x')).status).toBe(200);
    expect(received('/uon')).toBeUndefined();
    const ended = await fetch(`${stack.bff.url}/uon/x`, { headers: { 'x-csrf': '1', cookie: `bff=${'A'.repeat(43)}` } });
    expect(ended.status).toBe(200);
    expect(received('/uon')).toBeUndefined();
  });

  it('user-or-client: the user token signed in, the client token signed out', async () => {
    const browser = await stack.signIn();
    expect((await call('/uoc/x', browser)).status).toBe(200);
    expect(await verify(received('/uoc')!, REPORTS_API.audience)).toMatchObject({ sub: ALICE.sub });
    expect((await call('/uoc/x')).status).toBe(200);
    expect(await verify(received('/uoc')!, REPORTS_API.audience)).toMatchObject({ sub: CLIENT_ID });
  });

  it('none: no token and no session needed, signed in or not', async () => {
    const browser = await stack.signIn();
    for (const who of [browser, undefined]) {
      expect((await call('/none/x', who)).status).toBe(200);
      expect(received('/none')).toBeUndefined();
    }
  });

  it('every policy still needs X-CSRF', async () => {
    const browser = await stack.signIn();
    for (const base of ['/u', '/uon', '/uoc', '/cl', '/none', '/rep']) {
      const response = await call(`${base}/x`, browser, 0, { headers: { 'x-csrf': '' } });
      expect(response.status, base).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'csrf' });
    }
  });

  it('a resource or scope the provider refuses: 403 forbidden, session kept', async () => {
    const browser = await stack.signIn();
    for (const base of ['/unknown', '/badscope']) {
      const response = await call(`${base}/x`, browser);
      expect(response.status, base).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden' });
    }
    expect((await call('/u/x', browser)).status).toBe(200);
    expect(await stored().record(browser)).not.toBeNull();
  });

  it('20 concurrent calls on two instances with the sign-in and a resource token both due: one grant at a time, no invalid_grant', async () => {
    const browser = await stack.signIn();
    expect((await call('/rep/x', browser)).status).toBe(200); // the session now holds a reports token
    const record = (await stored().record(browser))!;
    const due = Math.floor(Date.now() / 1000);
    const routeTokens = Object.fromEntries(
      Object.entries(record.routeTokens!).map(([id, held]) => [id, { ...held, accessExpiresAt: due }]),
    );
    await stored().patch(browser, { accessExpiresAt: due, routeTokens } satisfies Partial<SessionRecord>);
    const signInToken = received('/u');
    const grantsBefore = stack.idp.stats.tokenGrants.refresh_token ?? 0;
    Object.assign(watch, { maxInFlight: 0, refused: [], delayMs: 150 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call(i % 2 ? '/rep/x' : '/u/x', browser, i % 4 < 2 ? 0 : 1)),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    } finally {
      watch.delayMs = 0;
    }
    expect(watch.maxInFlight).toBe(1);
    expect(watch.refused).toEqual([]);
    expect((stack.idp.stats.tokenGrants.refresh_token ?? 0) - grantsBefore).toBe(2); // one per due token
    const lastTwenty = stack.upstream.requests.slice(-20);
    const userTokens = new Set(lastTwenty.filter((r) => r.url.startsWith('/u/')).map((r) => r.headers.authorization));
    const reportTokens = new Set(lastTwenty.filter((r) => r.url.startsWith('/rep/')).map((r) => r.headers.authorization));
    expect(userTokens.size).toBe(1);
    expect(reportTokens.size).toBe(1);
    expect([...userTokens][0]).not.toBe(`Bearer ${signInToken}`);
    expect(decodeJwt([...reportTokens][0]!.slice(7)).aud).toBe(REPORTS_API.audience);
    // The rotated refresh token still works: one more refresh succeeds.
    await stored().makeDue(browser);
    expect((await call('/u/x', browser, 1)).status).toBe(200);
    expect(watch.refused).toEqual([]);
  });

  it('client token refused by its upstream right after its grant: no new grant per call (no grant storm)', async () => {
    expect((await call('/clplain/warm')).status).toBe(200);
    const grantsBefore = stack.idp.stats.tokenGrants.client_credentials ?? 0;
    const refused: string[] = [];
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        // The upstream refuses every client token it has seen so far.
        refused.push(received('/clplain')!);
        stack.upstream.rejectTokens.add(refused.at(-1)!);
        statuses.push((await call('/clplain/x')).status);
      }
      // At most one grant (when the cached token was older than the cool-down); the refusals are relayed.
      expect((stack.idp.stats.tokenGrants.client_credentials ?? 0) - grantsBefore).toBeLessThanOrEqual(1);
      expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(4);
    } finally {
      for (const token of refused) stack.upstream.rejectTokens.delete(token);
    }
  });

  it('client token: provider down -> 503, and the next call after it is back works', async () => {
    const bff = await startBff({
      ...stack.env,
      OIDC_ISSUER: 'http://127.0.0.1:9',
      API_ROUTES: `/cl=${stack.upstream.url}/cl#token=client`,
    });
    try {
      const response = await fetch(`${bff.url}/cl/x`, { headers: { 'x-csrf': '1' } });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'unavailable' });
    } finally {
      await bff.close();
    }
  });
});

describe('route policies: configuration', () => {
  it('refuses every bad option at start-up: exit 1, one line per entry naming it', () => {
    const bad: [string, string][] = [
      ['/a=http://127.0.0.1:1#token=sometimes', 'token must be one of'],
      ['/b=http://127.0.0.1:1#resource=relative', 'resource must be an absolute URI'],
      ['/c=http://127.0.0.1:1#colour=blue', 'unknown option "colour"'],
      ['/d=http://127.0.0.1:1#timeout=soon', 'timeout must be a whole number'],
      ['/e=http://127.0.0.1:1#websocket=maybe', 'websocket must be true or false'],
      ['/f=http://127.0.0.1:1#token=none&scope=x', 'token=none takes no resource or scope'],
    ];
    expectRouteRefusals(bad);
  });
});
