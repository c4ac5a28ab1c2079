import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, startIdp, type RunningIdp } from './index.js';
import { loginThroughIdp } from './test-login.js';

const CLIENT_ID = 'idp-test-client';
const CLIENT_SECRET = 'idp-test-client-secret-0123456789-0123456789';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const AUDIENCE = 'urn:bff-kit:demo-api';
const [ALICE, BOB] = DEMO_USERS as [(typeof DEMO_USERS)[number], (typeof DEMO_USERS)[number]];

interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

describe('dev OpenID Provider', () => {
  let idp: RunningIdp;

  beforeAll(async () => {
    idp = await startIdp({
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [REDIRECT_URI],
          post_logout_redirect_uris: ['http://127.0.0.1:9/'],
          // Port 9 (discard) is closed: deliveries fail fast and are not counted.
          backchannel_logout_uri: 'http://127.0.0.1:9/backchannel-logout',
        },
      ],
      apiAudience: AUDIENCE,
      accessTokenTtl: 120,
    });
  });
  afterAll(async () => {
    await idp?.close();
  });

  /** An authorization request as the BFF makes it: code + PKCE S256, no `resource`, no prompt. */
  function authorization(params: Record<string, string> = {}) {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile email offline_access',
      state,
      nonce: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...params,
    }).toString();
    return { url: url.href, verifier, state };
  }

  const basicAuth = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
  const tokenRequest = (params: Record<string, string>) =>
    fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });

  async function signIn(user = ALICE) {
    const request = authorization();
    const back = new URL(await loginThroughIdp(request.url, user));
    expect(back.origin + back.pathname).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe(request.state);
    expect(back.searchParams.get('iss')).toBe(idp.issuer);
    const code = back.searchParams.get('code')!;
    const response = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: request.verifier,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as TokenResponse;
  }

  it('publishes the endpoints a BFF needs in its discovery document', async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(idp.issuer);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'revocation_endpoint', 'end_session_endpoint', 'jwks_uri']) {
      expect(discovery[endpoint], endpoint).toMatch(new RegExp(`^${idp.issuer}/`));
    }
    expect(discovery.backchannel_logout_supported).toBe(true);
    expect(discovery.backchannel_logout_session_supported).toBe(true);
    expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'offline_access']));
    const jwks = (await (await fetch(discovery.jwks_uri as string)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]!.kid).toBe(idp.privateJwk.kid);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(idp.privateJwk.d).toBeTruthy();
  });

  it('runs the code flow by HTTP: JWT access token for the API, ID token claims, refresh token without prompt=consent', async () => {
    const grantsBefore = idp.stats.tokenGrants.authorization_code ?? 0;
    const tokens = await signIn();
    expect(idp.stats.tokenGrants.authorization_code).toBe(grantsBefore + 1);
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.expires_in).toBe(120);
    expect(tokens.refresh_token).toBeTruthy();

    const keys = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    const { payload: access } = await jwtVerify(tokens.access_token, keys, {
      issuer: idp.issuer,
      audience: AUDIENCE,
      algorithms: ['RS256'],
    });
    expect(access.sub).toBe(ALICE.sub);
    expect(access.client_id).toBe(CLIENT_ID);
    expect(access.exp! - access.iat!).toBe(120);

    const { payload: id } = await jwtVerify(tokens.id_token!, keys, { issuer: idp.issuer, audience: CLIENT_ID });
    expect(id).toMatchObject({
      sub: ALICE.sub,
      name: ALICE.name,
      preferred_username: ALICE.username,
      email: ALICE.email,
      email_verified: true,
    });
    expect(id.sid).toEqual(expect.any(String));
  });

  it('issues a refresh token even when offline_access is not requested at all', async () => {
    const request = authorization({ scope: 'openid' });
    const code = new URL(await loginThroughIdp(request.url, BOB)).searchParams.get('code')!;
    const response = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: request.verifier,
    });
    const tokens = (await response.json()) as TokenResponse;
    expect(tokens.refresh_token).toBeTruthy();
    expect(decodeJwt(tokens.id_token!)).not.toHaveProperty('email');
  });

  it('refuses a resource other than the demo API', async () => {
    const response = await fetch(authorization({ resource: 'urn:some-other-api' }).url, { redirect: 'manual' });
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
  });

  it('refreshes with rotation, and treats a replayed refresh token as theft', async () => {
    const first = await signIn();
    const grantsBefore = idp.stats.tokenGrants.refresh_token ?? 0;
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as TokenResponse;
    expect(idp.stats.tokenGrants.refresh_token).toBe(grantsBefore + 1);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(second.access_token).aud).toBe(AUDIENCE);
    expect(second.access_token).not.toBe(first.access_token);

    // The old one is spent; using it again revokes the whole grant, the new one included.
    const replay = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    const afterReplay = await tokenRequest({ grant_type: 'refresh_token', refresh_token: second.refresh_token! });
    expect(afterReplay.status).toBe(400);
  });

  it('revokes a refresh token and counts it; JWT access tokens cannot be revoked', async () => {
    const tokens = await signIn(BOB);
    const revoke = (token: string, hint: string) =>
      fetch(`${idp.issuer}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: hint }),
      });
    const before = idp.stats.revokedTokens;
    expect((await revoke(tokens.refresh_token!, 'refresh_token')).status).toBe(200);
    expect(idp.stats.revokedTokens).toBe(before + 1);
    // Unknown tokens answer 200 too (RFC 7009) but are not counted.
    expect((await revoke('no-such-token', 'refresh_token')).status).toBe(200);
    expect(idp.stats.revokedTokens).toBe(before + 1);
    const structured = await revoke(tokens.access_token, 'access_token');
    expect(structured.status).toBe(400);
    expect(((await structured.json()) as { error: string }).error).toBe('unsupported_token_type');

    const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('sends error=access_denied to the client when the user denies consent', async () => {
    const request = authorization();
    const back = new URL(await loginThroughIdp(request.url, ALICE, { deny: true }));
    expect(back.origin + back.pathname).toBe(REDIRECT_URI);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe(request.state);
    expect(back.searchParams.has('code')).toBe(false);
  });

  it('shows the login page again with an error on a wrong password', async () => {
    await expect(loginThroughIdp(authorization().url, { username: 'alice', password: 'wrong' })).rejects.toThrow(
      /Wrong username or password/,
    );

    // The same by hand: the page, its headers and the kept username.
    const start = await fetch(authorization().url, { redirect: 'manual' });
    const interactionUrl = new URL(start.headers.get('location')!, idp.issuer);
    const cookie = start.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const page = await fetch(interactionUrl, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await page.text();
    expect(html).toMatch(/<form method="post" action="\/interaction\/[^"]+\/login"/);
    expect(html).toMatch(/<label for="username">/);
    expect(html).not.toMatch(/<script/i);
    const retry = await fetch(`${interactionUrl.href}/login`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'alice', password: 'not-her-password' }),
      redirect: 'manual',
    });
    expect(retry.status).toBe(200);
    const again = await retry.text();
    expect(again).toContain('Wrong username or password.');
    expect(again).toContain('value="alice"');
  });

  it('refuses a code exchange without the PKCE verifier', async () => {
    const request = authorization();
    const code = new URL(await loginThroughIdp(request.url, ALICE)).searchParams.get('code')!;
    const response = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('refuses an authorization request without PKCE', async () => {
    const url = new URL(authorization().url);
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const response = await fetch(url, { redirect: 'manual' });
    const back = new URL(response.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
  });
});
