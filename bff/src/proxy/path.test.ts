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

  it.each([
    '/api/../admin',
    '/api/a/./b',
    '/api/..',
    '/api/%2e%2e/admin',
    '/api/%2E./x',
    '/api/a%2fb',
    '/api/a%5cb',
    '/api/a\\b',
    '/api/%2F',
    '/root//evil.example/x',
    '/api//evil.example',
  ])('refuses %s', (raw) => {
    expect(resolveApiPath(routes, raw)).toBe('invalid');
  });

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
  it.each(['/root/x', '/root//evil.example/x', '/root///x', '/root/%2F%2Fevil.example'])(
    '%s resolves under the route upstream or is refused',
    (raw) => {
      const resolved = resolveApiPath(routes, raw);
      if (resolved === 'invalid') return;
      expect(new URL(resolved!.route.upstream.origin + resolved!.upstreamPath).origin).toBe('http://h:5000');
    },
  );
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

describe('API path resolution: a path selects the route a lenient upstream would read it as', () => {
  const route = (prefix: string): ApiRoute => ({
    prefix,
    upstream: new URL(`http://${prefix.replace(/\W/g, '') || 'x'}:1/`),
    token: 'user',
    target: undefined,
    websocket: false,
    timeoutMs: 1000,
  });
  // As parseRoutes sorts them: longest first.
  const nested = [route('/api/admin'), route('/api'), route('/Files')];
  const prefixOf = (raw: string) => {
    const resolved = resolveApiPath(nested, raw);
    return resolved === 'invalid' || resolved === undefined ? resolved : resolved.route.prefix;
  };

  it.each([
    ['/api/%61dmin/x', 'an escaped unreserved letter'],
    ['/api/adm%69n', 'an escaped letter at the end'],
    ['/api/%41dmin/x', 'an escaped upper-case letter'],
    ['/api/admin;x/y', 'a ; parameter on the segment'],
    ['/api/admin;/y', 'an empty ; parameter'],
    ['/api/admin;x', 'a ; parameter at the end'],
    ['/api/Admin/x', 'another case'],
    ['/api/ADMIN', 'another case, whole segment'],
    ['/api/A%64min;v=1/x?q=1', 'all three at once'],
  ])('refuses %s (%s would reach /api/admin through /api)', (raw) => {
    expect(prefixOf(raw)).toBe('invalid');
  });

  it.each([
    ['/api/notes', '/api'],
    ['/api/admin/x', '/api/admin'],
    ['/api/admin/Users/A%20B;v=1', '/api/admin'],
    ['/api/Notes/AbC123', '/api'],
    ['/api/ADMINX/x', '/api'],
    ['/api/admin-x;v=1', '/api'],
    ['/api/a%20b', '/api'],
    ['/api/%61bc', '/api'],
    ['/Files/Report.PDF', '/Files'],
    ['/api/notes?q=%61dmin&next=/api/Admin;x&frag=%23top&text=a%0Ab', '/api'],
  ])('forwards %s on %s (no other route could match)', (raw, prefix) => {
    expect(prefixOf(raw)).toBe(prefix);
  });

  it('leaves paths that match no route as they are, for the app to answer', () => {
    expect(prefixOf('/API/admin/x')).toBeUndefined();
    expect(prefixOf('/%61pi/admin')).toBeUndefined();
  });

  it('refuses a path that only a lower-cased route prefix selects', () => {
    const upper = [route('/API/Admin'), route('/API')];
    expect((resolveApiPath(upper, '/API/Admin/x') as { route: ApiRoute }).route.prefix).toBe('/API/Admin');
    expect((resolveApiPath(upper, '/API/Users') as { route: ApiRoute }).route.prefix).toBe('/API');
    expect(resolveApiPath(upper, '/API/admin/x')).toBe('invalid');
  });
});

describe('API path resolution: fragments and control characters', () => {
  it.each([
    '/api/x#y',
    '/api/x#',
    '/api#/x',
    '/api/x?q=1#y',
    '/api?#',
    '/root/a%0ab',
    '/root/a%0Db',
    '/api/%00',
    '/api/%1f',
    '/api/a%7Fb',
    '/api/%09x',
  ])('refuses %s', (raw) => {
    expect(resolveApiPath(routes, raw)).toBe('invalid');
  });

  it('forwards escaped # and control characters in the query, and %20 or %23 in the path', () => {
    expect(resolveApiPath(routes, '/api/a%20b%23c?x=%23y&t=a%0Ab%00&p=%25')).toMatchObject({
      upstreamPath: '/v1/a%20b%23c?x=%23y&t=a%0Ab%00&p=%25',
    });
  });
});
