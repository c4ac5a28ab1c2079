import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserInfo } from '../shared/src/index.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startStack, type Stack } from './support/stack.js';

describe('three BFF instances on one Redis', () => {
  let redis: RunningRedis;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, instances: 3 });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  it('signs in on one, uses the session on another, signs out on a third', async () => {
    const [first, second, third] = stack.bffs as [Stack['bff'], Stack['bff'], Stack['bff']];
    const browser = await stack.signIn(undefined, first);
    const cookie = browser.cookieHeader(first.url)!;
    const on = (bff: Stack['bff'], path: string, init: RequestInit = {}) =>
      fetch(`${bff.url}${path}`, { ...init, redirect: 'manual', headers: { 'x-csrf': '1', cookie, ...(init.headers as object) } });

    const user = (await (await on(second, '/bff/user')).json()) as UserInfo;
    expect(user.sub).toBeTruthy();
    const created = await on(second, '/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"from the second"}',
    });
    expect(created.status).toBe(201);
    expect((await (await on(first, '/api/notes')).json()) as unknown[]).toHaveLength(1);

    const out = await on(third, user.logoutUrl);
    expect(out.status).toBe(302);
    for (const bff of stack.bffs) expect((await on(bff, '/bff/user')).status).toBe(401);
  });
});
