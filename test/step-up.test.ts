import { generateKeyPairSync } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAPI_PROFILE } from '../dev/idp/index.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, BOB, startStack, type Stack } from './support/stack.js';
import { expectRouteRefusals } from './support/route-refusals.js';
import { storedSessions } from './support/stored-sessions.js';
import { startWebSocketUpstream } from './support/ws-upstream.js';

const MFA = 'urn:bff-kit:acr:mfa';
const PASSWORD = 'urn:bff-kit:acr:pwd';

/**
 * A provider that ignores what was asked: while `on`, the authorization request's `acr_values`
 * become the password-only value, so the dev provider answers with that weaker `acr`.
 */
function weakeningFront() {
  const state = { on: false };
  const middleware: Middleware = async (ctx, next) => {
    if (state.on && ctx.method === 'GET' && ctx.path === '/auth' && ctx.query.acr_values) {
      const query = new URLSearchParams(ctx.querystring);
      query.set('acr_values', PASSWORD);
      ctx.querystring = query.toString();
    }
    await next();
  };
  return { state, middleware };
}

/** An API that answers every call with RFC 9470's challenge, counting them. */
async function startChallengingApi() {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="A stronger sign-in is needed", acr_values="${MFA}", max_age=300`,
    });
    res.end('{"error":"insufficient_user_authentication"}');
  });
  // The same challenge to a WebSocket handshake.
  server.on('upgrade', (req, socket) => {
    seen.push(req.headers.authorization ?? '');
    socket.end(
      `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="${MFA}"\r\nContent-Length: 0\r\n\r\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('step-up and per-route authorization (RFC 9470)', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let ws: Awaited<ReturnType<typeof startWebSocketUpstream>>;
  let challenging: Awaited<ReturnType<typeof startChallengingApi>>;
  const weaken = weakeningFront();

  beforeAll(async () => {
    redis = await startRedis();
    ws = await startWebSocketUpstream();
    challenging = await startChallengingApi();
    stack = await startStack({
      redisUrl: redis.url,
      idpFront: [weaken.middleware],
      env: { API_MAX_CALLS_PER_SESSION: '4' },
      routes: ({ upstream }) =>
        [
          `/admin=${upstream}/admin#acr=${encodeURIComponent(MFA)}`,
          `/recent=${upstream}/recent#max_age=120`,
          `/alice-only=${upstream}/alice-only#require=email:${ALICE.email}&require=email_verified:true`,
          `/live-admin=${ws.url}/live#websocket=true&acr=${encodeURIComponent(MFA)}`,
          `/live=${ws.url}/live#websocket=true`,
          `/challenge=${challenging.url}#websocket=true`,
        ].join(','),
    });
  });
  afterAll(async () => {
    await stack?.close();
    await challenging?.close();
    await ws?.close();
    await redis?.stop();
  });

  const upstreamSaw = (base: string) => stack.upstream.requests.filter((r) => r.url.startsWith(`${base}/`)).length;
  const get = (browser: TestBrowser, path: string, headers: Record<string, string> = {}) =>
    browser.api(`${stack.bff.url}${path}`, { headers });
  /** Follows a `login` URL through the provider (password, and the code when asked) back to the BFF's callback. */
  async function stepUp(browser: TestBrowser, login: string, user = ALICE): Promise<Response> {
    const start = await browser.fetch(`${stack.bff.url}${login}`);
    expect(start.status).toBe(302);
    return browser.fetch(await loginThroughIdp(start.headers.get('location')!, user));
  }

  it('refuses a call whose acr the session lacks: 401 step_up_required with a ready sign-in URL, nothing upstream', async () => {
    const browser = await stack.signIn(ALICE);
    const before = upstreamSaw('/admin');
    const response = await get(browser, '/admin/report', { referer: `${stack.bff.url}/reports?tab=2` });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: 'step_up_required',
      message: expect.any(String),
      acr_values: MFA,
      login: `/bff/login?acr_values=${encodeURIComponent(MFA)}&returnTo=${encodeURIComponent('/reports?tab=2')}`,
    });
    // An event stream on the route, and a page of another site as the referrer (sign-in returns to /).
    const stream = await get(browser, '/admin/events', { accept: 'text/event-stream', referer: 'https://evil.example/x' });
    expect(stream.status).toBe(401);
    expect(((await stream.json()) as { login: string }).login).toMatch(/&returnTo=%2F$/);
    expect(upstreamSaw('/admin')).toBe(before);
  });

  it('refuses a route with require when a claim rule fails (403, nothing upstream), and lets the user who holds it through', async () => {
    const bob = await stack.signIn(BOB);
    const refused = await get(bob, '/alice-only/x');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'forbidden' });
    expect(upstreamSaw('/alice-only')).toBe(0);
    const alice = await stack.signIn(ALICE);
    expect((await get(alice, '/alice-only/x')).status).toBe(200);
    expect(upstreamSaw('/alice-only')).toBe(1);
    // No session at all is still the plain 401.
    expect(await (await get(new TestBrowser(), '/alice-only/x')).json()).toMatchObject({ error: 'unauthenticated' });
  });

  it('refuses a session whose auth_time is older than max_age, and a max_age step-up satisfies it', async () => {
    const browser = await stack.signIn(ALICE);
    const stored = storedSessions(redis, stack.bff.url);
    await stored.patch(browser, { authTime: Math.floor(Date.now() / 1000) - 3600 });
    const response = await get(browser, '/recent/x');
    expect(response.status).toBe(401);
    const body = (await response.json()) as { max_age: number; login: string; acr_values?: string };
    expect(body).toMatchObject({ error: 'step_up_required', max_age: 120 });
    expect(body.acr_values).toBeUndefined();
    expect(upstreamSaw('/recent')).toBe(0);
    const back = await stepUp(browser, body.login);
    expect(back.headers.get('location')).toBe('/');
    expect((await get(browser, '/recent/x')).status).toBe(200);
  });

  it('steps up with the second factor: same user, new tokens and acr, the session id rotated (the old one is 401)', async () => {
    const browser = await stack.signIn(ALICE);
    const oldCookie = browser.cookieHeader(stack.bff.url)!;
    const before = (await (await get(browser, '/bff/user')).json()) as { session: { expiresAt: number; acr?: string; authTime?: number } };
    // A plain sign-in asked for neither: the dev provider then says neither (as many providers do).
    expect(before.session.acr).toBeUndefined();
    expect(before.session.authTime).toBeUndefined();
    const refused = (await (await get(browser, '/admin/x', { referer: `${stack.bff.url}/admin-view` })).json()) as { login: string };

    const back = await stepUp(browser, refused.login);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/admin-view');
    expect(browser.cookieHeader(stack.bff.url)).not.toBe(oldCookie);
    const after = (await (await get(browser, '/bff/user')).json()) as { sub: string; session: { expiresAt: number; acr?: string } };
    expect(after).toMatchObject({ sub: ALICE.sub, session: { acr: MFA, expiresAt: before.session.expiresAt } });
    expect((await get(browser, '/admin/x')).status).toBe(200);
    expect(upstreamSaw('/admin')).toBe(1);

    // The id before the step-up names no session any more.
    const old = await fetch(`${stack.bff.url}/bff/user`, { headers: { cookie: oldCookie, 'x-csrf': '1' } });
    expect(old.status).toBe(401);
    expect((await fetch(`${stack.bff.url}/api/notes`, { headers: { cookie: oldCookie, 'x-csrf': '1' } })).status).toBe(401);
  });

  it('refuses a step-up the provider did not deliver (a weaker acr): step_up_failed, the session exactly as it was', async () => {
    const browser = await stack.signIn(ALICE);
    const cookie = browser.cookieHeader(stack.bff.url);
    const stored = storedSessions(redis, stack.bff.url);
    const record = await stored.record(browser);
    const refused = (await (await get(browser, '/admin/x')).json()) as { login: string };
    weaken.state.on = true;
    try {
      const back = await stepUp(browser, refused.login);
      expect(back.headers.get('location')).toBe('/?login_error=step_up_failed');
    } finally {
      weaken.state.on = false;
    }
    expect(browser.cookieHeader(stack.bff.url)).toBe(cookie);
    expect(await stored.record(browser)).toEqual(record);
    expect((await get(browser, '/bff/user')).status).toBe(200);
    expect((await get(browser, '/admin/x')).status).toBe(401);
    expect(stack.bff.logs.join('')).toMatch(/"event":"step_up_failed","claim":"acr"/);
  });

  it('a step-up completed by another user ends the old session and starts the new user one', async () => {
    const browser = await stack.signIn(ALICE);
    const aliceCookie = browser.cookieHeader(stack.bff.url)!;
    const refused = (await (await get(browser, '/admin/x')).json()) as { login: string };
    await stepUp(browser, refused.login, BOB);
    const user = (await (await get(browser, '/bff/user')).json()) as { sub: string; session: { acr?: string } };
    expect(user).toMatchObject({ sub: BOB.sub, session: { acr: MFA } });
    expect((await fetch(`${stack.bff.url}/bff/user`, { headers: { cookie: aliceCookie, 'x-csrf': '1' } })).status).toBe(401);
  });

  it("turns an upstream's insufficient_user_authentication into step_up_required: no refresh, no retry, the session kept", async () => {
    const browser = await stack.signIn(ALICE);
    const refreshes = stack.idp.stats.tokenGrants.refresh_token ?? 0;
    const response = await get(browser, '/challenge/x', { referer: `${stack.bff.url}/orders` });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: 'step_up_required',
      message: expect.any(String),
      acr_values: MFA,
      max_age: 300,
      login: `/bff/login?acr_values=${encodeURIComponent(MFA)}&max_age=300&returnTo=%2Forders`,
    });
    expect(challenging.seen).toHaveLength(1);
    expect(stack.idp.stats.tokenGrants.refresh_token ?? 0).toBe(refreshes);
    expect((await get(browser, '/bff/user')).status).toBe(200);
  });

  it("turns an upstream's insufficient_user_authentication on a WebSocket handshake into step_up_required", async () => {
    const browser = await stack.signIn(ALICE);
    const seen = challenging.seen.length;
    const answer = await handshake(browser, '/challenge/socket');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'step_up_required', acr_values: MFA });
    expect(challenging.seen).toHaveLength(seen + 1);
    expect((await get(browser, '/bff/user')).status).toBe(200);
  });

  /** One WebSocket handshake through the BFF: the refusal's status and body, or 101 once upgraded (then closed). */
  function handshake(browser: TestBrowser, path: string) {
    const origin = new URL(stack.bff.url);
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: origin.hostname,
        port: origin.port,
        path,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          origin: stack.bff.url,
          cookie: browser.cookieHeader(stack.bff.url)!,
        },
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        resolve({ status: 101, body: '' });
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('refuses a WebSocket handshake on a route whose acr the session lacks, before any upstream handshake', async () => {
    const browser = await stack.signIn(ALICE);
    const answer = await handshake(browser, '/live-admin/socket');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'step_up_required', acr_values: MFA });
    expect(ws.handshakes).toHaveLength(0);
  });

  it('one session hammering refused calls and handshakes holds no slot afterwards, and nobody else notices', async () => {
    const alice = await stack.signIn(ALICE);
    const bob = await stack.signIn(BOB);
    const before = upstreamSaw('/admin');
    // Ten times its call budget at once: each is refused (step-up, or 429 over the budget) and releases its slot.
    const answers = await Promise.all(Array.from({ length: 40 }, () => get(alice, '/admin/x')));
    expect(answers.filter((r) => r.status !== 401 && r.status !== 429)).toEqual([]);
    expect(answers.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(4);
    // More refused handshakes than the 16 live connections a session may hold.
    for (let i = 0; i < 20; i++) expect((await handshake(alice, '/live-admin/socket')).status).toBe(401);
    expect(upstreamSaw('/admin')).toBe(before);
    const during = await Promise.all(Array.from({ length: 4 }, () => get(bob, '/rec/x')));
    expect(during.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // Every slot came back: the full budget of calls, and a WebSocket, for the hammering session too.
    const after = await Promise.all(Array.from({ length: 4 }, () => get(alice, '/rec/x')));
    expect(after.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await handshake(alice, '/live/socket')).status).toBe(101);
  });

  it('/bff/login refuses a malformed acr_values or max_age (400) and starts nothing', async () => {
    const browser = new TestBrowser();
    for (const query of ['acr_values=a%22b', 'acr_values=', 'max_age=-1', 'max_age=ten']) {
      const response = await browser.fetch(`${stack.bff.url}/bff/login?${query}`);
      expect(response.status, query).toBe(400);
    }
  });
});

describe('step-up under FAPI 2.0: PAR required, private_key_jwt, DPoP-bound tokens with nonces', () => {
  let redis: RunningRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => key.export({ format: 'pem', type: 'pkcs8' }).toString();
    const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const dpop = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = client.publicKey.export({ format: 'jwk' }) as JWK;
    stack = await startStack({
      redisUrl: redis.url,
      idpProfile: FAPI_PROFILE,
      client: {
        client_secret: undefined,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...publicJwk, kid: await calculateJwkThumbprint(publicJwk) }] },
      },
      env: {
        OIDC_CLIENT_AUTH: 'private_key_jwt',
        OIDC_CLIENT_PRIVATE_KEY: pem(client.privateKey),
        OIDC_CLIENT_SECRET: '',
        OIDC_PAR: 'true',
        OIDC_DPOP: 'true',
        DPOP_PRIVATE_KEY: pem(dpop.privateKey),
      },
      routes: ({ api }) => `/admin=${api}#acr=${encodeURIComponent(MFA)}&max_age=600`,
    });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  it('pushes acr_values and max_age with the rest, checks the answer, and the stepped-up DPoP token reaches the API', async () => {
    const browser = await stack.signIn(ALICE);
    const refused = await browser.api(`${stack.bff.url}/admin/me`);
    expect(refused.status).toBe(401);
    const { login } = (await refused.json()) as { login: string };
    const pushed = stack.idp.stats.pushedRequests;
    const start = await browser.fetch(`${stack.bff.url}${login}`);
    const url = new URL(start.headers.get('location')!);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(stack.idp.stats.pushedRequests).toBe(pushed + 1);
    const back = await browser.fetch(await loginThroughIdp(url.href, ALICE));
    expect(back.headers.get('location')).toBe('/');
    const me = await browser.api(`${stack.bff.url}/admin/me`);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: ALICE.sub, jkt: expect.any(String) });
    expect(await (await browser.api(`${stack.bff.url}/bff/user`)).json()).toMatchObject({ session: { acr: MFA } });
  });
});

describe('step-up route options at start-up', () => {
  it('refuses every bad acr, max_age and require value: exit 1, one line per entry naming it', () => {
    const bad: [string, string][] = [
      ['/a=http://127.0.0.1:1#acr=a%22b', 'acr must be space-separated acr values'],
      ['/b=http://127.0.0.1:1#max_age=soon', 'max_age must be a whole number of seconds'],
      ['/c=http://127.0.0.1:1#require=admins', 'require must be name:value'],
      ['/d=http://127.0.0.1:1#token=client&acr=urn:x', 'acr, max_age and require need token=user'],
    ];
    expectRouteRefusals(bad);
  });
});
