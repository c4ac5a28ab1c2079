import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, startIdp, type RunningIdp } from '../idp/index.js';
import { loginThroughIdp } from '../idp/test-login.js';
import { startMeApi, type RunningMeApi } from './index.js';

const CLIENT_ID = 'me-api-test-client';
const CLIENT_SECRET = 'me-api-test-client-secret-0123456789-0123456789';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const AUDIENCE = 'urn:bff-kit:demo-api';
const ALICE = DEMO_USERS[0]!;

describe('the tiny dev API (GET /me)', () => {
  let idp: RunningIdp;
  let api: RunningMeApi;
  let token: string;
  let idToken: string;

  /** Alice's tokens through the real code flow. */
  async function signIn() {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile',
      state: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const code = new URL(await loginThroughIdp(url.href, ALICE)).searchParams.get('code')!;
    const response = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
    });
    return (await response.json()) as { access_token: string; id_token: string };
  }

  const me = (authorization?: string) => fetch(`${api.url}/me`, { headers: authorization ? { authorization } : {} });

  beforeAll(async () => {
    idp = await startIdp({
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [] }],
      apiAudience: AUDIENCE,
    });
    api = await startMeApi({ issuer: idp.issuer, audience: AUDIENCE });
    ({ access_token: token, id_token: idToken } = await signIn());
  });
  afterAll(async () => {
    await api?.close();
    await idp?.close();
  });

  it("answers the access token's subject and claims, not the token, and no cache may keep it", async () => {
    const response = await me(`Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ sub: ALICE.sub, audience: AUDIENCE, clientId: CLIENT_ID });
    expect(typeof body.expiresAt).toBe('number');
    expect(JSON.stringify(body)).not.toContain(token);
  });

  it('refuses a call without a token with a Bearer challenge', async () => {
    const response = await me();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });

  it('refuses a tampered token and an ID token of the same issuer as invalid_token', async () => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${signature}`;
    for (const bad of [forged, idToken]) {
      const response = await me(`Bearer ${bad}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('has no other resource', async () => {
    expect((await fetch(`${api.url}/notes`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });
});
