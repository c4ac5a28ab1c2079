import { describe, expect, it } from 'vitest';
import { parseRoutes } from './api-routes.js';

const parse = (value: string) => parseRoutes(value, 30_000);
const only = (value: string) => {
  const { routes, problems } = parse(value);
  expect(problems).toEqual([]);
  return routes[0]!;
};

describe('API_ROUTES', () => {
  it('reads base paths, and every route defaults to the user token and API_TIMEOUT_MS', () => {
    expect(only('/api=http://h:4000/v1')).toEqual({
      prefix: '/api',
      upstream: new URL('http://h:4000/v1'),
      token: 'user',
      target: undefined,
      websocket: false,
      timeoutMs: 30_000,
      access: undefined,
    });
  });

  it('reads step-up and claim rules: acr values (+ separated), max_age, and require repeated', () => {
    const route = only(
      '/admin=http://h#acr=urn:bff-kit:acr:mfa+urn:other&max_age=300&require=groups:admins&require=realm_access.roles:reports%3Aread',
    );
    expect(route.access).toEqual({
      acr: ['urn:bff-kit:acr:mfa', 'urn:other'],
      maxAge: 300,
      require: [
        { path: ['groups'], value: 'admins' },
        { path: ['realm_access', 'roles'], value: 'reports:read' },
      ],
    });
    expect(only('/a=http://h#max_age=60').access).toEqual({ acr: undefined, maxAge: 60, require: [] });
  });

  it('keeps #anonymous as another spelling of token=none', () => {
    expect(only('/public=http://h:5000#anonymous')).toMatchObject({
      token: 'none',
      target: undefined,
      upstream: new URL('http://h:5000/'),
    });
    expect(only('/public=http://h:5000#token=none').token).toBe('none');
  });

  it.each(['user', 'user-or-none', 'client', 'user-or-client', 'none'])('takes token=%s', (token) => {
    expect(only(`/x=http://h#token=${token}`).token).toBe(token);
  });

  it('decodes options like a query string: + and %20 separate scopes', () => {
    const route = only(
      '/reports=http://reports:5000#token=client&scope=reports.read+reports.export&resource=https%3A%2F%2Freports.example%2F&websocket=true&timeout=1500',
    );
    expect(route).toMatchObject({ token: 'client', websocket: true, timeoutMs: 1500 });
    expect(route.target).toMatchObject({ resource: 'https://reports.example/', scope: 'reports.read reports.export' });
    expect(only('/r=http://h#scope=a%20b').target?.scope).toBe('a b');
  });

  it('gives equal (resource, scope) pairs one token identity, and different pairs different ones', () => {
    const { routes } = parse(
      '/a=http://h#resource=urn:x&scope=s,/b=http://i#token=user-or-client&resource=urn:x&scope=s,/c=http://h#resource=urn:x,/d=http://h#scope=s',
    );
    const ids = routes.map((route) => route.target!.id);
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
  });

  it.each([
    ['/a=http://h#tokn=user', 'unknown option "tokn"'],
    ['/a=http://h#token=admin', 'token must be one of user, user-or-none, client, user-or-client, none'],
    ['/a=http://h#token=', 'option token needs a value'],
    ['/a=http://h#token=user&token=client', 'option token given twice'],
    ['/a=http://h#anonymous&token=user', '#anonymous is token=none'],
    ['/a=http://h#anonymous=yes', '#anonymous takes no value'],
    ['/a=http://h#resource=reports', 'resource must be an absolute URI'],
    ['/a=http://h#resource=https%3A%2F%2Fr%2F%23frag', 'resource must be an absolute URI without a fragment'],
    ['/a=http://h#scope=a%22b', 'scope must be space-separated scope names'],
    ['/a=http://h#scope=a%20%20b', 'scope must be space-separated scope names'],
    ['/a=http://h#token=none&scope=x', 'token=none takes no resource or scope'],
    ['/a=http://h#anonymous&resource=urn:x', 'token=none takes no resource or scope'],
    ['/a=http://h#websocket=yes', 'websocket must be true or false'],
    ['/a=http://h#timeout=0', 'timeout must be a whole number of milliseconds'],
    ['/a=http://h#timeout=1.5', 'timeout must be a whole number of milliseconds'],
    ['/a=http://h#timeout=99999999', 'timeout must be a whole number of milliseconds'],
    ['/a=http://h#acr=a%22b', 'acr must be space-separated acr values'],
    ['/a=http://h#acr=a++b', 'acr must be space-separated acr values'],
    ['/a=http://h#acr=urn:x&acr=urn:y', 'option acr given twice'],
    ['/a=http://h#max_age=0', 'max_age must be a whole number of seconds from 1 to 31536000'],
    ['/a=http://h#max_age=5m', 'max_age must be a whole number of seconds'],
    ['/a=http://h#max_age=', 'option max_age needs a value'],
    ['/a=http://h#require=admins', 'require must be name:value'],
    ['/a=http://h#require=:admins', 'require must be name:value'],
    ['/a=http://h#require=groups:', 'require must be name:value'],
    ['/a=http://h#require=gro%20ups:x', 'require must be name:value'],
    ['/a=http://h#require=groups:a%0Ab', 'require must be name:value'],
    ['/a=http://h#require=', 'option require needs a value'],
    ['/a=http://h#token=user-or-none&acr=urn:x', 'acr, max_age and require need token=user'],
    ['/a=http://h#token=client&require=groups:x', 'acr, max_age and require need token=user'],
    ['/a=http://h#anonymous&max_age=60', 'acr, max_age and require need token=user'],
  ])('refuses %s, naming the entry', (entry, message) => {
    const { routes, problems } = parse(entry);
    expect(routes).toEqual([]);
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^API_ROUTES entry "${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": .*${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        ),
      ),
    ]);
  });

  it('explains bad prefixes, upstreams and repeats', () => {
    expect(parse('api=http://h,/bff/x=http://h,/a=ftp://h,/q=http://h/?a=1,/c=http://h,/c=http://i').problems).toEqual([
      expect.stringContaining('"api=http://h": needs a prefix'),
      expect.stringContaining('"/bff/x=http://h": needs a prefix'),
      expect.stringContaining('"/a=ftp://h": needs an http(s) upstream'),
      expect.stringContaining('"/q=http://h/?a=1": no query or credentials'),
      'API_ROUTES has /c twice',
    ]);
  });

  it('refuses prefixes that differ only in case (one of them could never be matched)', () => {
    expect(parse('/api=http://h,/API=http://i').problems).toEqual(['API_ROUTES has /api and /API, which differ only in case']);
  });

  it('puts longer prefixes first, so the most specific route wins whatever the order written', () => {
    expect(parse('/api=http://h,/api/admin=http://i#token=client,/b=http://j').routes.map((route) => route.prefix)).toEqual([
      '/api/admin',
      '/api',
      '/b',
    ]);
  });
});

describe('API_ROUTES: token exchange and identity assertions', () => {
  it('reads token=exchange with its audience, resource and scope as a token identity of its own', () => {
    const { routes, problems } = parse(
      '/x=http://h#token=exchange&audience=orders&scope=orders.read,/p=http://h#resource=urn:o&scope=orders.read,/e=http://h#token=exchange&resource=urn:o&scope=orders.read',
    );
    expect(problems).toEqual([]);
    const [x, p, e] = ['/x', '/p', '/e'].map((prefix) => routes.find((route) => route.prefix === prefix)!);
    expect(x!.target).toMatchObject({ exchange: true, audience: 'orders', scope: 'orders.read' });
    // The same resource and scope as a per-resource route, yet never the same token.
    expect(e!.target).toMatchObject({ exchange: true, resource: 'urn:o', scope: 'orders.read' });
    expect(e!.target!.id).not.toBe(p!.target!.id);
    expect(x!.assertion).toBeUndefined();
  });

  it('reads token=assertion: aud is the audience or the upstream origin, claims default to email and name', () => {
    expect(only('/i=http://inner:7000/v1#token=assertion')).toMatchObject({
      token: 'assertion',
      target: undefined,
      assertion: { audience: 'http://inner:7000', claims: ['email', 'name'] },
    });
    expect(only('/i=http://inner#token=assertion&audience=urn:inner&claims=email+groups').assertion).toEqual({
      audience: 'urn:inner',
      claims: ['email', 'groups'],
    });
  });

  it.each([
    ['/a=http://h#token=exchange', 'token=exchange needs an audience or a resource'],
    ['/a=http://h#audience=x', 'audience is only for token=exchange or token=assertion'],
    ['/a=http://h#token=client&audience=x', 'audience is only for token=exchange or token=assertion'],
    ['/a=http://h#token=exchange&audience=x&claims=email', 'claims is only for token=assertion'],
    ['/a=http://h#token=exchange&audience=a%20b', 'audience must be one name or URI'],
    ['/a=http://h#token=assertion&resource=urn:x', 'token=assertion takes no resource or scope'],
    ['/a=http://h#token=assertion&scope=x', 'token=assertion takes no resource or scope'],
    ['/a=http://h#token=assertion&claims=email+sub', 'claims cannot include sub'],
    ['/a=http://h#token=assertion&claims=a%22b', 'claims must be space-separated claim names'],
  ])('refuses %s, naming the entry', (entry, message) => {
    const { routes, problems } = parse(entry);
    expect(routes).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`API_ROUTES entry "${entry}": ${message}`), problems[0]).toBe(true);
  });
});
