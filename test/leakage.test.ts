import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../bff/src/session/records.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { TestBrowser } from './support/browser.js';
import { storedSessions } from './support/stored-sessions.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, CLIENT_SECRET, startStack, type Stack } from './support/stack.js';
import { sessionKey } from './support/bff.js';

/**
 * One whole life of a session (sign-in, proxied calls, a refresh, sign-out) while recording
 * every response the browser got and every log line; then no secret may appear in either.
 */
describe('no token, code, verifier, cookie or secret leaks to the browser or the logs', () => {
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

  it('holds for a full sign-in, proxy, refresh and sign-out run', async () => {
    const seen: string[] = []; // everything the browser received
    const browser = new TestBrowser();
    const record = async (response: Response) => {
      seen.push(`${response.status} ${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await response.clone().text()}`);
      return response;
    };
    const secrets: string[] = [CLIENT_SECRET];

    const start = await record(await browser.fetch(`${stack.bff.url}/bff/login?returnTo=/notes`));
    const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
    const code = new URL(back).searchParams.get('code')!;
    secrets.push(code);
    await record(await browser.fetch(back));
    const sessionId = browser.cookie(stack.bff.url, 'bff')!;
    const loginCookie = browser.cookie(stack.bff.url, 'bff-login')!;

    const key = sessionKey(sessionId);
    const stored = JSON.parse((await redis.client.get(key))!) as SessionRecord;
    const before = stack.bff.deps.sessionTokens.open(stored);
    secrets.push(before.accessToken, before.refreshToken!, before.idToken!);

    await record(await browser.api(`${stack.bff.url}/bff/user`));
    await record(
      await browser.api(`${stack.bff.url}/api/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"hi"}',
      }),
    );
    await storedSessions(redis, stack.bff.url).patch(browser, { accessExpiresAt: 0 }); // force a refresh
    await record(await browser.api(`${stack.bff.url}/api/notes`));
    const after = stack.bff.deps.sessionTokens.open(JSON.parse((await redis.client.get(key))!) as SessionRecord);
    expect(after.accessToken).not.toBe(before.accessToken);
    secrets.push(after.accessToken, after.refreshToken!);
    await record(await browser.api(`${stack.bff.url}/api/nope/../x`)); // an error path too
    await record(await browser.fetch(`${stack.bff.url}/bff/callback?state=bogus&code=${code}`));
    const { logoutUrl } = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string };
    const out = await record(await browser.fetch(`${stack.bff.url}${logoutUrl}`));
    expect(out.status).toBe(302);

    const logs = stack.bff.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toContain(sessionId);
    expect(logs).not.toContain(loginCookie);
    const browserSaw = seen.join('\n');
    // The ID token travels to the provider's end-session endpoint as id_token_hint (the protocol
    // requires it); every other secret never reaches the browser.
    for (const secret of secrets.filter((s) => s !== before.idToken)) expect(browserSaw).not.toContain(secret);
    expect(browserSaw).not.toMatch(/code_verifier|refresh_token|access_token/);
  });
});
