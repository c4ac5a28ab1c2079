import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, CLIENT_ID, CLIENT_SECRET, startStack, type Stack } from './support/stack.js';
import { lockKey } from './support/bff.js';
import { storedSessions } from './support/stored-sessions.js';

const ACCESS_TOKEN_TTL = 4;

describe('token lifecycle on two BFF instances sharing Redis', () => {
  let redis: RunningRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, instances: 2, accessTokenTtl: ACCESS_TOKEN_TTL });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const stored = () => storedSessions(redis, stack.bff.url);
  const sessionId = (browser: TestBrowser) => stored().idOf(browser);
  const record = (browser: TestBrowser) => stored().record(browser);
  /** Makes the stored access token due now, as if its lifetime had run out. */
  const makeDue = (browser: TestBrowser) => stored().makeDue(browser);
  /** Calls through one instance with the browser's cookie (cookies are per host, so reuse them). */
  const call = (browser: TestBrowser, instance: number, path = '/rec/items', init: RequestInit = {}) =>
    fetch(`${stack.bffs[instance]!.url}${path}`, {
      ...init,
      headers: { ...(init.headers as object), 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! },
    });
  const grants = (type: string) => stack.idp.stats.tokenGrants[type] ?? 0;

  it('refreshes after expiry and the call succeeds with a new token', async () => {
    const browser = await stack.signIn();
    await call(browser, 0);
    const first = stack.upstream.requests.at(-1)!.headers.authorization;
    await sleep((ACCESS_TOKEN_TTL / 2) * 1000 + 300); // past the "due" point: half the lifetime left
    const response = await call(browser, 0);
    expect(response.status).toBe(200);
    const second = stack.upstream.requests.at(-1)!.headers.authorization;
    expect(second).toMatch(/^Bearer /);
    expect(second).not.toBe(first);
  });

  it('makes exactly one refresh grant for 20 concurrent calls across two instances', async () => {
    const browser = await stack.signIn();
    const before = grants('refresh_token');
    await makeDue(browser);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => call(browser, i % 2)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(grants('refresh_token') - before).toBe(1);
    const tokensSeen = new Set(stack.upstream.requests.slice(-20).map((r) => r.headers.authorization));
    expect(tokensSeen.size).toBe(1);
  });

  it('stores the rotated refresh token', async () => {
    const browser = await stack.signIn();
    const tokens = stack.bff.deps.sessionTokens;
    const before = tokens.open((await record(browser))!);
    await makeDue(browser);
    expect((await call(browser, 1)).status).toBe(200);
    const after = tokens.open((await record(browser))!);
    expect(after.refreshToken).toBeTruthy();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    // The rotated token keeps working for the next refresh.
    await makeDue(browser);
    expect((await call(browser, 0)).status).toBe(200);
  });

  it('recovers when the lock holder died: the lock expires and another instance refreshes', async () => {
    const browser = await stack.signIn();
    await makeDue(browser);
    // A crashed instance left its lock behind, with a short remaining life.
    await redis.client.set(lockKey(sessionId(browser)), 'dead-instance', 'PX', 600);
    const response = await call(browser, 1);
    expect(response.status).toBe(200);
  });

  it('ends the session on invalid_grant: 401 and the session is gone', async () => {
    const browser = await stack.signIn();
    const { refreshToken } = stack.bff.deps.sessionTokens.open((await record(browser))!);
    const revoke = await fetch(`${stack.idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: refreshToken!, token_type_hint: 'refresh_token' }),
    });
    expect(revoke.status).toBe(200);
    await makeDue(browser);
    const response = await call(browser, 0);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('unauthenticated');
    expect(await record(browser)).toBeNull();
  });

  it('refreshes once and retries a GET when the upstream says invalid_token', async () => {
    const browser = await stack.signIn();
    await stored().makeOld(browser); // a token refused within 10 s of its grant gets no new grant
    await call(browser, 0);
    const refused = stack.upstream.requests.at(-1)!.headers.authorization!.replace('Bearer ', '');
    stack.upstream.rejectTokens.add(refused);
    const before = grants('refresh_token');
    const response = await call(browser, 0);
    expect(response.status).toBe(200);
    expect(grants('refresh_token') - before).toBe(1);
    expect(stack.upstream.requests.at(-1)!.headers.authorization).not.toBe(`Bearer ${refused}`);

    // A POST is never replayed: the 401 reaches the browser.
    const { accessToken } = stack.bff.deps.sessionTokens.open((await record(browser))!);
    stack.upstream.rejectTokens.add(accessToken);
    const post = await call(browser, 0, '/rec/items', { method: 'POST', body: 'x' });
    expect(post.status).toBe(401);
    expect(grants('refresh_token') - before).toBe(1);
  });

  it('revokes the refresh token at sign-out', async () => {
    const browser = await stack.signIn();
    const revokedBefore = stack.idp.stats.revokedTokens;
    const { refreshToken } = stack.bff.deps.sessionTokens.open((await record(browser))!);
    const user = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string };
    expect((await browser.fetch(`${stack.bff.url}${user.logoutUrl}`)).status).toBe(302);
    expect(stack.idp.stats.revokedTokens).toBe(revokedBefore + 1);
    const refresh = await fetch(`${stack.idp.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken! }),
    });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe('invalid_grant');
  });

  describe('back-channel logout', () => {
    async function logoutToken(claims: Record<string, unknown>, key = stack.idp.privateJwk) {
      const signingKey = await importJWK(key, 'RS256');
      return new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, jti: crypto.randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'logout+jwt' })
        .setIssuer(stack.idp.issuer)
        .setAudience(CLIENT_ID)
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(signingKey);
    }
    const post = (instance: number, token: string) =>
      fetch(`${stack.bffs[instance]!.url}/bff/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }),
      });

    it('ends the session on both instances by sid', async () => {
      const onFirst = await stack.signIn(ALICE, stack.bffs[0]);
      const { opSid } = (await record(onFirst))!;
      expect(opSid).toBeTruthy();
      const response = await post(1, await logoutToken({ sid: opSid, sub: ALICE.sub }));
      expect(response.status).toBe(200);
      expect(await record(onFirst)).toBeNull();
      expect((await call(onFirst, 0)).status).toBe(401);
      expect((await call(onFirst, 1)).status).toBe(401);
    });

    it('ends every session of a user by sub', async () => {
      const one = await stack.signIn();
      const two = await stack.signIn();
      expect((await post(0, await logoutToken({ sub: ALICE.sub }))).status).toBe(200);
      expect(await record(one)).toBeNull();
      expect(await record(two)).toBeNull();
    });

    it('rejects forged, replayed and nonce-bearing tokens with 400 and keeps the session', async () => {
      const browser = await stack.signIn();
      const { opSid } = (await record(browser))!;
      const { generateKeyPair, exportJWK } = await import('jose');
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const forgedKey = { ...(await exportJWK(privateKey)), kid: stack.idp.privateJwk.kid };
      expect((await post(0, await logoutToken({ sid: opSid }, forgedKey))).status).toBe(400);
      expect((await post(0, await logoutToken({ sid: opSid, nonce: 'n' }))).status).toBe(400);
      expect((await post(0, await logoutToken({ sid: opSid, events: { other: {} } }))).status).toBe(400);
      expect((await post(0, await logoutToken({ sid: undefined, sub: undefined }))).status).toBe(400);
      expect(await record(browser)).not.toBeNull();

      const unknown = await logoutToken({ sid: 'no-such-session' });
      expect((await post(0, unknown)).status).toBe(200);
      expect((await post(1, unknown)).status).toBe(400); // replayed jti, on the other instance
      expect(await record(browser)).not.toBeNull();
    });
  });
});
