import { describe, expect, it } from 'vitest';
import type { ApiRoute } from '../api-routes.js';
import { resolveApiPath } from './path.js';

const routes: ApiRoute[] = [
  { prefix: '/api', upstream: new URL('http://h:4000/v1'), token: 'user', target: undefined, websocket: false, timeoutMs: 1000 },
  { prefix: '/root', upstream: new URL('http://h:5000/'), token: 'user', target: undefined, websocket: false, timeoutMs: 1000 },
];

describe('API path resolution', () => {
  it.each([
    ['/api/notes', '/v1/notes'],
    ['/api', '/v1/'],
    ['/api?x=1', '/v1/?x=1'],
    ['/api/notes?q=a%20b&x=..', '/v1/notes?q=a%20b&x=..'],
    ['/api/a%20b/c.json', '/v1/a%20b/c.json'],
    ['/root/x', '/x'],
  ])('forwards %s as %s', (raw, upstreamPath) => {
    const resolved = resolveApiPath(routes, raw);
    expect(resolved).not.toBe('invalid');
    expect(resolved && resolved !== 'invalid' && resolved.upstreamPath).toBe(upstreamPath);
  });

  it.each(['/api/../admin', '/api/a/./b', '/api/..', '/api/%2e%2e/admin', '/api/%2E./x', '/api/a%2fb', '/api/a%5cb', '/api/a\\b', '/api/%2F', '/root//evil.example/x', '/api//evil.example'])(
    'refuses %s',
    (raw) => {
      expect(resolveApiPath(routes, raw)).toBe('invalid');
    },
  );

  it.each([
    '/api/..;/admin',
    '/api/a/..;jsessionid=1/b',
    '/api/.;x/b',
    '/api/%252e%252e/admin',
    '/api/%25',
    '/api/%c0%ae%c0%ae/admin',
    '/api/%e0%80%ae',
    '/api/%ff',
    '/api/..%3b/admin',
  ])('refuses the escape %s (parameters, double encoding, invalid UTF-8)', (raw) => {
    expect(resolveApiPath(routes, raw)).toBe('invalid');
  });

  it('still forwards valid UTF-8 escapes and dots inside names', () => {
    expect(resolveApiPath(routes, '/api/caf%C3%A9/..x/a..b;v=1')).toMatchObject({ upstreamPath: '/v1/caf%C3%A9/..x/a..b;v=1' });
  });

  it('matches prefixes at segment boundaries only', () => {
    expect(resolveApiPath(routes, '/apix/notes')).toBeUndefined();
    expect(resolveApiPath(routes, '/bff/user')).toBeUndefined();
  });
});

describe('API path resolution: the upstream host never changes', () => {
  it.each(['/root/x', '/root//evil.example/x', '/root///x', '/root/%2F%2Fevil.example'])('%s resolves under the route upstream or is refused', (raw) => {
    const resolved = resolveApiPath(routes, raw);
    if (resolved === 'invalid') return;
    expect(new URL(resolved!.route.upstream.origin + resolved!.upstreamPath).origin).toBe('http://h:5000');
  });
});

describe('API path resolution: nested prefixes', () => {
  const nested: ApiRoute[] = [
    { prefix: '/api/admin', upstream: new URL('http://admin:1/'), token: 'client', target: undefined, websocket: false, timeoutMs: 1000 },
    { prefix: '/api', upstream: new URL('http://api:2/'), token: 'user', target: undefined, websocket: false, timeoutMs: 1000 },
  ];
  it('sends /api/admin/x to the admin route and /api/adminx to /api', () => {
    expect((resolveApiPath(nested, '/api/admin/x') as { route: ApiRoute }).route.prefix).toBe('/api/admin');
    expect((resolveApiPath(nested, '/api/adminx') as { route: ApiRoute }).route.prefix).toBe('/api');
  });
});
