import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserSessions } from '../shared/src/index.js';
import type { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { BOB, startStack, type Stack } from './support/stack.js';

/**
 * The demo's "End my other sessions at the provider": the dev provider ends the user's other
 * provider sessions and its SSF transmitter (dev/ssf) sends a CAEP session-revoked for each to the
 * BFF, which registered its push stream at start (SSF_STREAM=auto). "Your sessions" then lists
 * only the session that asked.
 */
describe('demo: ending my other sessions at the provider', () => {
  let redis: RunningRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, ssf: true, routes: ({ idp }) => `/provider=${idp}/demo` });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const call = (browser: TestBrowser, path: string, init: RequestInit = {}) =>
    fetch(`${stack.bff.url}${path}`, { ...init, headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } });

  it('ends the other provider sessions, and the BFF ends the sessions made through them', async () => {
    expect(stack.idp.transmitter!.streams.map((stream) => stream.endpoint_url)).toEqual([`${stack.bff.url}/bff/ssf`]);
    const [here, laptop, phone, bob] = [await stack.signIn(), await stack.signIn(), await stack.signIn(), await stack.signIn(BOB)];
    expect(((await (await call(here, '/bff/sessions')).json()) as UserSessions).sessions).toHaveLength(3);

    const response = await call(here, '/provider/end-other-sessions', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ended: 2 });

    expect((await call(laptop, '/bff/user')).status).toBe(401);
    expect((await call(phone, '/bff/user')).status).toBe(401);
    expect((await call(bob, '/bff/user')).status).toBe(200);
    const left = ((await (await call(here, '/bff/sessions')).json()) as UserSessions).sessions;
    expect(left).toEqual([expect.objectContaining({ current: true })]);
  });
});
