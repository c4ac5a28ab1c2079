import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BffConfig, BffStatus } from '../shared/src/index.js';
import { startStack, type Stack } from './support/stack.js';

describe('GET /bff/config', () => {
  let stack: Stack;
  beforeAll(async () => {
    // One more route with a resource and a scope: neither may reach the answer.
    stack = await startStack({
      routes: ({ upstream }) => `/grants=${upstream}/secret-base#token=client&resource=urn:example:grants&scope=grants.read`,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const get = (headers: HeadersInit) => fetch(`${stack.bff.url}/bff/config`, { headers });

  it('lists every route prefix with its websocket flag and token policy, signed out, and nothing else', async () => {
    const response = await get({ 'x-csrf': '1' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    const body = JSON.parse(text) as BffConfig;
    expect(Object.keys(body)).toEqual(['routes']);
    const byPrefix = Object.fromEntries(body.routes.map((route) => [route.prefix, route]));
    expect(byPrefix).toEqual({
      '/api': { prefix: '/api', websocket: true, token: 'user' },
      '/rec': { prefix: '/rec', websocket: false, token: 'user' },
      '/open': { prefix: '/open', websocket: false, token: 'none' },
      '/reports': { prefix: '/reports', websocket: false, token: 'user' },
      '/public': { prefix: '/public', websocket: false, token: 'user-or-none' },
      '/grants': { prefix: '/grants', websocket: false, token: 'client' },
    });
    for (const route of body.routes) expect(Object.keys(route).sort()).toEqual(['prefix', 'token', 'websocket']);
    // Where the routes lead and what they are granted stays in the BFF.
    for (const secret of [
      stack.api.url,
      stack.reports.url,
      stack.upstream.url,
      '127.0.0.1',
      'secret-base',
      'urn:',
      'grants.read',
      'resource',
      'scope',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('GET /bff/status says whether the cookie names a live session: 200 either way, no-store, the idle timeout left alone', async () => {
    const status = async (headers: Record<string, string>) => {
      const response = await fetch(`${stack.bff.url}/bff/status`, { headers: { 'x-csrf': '1', ...headers } });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      return (await response.json()) as BffStatus;
    };
    expect(await status({})).toEqual({ signedIn: false, reason: 'no_session' });
    expect(await status({ cookie: 'bff=made-up-0123456789abcdef0123456789abcdef012' })).toEqual({ signedIn: false, reason: 'no_session' });
    const browser = await stack.signIn();
    const cookie = browser.cookieHeader(stack.bff.url)!;
    const idleBefore = (
      (await (await browser.api(`${stack.bff.url}/bff/user?slide=false`)).json()) as { session: { idleExpiresAt: number } }
    ).session.idleExpiresAt;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await status({ cookie })).toEqual({ signedIn: true });
    const idleAfter = (
      (await (await browser.api(`${stack.bff.url}/bff/user?slide=false`)).json()) as { session: { idleExpiresAt: number } }
    ).session.idleExpiresAt;
    expect(idleAfter).toBe(idleBefore); // asking did not slide the idle timeout
    await browser.fetch(
      `${stack.bff.url}${((await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string }).logoutUrl}`,
    );
    expect(await status({ cookie })).toEqual({ signedIn: false, reason: 'signed_out' });
    expect((await fetch(`${stack.bff.url}/bff/status`)).status).toBe(403); // X-CSRF as every /bff JSON endpoint
  });

  it('refuses a call without X-CSRF, or from another site, with 403', async () => {
    for (const headers of [{}, { 'x-csrf': '0' }, { 'x-csrf': '1', 'sec-fetch-site': 'cross-site' }] as Record<string, string>[]) {
      const response = await get(headers);
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toBe('csrf');
    }
  });
});
