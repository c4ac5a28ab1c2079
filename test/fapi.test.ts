import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { SignJWT, calculateJwkThumbprint, importPKCS8 } from 'jose';
import type { Middleware } from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConfigError, loadConfig } from '../bff/src/config.js';
import type { SessionRecord } from '../bff/src/session/records.js';
import { startDemoApi, type RunningDemoApi } from '../dev/api/index.js';
import { FAPI_PROFILE } from '../dev/idp/index.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { startBff, type RunningBff } from './support/bff.js';
import { TestBrowser } from './support/browser.js';
import { freePort, startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, API_AUDIENCE, CLIENT_ID, startStack, type Stack, type StackOptions } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';

/**
 * The FAPI 2.0 toolbox (issue 15) against the real dev provider (oidc-provider), the real demo
 * API (which verifies DPoP proofs with jose) and a recording upstream: private_key_jwt with both
 * key forms, PAR optional / required / off, DPoP with and without provider nonces, upstream nonce
 * challenges, and a whole session life (sign-in, calls, refresh, client token, sign-out with
 * revocation) in each mode.
 */

interface KeyPair {
  privateKey: KeyObject;
  pem: string;
  /** The private JWK as JSON (what OIDC_CLIENT_PRIVATE_KEY takes in its JWK form). */
  jwk: string;
  publicJwk: Record<string, string>;
}

function keyPair(type: 'ec' | 'ed25519' | 'rsa'): KeyPair {
  const { privateKey, publicKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  return {
    privateKey,
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    jwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
    publicJwk: publicKey.export({ format: 'jwk' }) as Record<string, string>,
  };
}

const b64json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
const decodeJwt = (jwt: string) => {
  const [header, payload] = jwt.split('.');
  return { header: b64json(header!), payload: b64json(payload!) };
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * A client registered for private_key_jwt: no secret at the provider, none at the BFF. The key is
 * registered as `npm run keys` prints it: with the `kid` the BFF sends (by default the key's
 * RFC 7638 thumbprint), which providers match the assertion's header against.
 */
async function assertionClient(publicJwk: Record<string, string>, extra: StackOptions['client'] = {}): Promise<StackOptions['client']> {
  const kid = publicJwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  return { client_secret: undefined, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...publicJwk, kid }] }, ...extra };
}

/** The BFF environment for private_key_jwt (the stack's secret blanked: the BFF must not need one). */
const assertionEnv = (key: string, extra: Record<string, string> = {}) => ({
  OIDC_CLIENT_AUTH: 'private_key_jwt',
  OIDC_CLIENT_PRIVATE_KEY: key,
  OIDC_CLIENT_SECRET: '',
  ...extra,
});

/** A route to the demo API that uses the BFF's own client-credentials token. */
const clientRoute: StackOptions['routes'] = ({ api }) => `/svc=${api}#token=client`;

describe('FAPI 2.0 toolbox', () => {
  let redis: RunningRedis;
  let stack: Stack | undefined;
  const extra: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    for (const item of extra.splice(0)) await item.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const start = async (options: StackOptions) => (stack = await startStack({ redisUrl: redis.url, ...options }));
  const grants = (kind: string) => stack!.idp.stats.tokenGrants[kind] ?? 0;

  /**
   * A whole session life through `stack`'s BFF: sign-in, a call the demo API accepts, a forced
   * refresh and another call, a client-credentials call, sign-out with revocation. Returns what
   * the demo API said about the tokens it got (`/me`).
   */
  async function wholeLife() {
    const s = stack!;
    const url = s.bff.url;
    const browser = await s.signIn();
    const first = await browser.api(`${url}/api/me`);
    expect(first.status).toBe(200);
    const me = (await first.json()) as { sub: string; jkt?: string };
    expect(me.sub).toBe(ALICE.sub);

    const refreshes = grants('refresh_token');
    await storedSessions(redis, url).makeDue(browser);
    const second = await browser.api(`${url}/api/me`);
    expect(second.status).toBe(200);
    expect(grants('refresh_token')).toBe(refreshes + 1);
    const afterRefresh = (await second.json()) as { jkt?: string };

    const clientCall = await browser.api(`${url}/svc/me`);
    expect(clientCall.status).toBe(200);
    const client = (await clientCall.json()) as { clientId: string; jkt?: string };
    expect(client.clientId).toBe(CLIENT_ID);

    const revoked = s.idp.stats.revokedTokens;
    const { logoutUrl } = (await (await browser.api(`${url}/bff/user`)).json()) as { logoutUrl: string };
    const out = await browser.fetch(`${url}${logoutUrl}`);
    expect(out.status).toBe(302);
    expect(out.headers.get('location')).toMatch(new RegExp(`^${s.idp.issuer}/`));
    expect(s.idp.stats.revokedTokens).toBe(revoked + 1); // the refresh token, revoked with the client's own authentication
    expect((await browser.api(`${url}/bff/user`)).status).toBe(401);
    return { me, afterRefresh, client };
  }

  describe('private_key_jwt', () => {
    it('runs a whole session with a PEM client key (ES256) and no client secret anywhere', async () => {
      const key = keyPair('ec');
      await start({ client: await assertionClient(key.publicJwk), env: assertionEnv(key.pem), routes: clientRoute });
      expect(stack!.bff.deps.config.clientSecret).toBeUndefined();
      await wholeLife();
      expect(grants('authorization_code')).toBe(1);
      expect(grants('client_credentials')).toBe(1);
    });

    it('runs a whole session with a JWK client key (Ed25519, sent as EdDSA) and publishes its public half at /bff/jwks', async () => {
      const key = keyPair('ed25519');
      const privateJwk = JSON.stringify({ ...JSON.parse(key.jwk), kid: 'kit-key-1' });
      await start({
        client: await assertionClient({ ...key.publicJwk, kid: 'kit-key-1' }),
        env: assertionEnv(privateJwk),
        routes: clientRoute,
      });
      await wholeLife();
      const jwks = await fetch(`${stack!.bff.url}/bff/jwks`); // public: no cookie, no X-CSRF
      expect(jwks.status).toBe(200);
      expect(jwks.headers.get('content-type')).toContain('application/jwk-set+json');
      const set = (await jwks.json()) as { keys: Record<string, string>[] };
      expect(set.keys).toEqual([{ ...key.publicJwk, kid: 'kit-key-1', alg: 'EdDSA', use: 'sig' }]);
      expect(JSON.stringify(set)).not.toContain(JSON.parse(key.jwk).d);
    });

    it('names the key by its RFC 7638 thumbprint unless OIDC_CLIENT_KEY_ID says otherwise, and takes RSA keys as RS256', async () => {
      const rsa = keyPair('rsa');
      const config = loadConfig({ OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'kit', ...assertionEnv(rsa.pem) });
      expect(config.clientKey!.kid).toBe(await calculateJwkThumbprint(rsa.publicJwk));
      expect(config.clientKey!.alg).toBe('RS256');
      const named = loadConfig({
        OIDC_ISSUER: 'https://id.example.com',
        OIDC_CLIENT_ID: 'kit',
        ...assertionEnv(rsa.pem, { OIDC_CLIENT_KEY_ID: 'rotated-2026' }),
      });
      expect(named.clientKey!.kid).toBe('rotated-2026');
      const pss = loadConfig({
        OIDC_ISSUER: 'https://id.example.com',
        OIDC_CLIENT_ID: 'kit',
        ...assertionEnv(JSON.stringify({ ...JSON.parse(rsa.jwk), alg: 'PS256' })),
      });
      expect(pss.clientKey!.alg).toBe('PS256');
      // A PEM pasted into an .env file as one line with \n escapes reads the same.
      const oneLine = loadConfig({
        OIDC_ISSUER: 'https://id.example.com',
        OIDC_CLIENT_ID: 'kit',
        ...assertionEnv(rsa.pem.trim().replace(/\n/g, '\\n')),
      });
      expect(oneLine.clientKey!.kid).toBe(config.clientKey!.kid);
    });

    it('cannot sign in with a key the provider does not know (the assertion is really checked)', async () => {
      const registered = keyPair('ec');
      const other = keyPair('ec');
      const port = await freePort();
      await start({
        client: await assertionClient(registered.publicJwk),
        env: assertionEnv(registered.pem),
        extraOrigins: [`http://127.0.0.1:${port}`],
      });
      const impostor = await startBff({ ...stack!.env, OIDC_CLIENT_PRIVATE_KEY: other.pem }, port);
      extra.push(impostor);
      await expect(stack!.signIn(ALICE, impostor)).rejects.toThrow(/callback answered 400/);
      expect(grants('authorization_code')).toBe(0);
      expect(impostor.logs.join('')).toContain('code_exchange_failed');
    });
  });

  describe('pushed authorization requests', () => {
    /** The browser's authorization URL from /bff/login. */
    async function authorizationUrl(bff: RunningBff): Promise<URL> {
      const start = await new TestBrowser().fetch(`${bff.url}/bff/login`);
      expect(start.status).toBe(302);
      return new URL(start.headers.get('location')!);
    }

    it('PAR optional at the provider, OIDC_PAR=auto: pushes, and the browser URL carries only client_id and request_uri', async () => {
      await start({ idpProfile: { par: 'optional' }, routes: clientRoute });
      const url = await authorizationUrl(stack!.bff);
      expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
      expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
      expect(stack!.idp.stats.pushedRequests).toBe(1);
      await wholeLife();
      expect(stack!.idp.stats.pushedRequests).toBe(2);
    });

    it('PAR required at the provider: pushes with private_key_jwt, and a request that was not pushed is refused by the provider', async () => {
      const key = keyPair('ec');
      await start({
        idpProfile: { par: 'required' },
        client: await assertionClient(key.publicJwk),
        env: assertionEnv(key.pem, { OIDC_PAR: 'true' }),
        routes: clientRoute,
      });
      const url = await authorizationUrl(stack!.bff);
      expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
      await wholeLife();
      // The same parameters in the URL instead: the provider refuses (so the BFF really pushed).
      const direct = new URL(`${stack!.idp.issuer}/auth`);
      direct.search = new URLSearchParams({
        client_id: CLIENT_ID,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: `${stack!.bff.url}/bff/callback`,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
        state: 's',
      }).toString();
      const refused = await fetch(direct, { redirect: 'manual' });
      // The provider sends the browser back with an error (the redirect_uri is registered), never a code.
      expect(refused.status).toBe(303);
      const back = new URL(refused.headers.get('location')!);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('error_description')).toMatch(/pushed authorization request/i);
      expect(back.searchParams.has('code')).toBe(false);
    });

    it('OIDC_PAR=false: never pushes, even when the provider offers PAR; the parameters are in the URL as before', async () => {
      await start({ idpProfile: { par: 'optional' }, env: { OIDC_PAR: 'false' }, routes: clientRoute });
      const url = await authorizationUrl(stack!.bff);
      for (const name of [
        'client_id',
        'redirect_uri',
        'response_type',
        'scope',
        'state',
        'nonce',
        'code_challenge',
        'code_challenge_method',
      ])
        expect(url.searchParams.has(name)).toBe(true);
      expect(url.searchParams.has('request_uri')).toBe(false);
      await wholeLife();
      expect(stack!.idp.stats.pushedRequests).toBe(0);
    });

    it('OIDC_PAR=true against a provider without PAR: sign-in refuses to start (503) and the log says why', async () => {
      await start({ env: { OIDC_PAR: 'true' } });
      const response = await new TestBrowser().fetch(`${stack!.bff.url}/bff/login`);
      expect(response.status).toBe(503);
      expect(response.headers.get('location')).toBeNull();
      expect(stack!.bff.logs.join('')).toContain('par_unsupported');
    });
  });

  describe('DPoP', () => {
    /** The stack's BFF with DPoP on and a known key, so a test can check what was bound to what. */
    async function dpopStack(options: StackOptions = {}) {
      const dpopKey = keyPair('ec');
      await start({ routes: clientRoute, ...options, env: { OIDC_DPOP: 'true', DPOP_PRIVATE_KEY: dpopKey.pem, ...options.env } });
      return { dpopKey, jkt: await calculateJwkThumbprint(dpopKey.publicJwk) };
    }

    it('binds every token to the DPoP key (code, refresh, client credentials); the demo API verifies the proofs', async () => {
      const { jkt } = await dpopStack();
      const { me, afterRefresh, client } = await wholeLife();
      expect(me.jkt).toBe(jkt);
      expect(afterRefresh.jkt).toBe(jkt);
      expect(client.jkt).toBe(jkt);
      expect(stack!.idp.stats.dpopTokens).toEqual({ authorization_code: 1, refresh_token: 1, client_credentials: 1 });
      expect(stack!.idp.stats.dpopNonceChallenges).toBe(0);
    });

    it("answers the provider's use_dpop_nonce at the token endpoint and at PAR", async () => {
      const { jkt } = await dpopStack({ idpProfile: { dpopNonce: true, par: 'required' }, env: { OIDC_PAR: 'true' } });
      const { me, client } = await wholeLife();
      expect(me.jkt).toBe(jkt);
      expect(client.jkt).toBe(jkt);
      expect(stack!.idp.stats.dpopNonceChallenges).toBeGreaterThanOrEqual(1);
      expect(stack!.idp.stats.dpopTokens).toEqual({ authorization_code: 1, refresh_token: 1, client_credentials: 1 });
    });

    it('sends Authorization: DPoP and a fresh proof per call: htm, htu without query, iat, unique jti, ath; public key only', async () => {
      const { dpopKey } = await dpopStack();
      const browser = await stack!.signIn();
      const record = (await storedSessions(redis, stack!.bff.url).record(browser))!;
      const tokens = stack!.bff.deps.sessionTokens.open(record);
      expect(tokens.tokenType).toBe('dpop');
      for (let i = 0; i < 2; i++) expect((await browser.api(`${stack!.bff.url}/rec/items/7?page=${i}#x`)).status).toBe(200);
      const seen = stack!.upstream.requests.slice(-2);
      const proofs = seen.map((request) => {
        expect(request.headers.authorization).toBe(`DPoP ${tokens.accessToken}`);
        return decodeJwt(request.headers.dpop as string);
      });
      for (const { header, payload } of proofs) {
        expect(header.typ).toBe('dpop+jwt');
        expect(header.alg).toBe('ES256');
        expect(header.jwk).toEqual(dpopKey.publicJwk);
        expect(payload.htm).toBe('GET');
        expect(payload.htu).toBe(`${stack!.upstream.url}/v1/items/7`);
        expect(payload.ath).toBe(sha256(tokens.accessToken));
        expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(5);
      }
      expect(proofs[0]!.payload.jti).not.toBe(proofs[1]!.payload.jti);
      // A POST gets its own htm.
      await browser.api(`${stack!.bff.url}/rec/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(decodeJwt(stack!.upstream.requests.at(-1)!.headers.dpop as string).payload.htm).toBe('POST');
    });

    it('answers an upstream use_dpop_nonce challenge once, then reuses the nonce for that origin; a buffered body is replayed, a streamed one gets 503, never the 401', async () => {
      await dpopStack();
      const browser = await stack!.signIn();
      const upstream = stack!.upstream;
      upstream.dpopNonce.value = 'nonce-one';
      const before = upstream.requests.length;
      const first = await browser.api(`${stack!.bff.url}/rec/a`);
      expect(first.status).toBe(200);
      expect(first.headers.get('dpop-nonce')).toBeNull(); // the BFF's business, not the browser's
      expect(upstream.requests.length).toBe(before + 2); // challenged, then answered with the nonce
      expect(decodeJwt(upstream.requests.at(-1)!.headers.dpop as string).payload.nonce).toBe('nonce-one');
      expect((await browser.api(`${stack!.bff.url}/rec/b`)).status).toBe(200);
      expect(upstream.requests.length).toBe(before + 3); // cached per origin: no second challenge
      expect(upstream.dpopNonce.challenges).toBe(1);

      // The upstream rotates its nonce; a small body was read whole before the call, so it is sent again.
      upstream.dpopNonce.value = 'nonce-two';
      const post = await browser.api(`${stack!.bff.url}/rec/c`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(post.status).toBe(200);
      expect(upstream.requests.at(-1)!.bodyBytes).toBe(7);
      expect(decodeJwt(upstream.requests.at(-1)!.headers.dpop as string).payload.nonce).toBe('nonce-two');
      // A body big enough to stream cannot be replayed: 503 (never the upstream's 401), and the next attempt carries the nonce.
      upstream.dpopNonce.value = 'nonce-three';
      const big = 'x'.repeat(200 * 1024);
      const streamed = await browser.api(`${stack!.bff.url}/rec/d`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: big,
      });
      expect(streamed.status).toBe(503);
      expect(((await streamed.json()) as { error: string }).error).toBe('unavailable');
      const again = await browser.api(`${stack!.bff.url}/rec/d`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
      expect(again.status).toBe(200);
      expect(decodeJwt(upstream.requests.at(-1)!.headers.dpop as string).payload.nonce).toBe('nonce-three');
    });

    it('works with a demo API that demands its own nonces, for HTTP calls and WebSocket handshakes', async () => {
      const port = await freePort();
      const { jkt } = await dpopStack({ extraOrigins: [`http://127.0.0.1:${port}`] });
      const api: RunningDemoApi = await startDemoApi({ issuer: stack!.idp.issuer, audience: API_AUDIENCE, dpopNonceLifetimeMs: 60_000 });
      extra.push(api);
      const bff = await startBff({ ...stack!.env, API_ROUTES: `/napi=${api.url}#websocket=true` }, port);
      extra.push(bff);
      const browser = await signInAt(bff);
      const me = await browser.api(`${bff.url}/napi/me`);
      expect(me.status).toBe(200);
      expect(((await me.json()) as { jkt: string }).jkt).toBe(jkt);
      expect((await browser.api(`${bff.url}/napi/notes`)).status).toBe(200);

      const socket = new WebSocket(`${bff.url.replace('http:', 'ws:')}/napi/notes/live`, {
        headers: { origin: bff.url, cookie: browser.cookieHeader(bff.url)! },
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('unexpected-response', (_request, response) => reject(new Error(`handshake answered ${response.statusCode}`)));
        socket.once('error', reject);
      });
      socket.close();
    });

    it('sends a token the provider issued as Bearer (despite the proof) as Bearer, without a proof', async () => {
      // The provider never sees the proof: it issues plain Bearer tokens, as providers without DPoP do.
      const stripProof: Middleware = async (ctx, next) => {
        delete ctx.req.headers.dpop;
        await next();
      };
      await dpopStack({ idpFront: [stripProof] });
      const { me } = await wholeLife();
      expect(me.jkt).toBeUndefined();
      const browser = await stack!.signIn();
      expect((await browser.api(`${stack!.bff.url}/rec/plain`)).status).toBe(200);
      const seen = stack!.upstream.requests.at(-1)!;
      expect(seen.headers.authorization).toMatch(/^Bearer /);
      expect(seen.headers.dpop).toBeUndefined();
      expect(stack!.bff.deps.sessionTokens.open((await storedSessions(redis, stack!.bff.url).record(browser))!).tokenType).toBeUndefined();
    });

    it('makes a stolen DPoP-bound token worthless at the demo API: as Bearer, with another key, with a replayed or mismatched proof', async () => {
      const { dpopKey } = await dpopStack();
      const browser = await stack!.signIn();
      const token = stack!.bff.deps.sessionTokens.open((await storedSessions(redis, stack!.bff.url).record(browser))!).accessToken;
      const htu = `${stack!.api.url}/me`;
      const signing = await importPKCS8(dpopKey.pem, 'ES256');
      const proof = (key: CryptoKey, jwk: Record<string, string>, claims: Record<string, unknown> = {}) =>
        new SignJWT({ htm: 'GET', htu, jti: randomUUID(), ath: sha256(token), ...claims })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
          .setIssuedAt()
          .sign(key);
      const call = (authorization: string, dpop?: string) => fetch(htu, { headers: { authorization, ...(dpop ? { dpop } : {}) } });

      const valid = await proof(signing, dpopKey.publicJwk);
      expect((await call(`DPoP ${token}`, valid)).status).toBe(200); // the key holder: accepted
      expect((await call(`DPoP ${token}`, valid)).status).toBe(401); // the same proof again: jti replay
      expect((await call(`Bearer ${token}`)).status).toBe(401); // the token alone, as from a log
      expect((await call(`DPoP ${token}`)).status).toBe(401); // no proof
      const thief = keyPair('ec');
      expect((await call(`DPoP ${token}`, await proof(await importPKCS8(thief.pem, 'ES256'), thief.publicJwk))).status).toBe(401);
      expect((await call(`DPoP ${token}`, await proof(signing, dpopKey.publicJwk, { htu: `${stack!.api.url}/notes` }))).status).toBe(401);
      expect((await call(`DPoP ${token}`, await proof(signing, dpopKey.publicJwk, { htm: 'POST' }))).status).toBe(401);
      expect((await call(`DPoP ${token}`, await proof(signing, dpopKey.publicJwk, { ath: sha256('another token') }))).status).toBe(401);
      const old = await new SignJWT({ htm: 'GET', htu, jti: randomUUID(), ath: sha256(token) })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpopKey.publicJwk })
        .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
        .sign(signing);
      const stale = await call(`DPoP ${token}`, old);
      expect(stale.status).toBe(401);
      expect(stale.headers.get('www-authenticate')).toContain('invalid_dpop_proof');
    });

    it('never lets a DPoP proof, an access or refresh token or a private key reach the browser or the logs', async () => {
      const clientKey = keyPair('ec');
      const { dpopKey } = await dpopStack({ client: await assertionClient(clientKey.publicJwk), env: assertionEnv(clientKey.pem) });
      const seen: string[] = [];
      const keep = async (response: Response) => {
        seen.push(`${response.status} ${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await response.clone().text()}`);
        return response;
      };
      const browser = new TestBrowser();
      const login = await keep(await browser.fetch(`${stack!.bff.url}/bff/login`));
      await keep(await browser.fetch(await loginThroughIdp(login.headers.get('location')!, ALICE)));
      await keep(await browser.api(`${stack!.bff.url}/rec/one`));
      await storedSessions(redis, stack!.bff.url).makeDue(browser);
      await keep(await browser.api(`${stack!.bff.url}/api/me`));
      await keep(await browser.api(`${stack!.bff.url}/svc/me`));
      await keep(await fetch(`${stack!.bff.url}/bff/jwks`));
      const record = (await storedSessions(redis, stack!.bff.url).record(browser)) as SessionRecord;
      const tokens = stack!.bff.deps.sessionTokens.open(record);
      const { logoutUrl } = (await (await keep(await browser.api(`${stack!.bff.url}/bff/user`))).json()) as { logoutUrl: string };
      await keep(await browser.fetch(`${stack!.bff.url}${logoutUrl}`));

      const proofs = stack!.upstream.requests
        .map((request) => request.headers.dpop)
        .filter((proof): proof is string => typeof proof === 'string');
      expect(proofs.length).toBeGreaterThan(0);
      const secrets = [
        tokens.accessToken,
        tokens.refreshToken!,
        ...proofs,
        JSON.parse(clientKey.jwk).d as string,
        JSON.parse(dpopKey.jwk).d as string,
      ];
      const logs = stack!.bff.logs.join('');
      const browserSaw = seen.join('\n');
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThan(20);
        expect(logs).not.toContain(secret);
        expect(browserSaw).not.toContain(secret);
      }
      expect(browserSaw).not.toMatch(/client_assertion|"d":|DPoP-Nonce/i);
    });
  });

  describe('the FAPI 2.0 demo mode (DEMO_FAPI=1)', () => {
    it("runs a whole session against oidc-provider's FAPI 2.0 profile: private_key_jwt, PAR required, DPoP with nonces", async () => {
      const clientKey = keyPair('ec');
      const dpopKey = keyPair('ec');
      await start({
        idpProfile: FAPI_PROFILE,
        client: await assertionClient(clientKey.publicJwk, { dpop_bound_access_tokens: true }),
        env: assertionEnv(clientKey.pem, { OIDC_PAR: 'true', OIDC_DPOP: 'true', DPOP_PRIVATE_KEY: dpopKey.pem }),
        routes: clientRoute,
      });
      const jkt = await calculateJwkThumbprint(dpopKey.publicJwk);
      const { me, afterRefresh, client } = await wholeLife();
      expect([me.jkt, afterRefresh.jkt, client.jkt]).toEqual([jkt, jkt, jkt]);
      expect(stack!.idp.stats.pushedRequests).toBe(1);
      expect(stack!.idp.stats.dpopNonceChallenges).toBeGreaterThanOrEqual(1);
      const metadata = (await (await fetch(`${stack!.idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(metadata.require_pushed_authorization_requests).toBe(true);
    });
  });

  /** Signs ALICE in through a BFF the test started itself (its origin registered at the stack's provider). */
  const signInAt = (bff: RunningBff) => stack!.signIn(ALICE, bff);
});

describe('FAPI 2.0 toolbox: configuration', () => {
  const base = { OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'kit' };
  const ec = keyPair('ec');
  const rsa = keyPair('rsa');
  function problems(env: Record<string, string>): string[] {
    try {
      loadConfig({ ...base, ...env });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }

  const bad: [string, Record<string, string>, string][] = [
    [
      'private_key_jwt without a key',
      { OIDC_CLIENT_AUTH: 'private_key_jwt' },
      'OIDC_CLIENT_PRIVATE_KEY is required when OIDC_CLIENT_AUTH=private_key_jwt',
    ],
    [
      'an unreadable client key',
      { OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----' },
      'OIDC_CLIENT_PRIVATE_KEY could not be read',
    ],
    [
      'a client key that is neither PEM nor JWK',
      { OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: 'secret' },
      'OIDC_CLIENT_PRIVATE_KEY must be a PEM private key or a private JWK',
    ],
    [
      'a public JWK as the client key',
      { OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: JSON.stringify(ec.publicJwk) },
      'OIDC_CLIENT_PRIVATE_KEY is a public JWK',
    ],
    [
      'a P-384 client key',
      {
        OIDC_CLIENT_AUTH: 'private_key_jwt',
        OIDC_CLIENT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-384' })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      },
      'curve other than P-256',
    ],
    [
      'a short RSA client key',
      {
        OIDC_CLIENT_AUTH: 'private_key_jwt',
        OIDC_CLIENT_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 1024 })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      },
      'shorter than 2048 bits',
    ],
    [
      'a client key with a secret method',
      { OIDC_CLIENT_SECRET: 's', OIDC_CLIENT_PRIVATE_KEY: ec.pem },
      'OIDC_CLIENT_PRIVATE_KEY is set but OIDC_CLIENT_AUTH is client_secret_basic',
    ],
    [
      'a key id without a key',
      { OIDC_CLIENT_SECRET: 's', OIDC_CLIENT_KEY_ID: 'k1' },
      'OIDC_CLIENT_KEY_ID is set without OIDC_CLIENT_PRIVATE_KEY',
    ],
    ['a secret method without a secret', { OIDC_CLIENT_AUTH: 'client_secret_post' }, 'OIDC_CLIENT_SECRET is required'],
    [
      'an unknown client auth method',
      { OIDC_CLIENT_SECRET: 's', OIDC_CLIENT_AUTH: 'tls_client_auth' },
      'OIDC_CLIENT_AUTH must be client_secret_basic, client_secret_post or private_key_jwt',
    ],
    ['a bad OIDC_PAR', { OIDC_CLIENT_SECRET: 's', OIDC_PAR: 'always' }, 'OIDC_PAR must be auto, true or false'],
    ['a bad OIDC_DPOP', { OIDC_CLIENT_SECRET: 's', OIDC_DPOP: 'yes' }, 'OIDC_DPOP must be true or false'],
    [
      'an RSA DPoP key',
      { OIDC_CLIENT_SECRET: 's', OIDC_DPOP: 'true', DPOP_PRIVATE_KEY: rsa.pem },
      'DPOP_PRIVATE_KEY is a RS256 key; this use takes ES256 or EdDSA only',
    ],
    [
      'an unreadable DPoP key',
      { OIDC_CLIENT_SECRET: 's', OIDC_DPOP: 'true', DPOP_PRIVATE_KEY: '{"kty":"EC"' },
      'DPOP_PRIVATE_KEY could not be read',
    ],
    [
      'a DPoP key without OIDC_DPOP',
      { OIDC_CLIENT_SECRET: 's', DPOP_PRIVATE_KEY: ec.pem },
      'DPOP_PRIVATE_KEY is set but OIDC_DPOP is not true',
    ],
    [
      'DPoP in production without a shared key',
      {
        OIDC_CLIENT_SECRET: 's',
        OIDC_DPOP: 'true',
        NODE_ENV: 'production',
        SESSION_KEYS: 'k'.repeat(32),
        REDIS_URL: 'redis://127.0.0.1:6379',
      },
      'DPOP_PRIVATE_KEY is required in production when OIDC_DPOP=true',
    ],
    [
      'DPoP with several workers without a shared key',
      { OIDC_CLIENT_SECRET: 's', OIDC_DPOP: 'true', BFF_WORKERS: '2', REDIS_URL: 'redis://127.0.0.1:6379', SESSION_KEYS: 'k'.repeat(32) },
      'DPOP_PRIVATE_KEY is required when OIDC_DPOP=true and BFF_WORKERS is above 1',
    ],
    [
      'request_uri in OIDC_AUTH_PARAMS',
      { OIDC_CLIENT_SECRET: 's', OIDC_AUTH_PARAMS: 'request_uri=urn:x' },
      'OIDC_AUTH_PARAMS must not set request_uri',
    ],
  ];

  it.each(bad)('refuses %s with one line naming the variable', (_name, env, message) => {
    const found = problems(env);
    expect(found).toEqual([expect.stringContaining(message)]);
    // A refused key is never quoted back.
    for (const value of [ec.pem, rsa.pem, JSON.parse(ec.jwk).d as string])
      expect(found.join('\n')).not.toContain(value.trim().split('\n')[1] ?? value);
  });

  it('accepts the good combinations (and a dev DPoP key may be left out)', () => {
    expect(problems({ OIDC_CLIENT_SECRET: 's' })).toEqual([]);
    expect(problems({ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: ec.jwk })).toEqual([]);
    expect(problems({ OIDC_CLIENT_SECRET: 's', OIDC_DPOP: 'true' })).toEqual([]);
    expect(problems({ OIDC_CLIENT_SECRET: 's', OIDC_DPOP: 'true', DPOP_PRIVATE_KEY: keyPair('ed25519').pem, OIDC_PAR: 'true' })).toEqual(
      [],
    );
  });

  it('exits 1 at start-up with one line per problem', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bff/src/main.ts'], {
      env: {
        PATH: process.env.PATH,
        ...base,
        OIDC_CLIENT_AUTH: 'private_key_jwt',
        OIDC_DPOP: 'true',
        DPOP_PRIVATE_KEY: rsa.pem,
        LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('  - '));
    expect(lines).toEqual([
      expect.stringContaining('OIDC_CLIENT_PRIVATE_KEY is required'),
      expect.stringContaining('DPOP_PRIVATE_KEY is a RS256 key'),
    ]);
  });

  it('npm run keys prints a private PEM the BFF reads and the public JWK to register', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bff/src/tools/keys.ts'], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(0);
    const pem = /-----BEGIN PRIVATE KEY-----[^]*?-----END PRIVATE KEY-----/.exec(result.stdout)![0];
    const jwk = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
    expect(jwk.d).toBeUndefined();
    const config = loadConfig({ ...base, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: pem });
    expect(config.clientKey!.publicJwk).toEqual(jwk);
    expect(jwk.alg).toBe('ES256');
  });

  it('npm run keys -- ps256 prints a private key the BFF reads as PS256, the algorithm its public JWK names', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bff/src/tools/keys.ts', 'ps256'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(0);
    // Every line that is not a comment or blank is a key the output offers: the private one first, the public JWK last.
    const keys = result.stdout.split('\n').filter((line) => line.trim() && !line.startsWith('#'));
    const jwk = JSON.parse(keys.at(-1)!) as Record<string, string>;
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'PS256' });
    expect(jwk.d).toBeUndefined();
    const privateText = result.stdout.includes('-----BEGIN') ? /-----BEGIN[^]*?-----END[^\n]*/.exec(result.stdout)![0] : keys[0]!;
    const config = loadConfig({ ...base, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: privateText });
    expect(config.clientKey!.alg).toBe('PS256');
    expect(config.clientKey!.publicJwk).toEqual(jwk);
  });
});
