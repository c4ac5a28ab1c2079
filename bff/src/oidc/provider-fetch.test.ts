import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PROVIDER_ANSWER_BYTES, providerFetch } from './provider-fetch.js';

/** openid-client's calls to the provider, against a real HTTP server on loopback. */
describe('providerFetch', () => {
  let server: Server;
  let base: string;
  const seen: { method?: string; type?: string; body?: string } = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        Object.assign(seen, { method: req.method, type: req.headers['content-type'], body });
        if (req.url === '/token') {
          res.writeHead(400, {
            'content-type': 'application/json',
            'www-authenticate': 'DPoP error="use_dpop_nonce"',
            'dpop-nonce': 'n-1',
          });
          res.end('{"error":"use_dpop_nonce"}');
        } else if (req.url === '/empty') res.writeHead(204).end();
        else if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
        else if (req.url === '/huge') res.end(Buffer.alloc(MAX_PROVIDER_ANSWER_BYTES + 1, 'a'));
        else if (req.url === '/silent')
          return; // never answers
        else res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (path: string, options: Partial<Parameters<typeof providerFetch>[1]> = {}) =>
    providerFetch(`${base}${path}`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual', ...options });

  it('sends a form body as openid-client builds it and hands back status, headers and body', async () => {
    const answer = await call('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'c 1' }),
    });
    expect(seen).toEqual({ method: 'POST', type: 'application/x-www-form-urlencoded', body: 'grant_type=authorization_code&code=c+1' });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('dpop-nonce')).toBe('n-1');
    expect(answer.headers.get('www-authenticate')).toBe('DPoP error="use_dpop_nonce"');
    expect(await answer.json()).toEqual({ error: 'use_dpop_nonce' });
  });

  it('does not follow redirects and gives a 204 no body', async () => {
    const moved = await call('/moved');
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/elsewhere');
    expect((await call('/empty')).body).toBeNull();
  });

  it('refuses an answer larger than the cap, and gives up at the signal', async () => {
    await expect(call('/huge')).rejects.toThrow(/larger than/);
    const started = Date.now();
    await expect(call('/silent', { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
