import { describe, expect, it } from 'vitest';
import { requestHeaderPolicy } from './header-policy.js';
import { isNeverForwarded } from '../http/header-rules.js';

const extras = { authorization: 'Bearer t', clientAddress: '203.0.113.7', proto: 'https', host: 'app.example.com', requestId: 'req-1' };

describe('request header allowlist', () => {
  const forward = requestHeaderPolicy([]);

  it('forwards content negotiation, content, conditional, range, caching and tracing headers', () => {
    const incoming = {
      accept: 'application/json',
      'accept-language': 'de',
      'content-type': 'application/json',
      'content-length': '2',
      'if-none-match': '"x"',
      'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT',
      range: 'bytes=0-1',
      'cache-control': 'no-cache',
      pragma: 'no-cache',
      'x-requested-with': 'XMLHttpRequest',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'a=b',
      baggage: 'k=v',
    };
    expect(forward(incoming, extras)).toEqual({
      ...incoming,
      authorization: 'Bearer t',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.com',
      'x-request-id': 'req-1',
    });
  });

  it.each([
    'x-original-url',
    'x-rewrite-url',
    'x-http-method-override',
    'x-http-method',
    'x-forwarded-prefix',
    'x-forwarded-user',
    'x-real-ip',
    'true-client-ip',
    'x-client-ip',
    'x-auth-request-email',
    'forwarded',
    'cookie',
    'x-csrf',
    'expect',
    'x-custom',
    'origin',
    'user-agent',
    'acceptable-user',
  ])('drops %s', (name) => {
    expect(forward({ [name]: 'from the browser' }, extras)[name]).toBeUndefined();
  });

  it('replaces client-written X-Forwarded-For, -Host, -Proto, X-Request-Id and Authorization with its own', () => {
    const headers = forward(
      {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil',
        'x-forwarded-proto': 'gopher',
        'x-request-id': 'mine',
        authorization: 'Basic x',
      },
      extras,
    );
    expect(headers).toMatchObject({
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-host': 'app.example.com',
      'x-forwarded-proto': 'https',
      'x-request-id': 'req-1',
      authorization: 'Bearer t',
    });
  });

  it('forwards the names API_FORWARD_HEADERS adds, never a forbidden one', () => {
    const policy = requestHeaderPolicy(['x-tenant', 'x-forwarded-user']);
    const headers = policy({ 'x-tenant': 'acme', 'x-forwarded-user': 'admin' }, extras);
    expect(headers['x-tenant']).toBe('acme');
    expect(headers['x-forwarded-user']).toBeUndefined();
    expect(isNeverForwarded('x-forwarded-user')).toBe(true);
    expect(isNeverForwarded('x-tenant')).toBe(false);
  });
});
