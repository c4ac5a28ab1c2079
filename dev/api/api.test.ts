import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Note } from '../../shared/src/index.js';
import { DEMO_USERS, startIdp, type RunningIdp } from '../idp/index.js';
import { loginThroughIdp } from '../idp/test-login.js';
import { startDemoApi, type RunningDemoApi } from './index.js';

const CLIENT_ID = 'api-test-client';
const CLIENT_SECRET = 'api-test-client-secret-0123456789-0123456789';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const AUDIENCE = 'urn:bff-kit:demo-api';
const [ALICE, BOB] = DEMO_USERS as [(typeof DEMO_USERS)[number], (typeof DEMO_USERS)[number]];

describe('demo API', () => {
  let idp: RunningIdp;
  let api: RunningDemoApi;
  let aliceToken: string;
  let bobToken: string;

  /** An access token for `user` through the real code flow (scope as given). */
  async function accessToken(user: { username: string; password: string }, scope = 'openid profile offline_access') {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      scope,
      state: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const code = new URL(await loginThroughIdp(url.href, user)).searchParams.get('code')!;
    const response = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
    });
    return ((await response.json()) as { access_token: string }).access_token;
  }

  const call = (path: string, token: string | undefined, init: RequestInit = {}) =>
    fetch(`${api.url}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
    });
  const post = (token: string, body: unknown, contentType = 'application/json') =>
    call('/notes', token, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    idp = await startIdp({
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [] }],
      apiAudience: AUDIENCE,
    });
    api = await startDemoApi({ issuer: idp.issuer, audience: AUDIENCE });
    [aliceToken, bobToken] = await Promise.all([accessToken(ALICE), accessToken(BOB)]);
  });
  afterAll(async () => {
    await api?.close();
    await idp?.close();
  });

  it('accepts the provider access token: /me gives sub and scope', async () => {
    const response = await call('/me', aliceToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ sub: ALICE.sub, scope: '', audience: AUDIENCE, clientId: expect.any(String) });
  });

  it('carries the API scope when the client asks for it', async () => {
    const token = await accessToken(BOB, 'openid notes');
    expect(await (await call('/me', token)).json()).toEqual({
      sub: BOB.sub,
      scope: 'notes',
      audience: AUDIENCE,
      clientId: expect.any(String),
    });
  });

  it('greets on its public path with or without a token, but never with a bad one', async () => {
    expect(await (await call('/public/hello', undefined)).json()).toEqual({ greeting: 'Hello, guest!', signedIn: false });
    expect(await (await call('/public/hello', aliceToken)).json()).toEqual({ greeting: `Hello, ${ALICE.sub}!`, signedIn: true });
    expect((await call('/public/hello', 'not-a-token')).status).toBe(401);
    expect((await call('/me', undefined)).status).toBe(401); // only the public path
  });

  it('asks for a token when there is none', async () => {
    const response = await call('/notes', undefined);
    expect(response.status).toBe(401);
    // Both schemes it takes are offered (RFC 9449 §7.1): Bearer, and DPoP with its algorithms.
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="demo-api", DPoP algs="ES256 EdDSA Ed25519"');
  });

  it('refuses a tampered token with invalid_token', async () => {
    const [header, payload, signature] = aliceToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: BOB.sub })).toString('base64url')}.${signature}`;
    const response = await call('/notes', forged);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="demo-api", error="invalid_token"/);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_token');
  });

  it('refuses expired tokens, other audiences, and ID-token-typed JWTs from the same key', async () => {
    const key = await importJWK(idp.privateJwk, 'RS256');
    const sign = ({ typ = 'at+jwt', audience = AUDIENCE, expiresAt = '5m' as number | string } = {}) =>
      new SignJWT({ scope: '', client_id: CLIENT_ID })
        .setProtectedHeader({ alg: 'RS256', kid: idp.privateJwk.kid, typ })
        .setIssuer(idp.issuer)
        .setSubject(ALICE.sub)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(expiresAt)
        .sign(key);
    // The control: correctly made, it passes.
    expect((await call('/me', await sign())).status).toBe(200);
    const expired = await call('/me', await sign({ expiresAt: Math.floor(Date.now() / 1000) - 10 }));
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error_description="the access token expired"');
    expect((await call('/me', await sign({ audience: 'urn:other-api' }))).status).toBe(401);
    expect((await call('/me', await sign({ typ: 'JWT' }))).status).toBe(401);
  });

  it('keeps notes per user: create, list newest first, delete', async () => {
    const first = await post(aliceToken, { text: 'first note' });
    expect(first.status).toBe(201);
    const one = (await first.json()) as Note;
    expect(one).toEqual({ id: expect.any(String), text: 'first note', createdAt: expect.any(Number) });
    const two = (await (await post(aliceToken, { text: '  second note  ' })).json()) as Note;
    expect(two.text).toBe('second note');

    const list = (await (await call('/notes', aliceToken)).json()) as Note[];
    expect(list.map((note) => note.id)).toEqual([two.id, one.id]);
    // Bob sees none of Alice's notes and cannot delete them.
    expect(await (await call('/notes', bobToken)).json()).toEqual([]);
    expect((await call(`/notes/${one.id}`, bobToken, { method: 'DELETE' })).status).toBe(404);

    expect((await call(`/notes/${one.id}`, aliceToken, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/notes/${one.id}`, aliceToken, { method: 'DELETE' })).status).toBe(404);
    expect(((await (await call('/notes', aliceToken)).json()) as Note[]).map((note) => note.id)).toEqual([two.id]);
  });

  it('validates new notes with JSON errors', async () => {
    const cases: Array<[unknown, number, string?]> = [
      [{ text: '' }, 400],
      [{ text: '   ' }, 400],
      [{ text: 'x'.repeat(501) }, 400],
      [{ text: 42 }, 400],
      [{}, 400],
      [null, 400],
      ['{not json', 400],
      [{ text: 'fine' }, 415, 'text/plain'],
    ];
    for (const [body, status, contentType] of cases) {
      const response = await post(bobToken, body, contentType);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(((await response.json()) as { error: string }).error).toBe('bad_request');
    }
    expect((await post(bobToken, { text: 'x'.repeat(500) })).status).toBe(201);
    // 500 characters, counted as characters rather than UTF-16 units.
    expect((await post(bobToken, { text: '😀'.repeat(500) })).status).toBe(201);
  });
});
