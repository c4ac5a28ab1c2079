import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, startIdp, type RunningIdp } from './index.js';
import { createCookieJar, loginThroughIdp, type CookieJar } from './test-login.js';

const CLIENT_ID = 'logout-test-client';
const CLIENT_SECRET = 'logout-test-client-secret-0123456789-0123456789';
const ALICE = DEMO_USERS[0]!;

/** A stand-in for the BFF's back-channel logout endpoint that records what it receives. */
async function startReceiver() {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('dev OpenID Provider sign-out', () => {
  let idp: RunningIdp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let redirectUri: string;
  let postLogoutUri: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    redirectUri = `${receiver.url}/callback`;
    postLogoutUri = `${receiver.url}/`;
    idp = await startIdp({
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [redirectUri],
          post_logout_redirect_uris: [postLogoutUri],
          backchannel_logout_uri: `${receiver.url}/backchannel-logout`,
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      apiAudience: 'urn:bff-kit:demo-api',
    });
  });
  afterAll(async () => {
    await idp?.close();
    await receiver?.close();
  });

  async function signIn(cookies: CookieJar, user: { username: string; password: string } = ALICE) {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state: 'state-1234567890',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const code = new URL(await loginThroughIdp(url.href, user, { cookies })).searchParams.get('code')!;
    // client_secret_post: the secret travels in the form body.
    const response = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { id_token: string; refresh_token: string };
  }

  /** A browser request at the provider with the jar's cookies. */
  async function browse(cookies: CookieJar, url: URL, body?: URLSearchParams) {
    const cookie = cookies.header(url);
    const response = await fetch(url, { method: body ? 'POST' : 'GET', body, headers: cookie ? { cookie } : {}, redirect: 'manual' });
    cookies.store(url, response.headers.getSetCookie());
    return response;
  }

  it('reuses the provider session: a second sign-in needs neither password nor consent', async () => {
    const cookies = createCookieJar();
    const first = await signIn(cookies);
    // Wrong credentials would throw, had the login page been shown.
    const second = await signIn(cookies, { username: 'alice', password: 'not-asked-for' });
    expect(decodeJwt(second.id_token).sid).toBe(decodeJwt(first.id_token).sid);
  });

  it('signs out through end_session with its own form, sends a back-channel logout with sid, and ends the refresh token', async () => {
    const cookies = createCookieJar();
    const tokens = await signIn(cookies);
    const sid = decodeJwt(tokens.id_token).sid;
    expect(sid).toEqual(expect.any(String));

    const endSession = new URL(`${idp.issuer}/session/end`);
    endSession.search = new URLSearchParams({
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: postLogoutUri,
      state: 'bye',
    }).toString();
    const page = await browse(cookies, endSession);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(ALICE.name);
    const action = /<form method="post" action="([^"]+)">/.exec(html)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;

    const before = idp.stats.backchannelLogouts;
    const confirmed = await browse(cookies, new URL(action.replaceAll('&amp;', '&')), new URLSearchParams({ xsrf, logout: 'yes' }));
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe(`${postLogoutUri}?state=bye`);
    expect(idp.stats.backchannelLogouts).toBe(before + 1);

    const logoutToken = receiver.received.at(-1)!;
    const { payload, protectedHeader } = await jwtVerify(logoutToken, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), {
      issuer: idp.issuer,
      audience: CLIENT_ID,
      typ: 'logout+jwt',
    });
    expect(protectedHeader.kid).toBe(idp.privateJwk.kid);
    expect(payload).toMatchObject({ sub: ALICE.sub, sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    expect(payload).not.toHaveProperty('nonce');

    // Signing out at the provider revoked the grant behind the refresh token.
    const refresh = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      }),
    });
    expect(refresh.status).toBe(400);
  });

  it('answers a logout without a provider session with a plain form, no script', async () => {
    const cookies = createCookieJar();
    const endSession = new URL(
      `${idp.issuer}/session/end?client_id=${CLIENT_ID}&post_logout_redirect_uri=${encodeURIComponent(postLogoutUri)}`,
    );
    const page = await browse(cookies, endSession);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('name="logout" value="yes"');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const confirmed = await browse(cookies, new URL(`${idp.issuer}/session/end/confirm`), new URLSearchParams({ xsrf, logout: 'yes' }));
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe(postLogoutUri);
  });
});
