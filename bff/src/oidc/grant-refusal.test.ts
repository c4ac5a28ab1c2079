import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, classifyGrantFailure, retryAfterMs, type GrantRefusal } from './grant-refusal.js';

/** What the loopback token endpoint answers next (`hang`: never answers). */
let next: { status: number; headers?: OutgoingHttpHeaders; body?: string } | 'hang' = { status: 400 };
let server: Server;
let issuer: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (next === 'hang') return;
      const body = next.body ?? '';
      res.writeHead(next.status, { 'content-length': Buffer.byteLength(body), ...next.headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function configuration(tokenEndpoint = `${issuer}/token`, timeoutSeconds = 5) {
  const config = new client.Configuration({ issuer, token_endpoint: tokenEndpoint }, 'bff', undefined, client.ClientSecretPost('secret'));
  client.allowInsecureRequests(config);
  config.timeout = timeoutSeconds;
  return config;
}

/** The error openid-client really throws for a refresh answered with `answer`. */
async function refusal(answer: typeof next, config = configuration()): Promise<unknown> {
  next = answer;
  try {
    await client.refreshTokenGrant(config, 'refresh-token');
  } catch (error) {
    return error;
  }
  throw new Error('the refresh unexpectedly succeeded');
}

const json = (status: number, body: object, headers: OutgoingHttpHeaders = {}) => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe('classifyGrantFailure with the errors openid-client throws', () => {
  it.each<[string, GrantRefusal, Exclude<typeof next, 'hang'>]>([
    ['invalid_grant', 'grant', json(400, { error: 'invalid_grant' })],
    [
      'invalid_request (LemonLDAP::NG, unknown refresh token)',
      'request',
      json(400, { error: 'invalid_request', error_description: 'Invalid refresh token' }),
    ],
    ['a bare 400 with an empty body (Glewlwyd)', 'request', { status: 400 }],
    ['a 400 HTML page', 'request', { status: 400, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Request</h1>' }],
    ['a 400 JSON body without an error code', 'request', json(400, { message: 'no' })],
    ['invalid_client with 401', 'client', json(401, { error: 'invalid_client' })],
    [
      'invalid_client with a WWW-Authenticate challenge',
      'client',
      json(401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="token"' }),
    ],
    ['unauthorized_client', 'client', json(400, { error: 'unauthorized_client' })],
    ['unsupported_grant_type', 'client', json(400, { error: 'unsupported_grant_type' })],
    ['a bare 401', 'client', { status: 401 }],
    ['invalid_target', 'target', json(400, { error: 'invalid_target' })],
    ['invalid_scope', 'target', json(400, { error: 'invalid_scope' })],
    ['a 500 with an OAuth error body', 'unavailable', json(500, { error: 'server_error' })],
    ['a bare 503', 'unavailable', { status: 503 }],
    ['a 429 with an OAuth error body', 'unavailable', json(429, { error: 'slow_down' }, { 'retry-after': '30' })],
    ['a bare 429', 'unavailable', { status: 429, headers: { 'retry-after': '30' } }],
    ['a 502 HTML page', 'unavailable', { status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Gateway</h1>' }],
  ])('%s -> %s', async (_name, expected, answer) => {
    expect(classifyGrantFailure(await refusal(answer))).toBe(expected);
  });

  it('an unreachable token endpoint -> unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(classifyGrantFailure(await refusal({ status: 200 }, configuration(`http://127.0.0.1:${port}/token`)))).toBe('unavailable');
  });

  it('a token endpoint that does not answer in time -> unavailable', async () => {
    expect(classifyGrantFailure(await refusal('hang', configuration(undefined, 1)))).toBe('unavailable');
  });

  it("errors of the library's exported classes, built directly", () => {
    const response = new Response(null, { status: 400 });
    expect(classifyGrantFailure(new client.ResponseBodyError('x', { cause: { error: 'invalid_request' }, response }))).toBe('request');
    expect(classifyGrantFailure(new client.ResponseBodyError('x', { cause: { error: 'invalid_grant' }, response }))).toBe('grant');
    expect(
      classifyGrantFailure(
        new client.ResponseBodyError('x', { cause: { error: 'invalid_client' }, response: new Response(null, { status: 401 }) }),
      ),
    ).toBe('client');
    expect(
      classifyGrantFailure(
        new client.ResponseBodyError('x', { cause: { error: 'invalid_grant' }, response: new Response(null, { status: 502 }) }),
      ),
    ).toBe('unavailable');
    expect(classifyGrantFailure(new client.ClientError('unexpected HTTP response status code', { cause: response }))).toBe('request');
    expect(classifyGrantFailure(new Error('anything else'))).toBe('unavailable');
    expect(classifyGrantFailure(undefined)).toBe('unavailable');
  });
});

describe('retryAfterMs: the wait a rate-limited provider asked for', () => {
  it.each<[string, Exclude<typeof next, 'hang'>, number | undefined]>([
    ['seconds on a 429 with an OAuth body', json(429, { error: 'slow_down' }, { 'retry-after': '30' }), 30_000],
    ['seconds on a bare 429', { status: 429, headers: { 'retry-after': '12' } }, 12_000],
    ['a 429 without Retry-After', { status: 429 }, undefined],
    ['a Retry-After that is no number or date', { status: 429, headers: { 'retry-after': 'soon' } }, undefined],
    ['Retry-After on another status', { status: 503, headers: { 'retry-after': '30' } }, undefined],
    ['a huge Retry-After, capped', { status: 429, headers: { 'retry-after': '99999999' } }, MAX_RETRY_AFTER_MS],
  ])('%s', async (_name, answer, expected) => {
    expect(retryAfterMs(await refusal(answer))).toBe(expected);
  });

  it('an HTTP date, counted from now', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const error = await refusal({ status: 429, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT' } });
    expect(retryAfterMs(error, now)).toBe(60_000);
    expect(retryAfterMs(error, now + 120_000)).toBeUndefined(); // already past
  });
});
