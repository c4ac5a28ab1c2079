import { randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt, importJWK } from 'jose';
import type { Middleware } from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../bff/src/session/records.js';
import { sessionKey } from './support/bff.js';
import type { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { CLIENT_ID, CLIENT_SECRET, startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';
import { intercept, json, type Answer, type Intercepted } from './support/idp-front.js';

/**
 * Real, certified providers answer some things their own way (Glewlwyd 2.7, LemonLDAP::NG 2.16).
 * Middleware in front of the dev provider reproduces each behaviour; the BFF must cope.
 */

/** Rewrites the discovery document the BFF loads at start. */
function discovery(edit: (metadata: Record<string, unknown>) => void): Middleware {
  return async function rewriteDiscovery(ctx, next) {
    await next();
    if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object')
      edit(ctx.body as Record<string, unknown>);
  };
}

/** The pino lines a BFF wrote since `from`, parsed. */
const logLines = (lines: string[], from: number) =>
  lines.slice(from).map((line) => JSON.parse(line) as { level: number; event?: string; msg: string });

describe('providers that bend the rules', () => {
  let redis: RunningRedis;
  let stack: Stack;
  /** How the token endpoint answers refreshes in the current test (undefined: the provider answers). */
  let onRefresh: ((request: Intercepted) => Promise<Answer>) | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      redisUrl: redis.url,
      idpFront: [
        intercept(
          '/token',
          () => onRefresh && ((request) => (request.form.get('grant_type') === 'refresh_token' ? onRefresh!(request) : request.forward())),
        ),
      ],
    });
  });
  afterEach(() => {
    onRefresh = undefined;
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const stored = () => storedSessions(redis, stack.bff.url);
  const record = (browser: TestBrowser) => stored().record(browser);
  const makeDue = (browser: TestBrowser) => stored().makeDue(browser);
  const call = (browser: TestBrowser) => browser.api(`${stack.bff.url}/rec/items`);
  const refreshGrants = () => stack.idp.stats.tokenGrants.refresh_token ?? 0;

  async function expectSessionEnded(browser: TestBrowser) {
    const response = await call(browser);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('unauthenticated');
    expect(await record(browser)).toBeNull();
    expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
  }

  it('a bare 400 (empty body) refresh refusal ends the session (Glewlwyd)', async () => {
    const browser = await stack.signIn();
    expect((await call(browser)).status).toBe(200);
    await makeDue(browser);
    onRefresh = async () => ({ status: 400 });
    await expectSessionEnded(browser);
  });

  it('an invalid_request refresh refusal ends the session (LemonLDAP::NG, unknown refresh token)', async () => {
    const browser = await stack.signIn();
    await makeDue(browser);
    onRefresh = async () => json(400, { error: 'invalid_request', error_description: 'Invalid refresh token' });
    await expectSessionEnded(browser);
  });

  it('an invalid_client refresh refusal keeps the session: 503, an error log line, and the next call refreshes once the fault is gone', async () => {
    const browser = await stack.signIn();
    await makeDue(browser);
    const logsFrom = stack.bff.logs.length;
    onRefresh = async () => json(401, { error: 'invalid_client', error_description: 'client authentication failed' });
    const refused = await call(browser);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toBe('unavailable');
    expect(await record(browser)).not.toBeNull();
    const lines = logLines(stack.bff.logs, logsFrom).filter((line) => line.event === 'refresh_client_refused');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe(50); // pino's error level: a configuration problem someone must fix

    onRefresh = undefined;
    const before = refreshGrants();
    expect((await call(browser)).status).toBe(200);
    expect(refreshGrants() - before).toBe(1);
  });

  it('a refresh answered with a new id_token, no refresh_token and token_type bearer keeps the old refresh token (LemonLDAP::NG)', async () => {
    const browser = await stack.signIn();
    const tokens = stack.bff.deps.sessionTokens;
    const signedIn = tokens.open((await record(browser))!);
    // LemonLDAP::NG does not rotate: its refresh token stays valid. The dev provider rotates, so
    // the front keeps the provider's newest token behind the one the client holds.
    const current = new Map<string, string>();
    const presented: string[] = [];
    const issuedIdTokens: string[] = [];
    onRefresh = async (request) => {
      const held = request.form.get('refresh_token')!;
      presented.push(held);
      const form = new URLSearchParams(request.form);
      form.set('refresh_token', current.get(held) ?? held);
      const answer = await request.forward(form);
      if (answer.status !== 200) return answer;
      const {
        refresh_token: rotated,
        id_token: idToken,
        ...rest
      } = JSON.parse(answer.body!) as { refresh_token: string; id_token: string };
      current.set(held, rotated);
      // A new ID token every time (the dev provider's would equal the last one within the same second).
      const key = stack.idp.privateJwk;
      const fresh = await new SignJWT({ ...decodeJwt(idToken), jti: randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
        .sign(await importJWK(key, 'RS256'));
      issuedIdTokens.push(fresh);
      return json(200, { ...rest, id_token: fresh, token_type: 'bearer' });
    };

    for (let refresh = 1; refresh <= 2; refresh++) {
      await makeDue(browser);
      const before = refreshGrants();
      expect((await call(browser)).status).toBe(200);
      expect(refreshGrants() - before).toBe(1);
      const after = tokens.open((await record(browser))!);
      expect(after.refreshToken).toBe(signedIn.refreshToken);
      expect(after.accessToken).not.toBe(signedIn.accessToken);
      expect(stack.upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${after.accessToken}`);
      expect(issuedIdTokens).toHaveLength(refresh);
      expect(after.idToken).not.toBe(signedIn.idToken);
      expect(after.idToken).toBe(issuedIdTokens.at(-1));
    }
    expect(presented).toEqual([signedIn.refreshToken, signedIn.refreshToken]);
  });

  it('the end-session URL carries a random state, client_id, id_token_hint and post_logout_redirect_uri', async () => {
    const endSession = new URL(`${stack.idp.issuer}/session/end`);
    const states: string[] = [];
    for (let signOut = 0; signOut < 2; signOut++) {
      const browser = await stack.signIn();
      const { idToken } = stack.bff.deps.sessionTokens.open((await record(browser))!);
      const user = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string };
      const response = await browser.fetch(`${stack.bff.url}${user.logoutUrl}`);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(endSession.href);
      const params = location.searchParams;
      expect(params.get('client_id')).toBe(CLIENT_ID);
      expect(params.get('id_token_hint')).toBe(idToken);
      expect(params.get('post_logout_redirect_uri')).toBe(`${stack.bff.url}/`);
      const state = params.get('state');
      expect(state?.length).toBeGreaterThanOrEqual(22); // at least 128 random bits, base64url
      states.push(state!);
      // The provider accepts the request as the BFF built it (its sign-out confirmation page).
      expect((await fetch(location, { redirect: 'manual' })).status).toBe(200);
    }
    expect(states[0]).not.toBe(states[1]);
  });
});

describe('providers that bend the rules: revocation uses the advertised client authentication', () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  interface SeenRevocation {
    basic: boolean;
    secretInBody: boolean;
  }

  /**
   * Signs in and out through a BFF with OIDC_CLIENT_AUTH=client_secret_post (registered so at the
   * dev provider), the discovery document edited by `edit`, and the revocation endpoint answered
   * by `revocation` (default: the provider itself). Returns what reached the revocation endpoint.
   */
  async function signInAndOut(
    edit: (metadata: Record<string, unknown>) => void,
    revocation: (request: Intercepted) => Promise<Answer> = (request) => request.forward(),
  ) {
    const seen: SeenRevocation[] = [];
    const stack = await startStack({
      redisUrl: redis.url,
      client: { token_endpoint_auth_method: 'client_secret_post' },
      env: { OIDC_CLIENT_AUTH: 'client_secret_post' },
      idpFront: [
        discovery(edit),
        intercept('/token/revocation', () => async (request) => {
          seen.push({
            basic: /^Basic /i.test(request.authorization ?? ''),
            secretInBody: request.form.get('client_secret') === CLIENT_SECRET,
          });
          return revocation(request);
        }),
      ],
    });
    try {
      const browser = await stack.signIn();
      const raw = await redis.client.get(sessionKey(browser.cookie(stack.bff.url, 'bff')!));
      const { refreshToken } = stack.bff.deps.sessionTokens.open(JSON.parse(raw!) as SessionRecord);
      const revokedBefore = stack.idp.stats.revokedTokens;
      const logsFrom = stack.bff.logs.length;
      const user = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string };
      const signOut = await browser.fetch(`${stack.bff.url}${user.logoutUrl}`);
      expect(signOut.status).toBe(302);
      expect(signOut.headers.get('location')).toMatch(new RegExp(`^${stack.idp.issuer}/session/end\\?`));
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
      // Is the refresh token still good at the provider?
      const refresh = await fetch(`${stack.idp.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken!,
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
        }),
      });
      return {
        seen,
        revoked: stack.idp.stats.revokedTokens - revokedBefore,
        refreshStillWorks: refresh.status === 200,
        revocationFailedLogged: logLines(stack.bff.logs, logsFrom).some((line) => line.event === 'revocation_failed'),
      };
    } finally {
      await stack.close();
    }
  }

  it('uses HTTP Basic when the provider advertises only client_secret_basic for revocation, whatever OIDC_CLIENT_AUTH says (Glewlwyd)', async () => {
    // Like Glewlwyd: revocation takes HTTP Basic only. A Basic request is passed on to the dev
    // provider in the form its registration (client_secret_post) expects.
    const basicSecrets: string[] = [];
    const result = await signInAndOut(
      (metadata) => {
        metadata.revocation_endpoint_auth_methods_supported = ['client_secret_basic'];
      },
      async (request) => {
        const basic = /^Basic (.+)$/i.exec(request.authorization ?? '');
        if (!basic) return json(401, { error: 'invalid_client' });
        const [rawId, rawSecret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
        basicSecrets.push(rawSecret!);
        const [id, secret] = [rawId!, rawSecret!].map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
        const form = new URLSearchParams(request.form);
        form.set('client_id', id!);
        form.set('client_secret', secret!);
        return request.forward(form, '');
      },
    );
    expect(result.seen).toEqual([{ basic: true, secretInBody: false }]);
    // RFC 6749 §2.3.1 form-encoding, as openid-client does it: only letters and digits stay as
    // they are ('-' becomes %2D). Glewlwyd compares the raw value, hence the README's advice.
    expect(basicSecrets).toEqual([CLIENT_SECRET.replace(/-/g, '%2D')]);
    expect(result.revoked).toBe(1);
    expect(result.refreshStillWorks).toBe(false);
    expect(result.revocationFailedLogged).toBe(false);
  });

  it('uses OIDC_CLIENT_AUTH (client_secret_post) when the provider lists it for revocation', async () => {
    const result = await signInAndOut((metadata) => {
      metadata.revocation_endpoint_auth_methods_supported = ['client_secret_basic', 'client_secret_post'];
    });
    expect(result.seen).toEqual([{ basic: false, secretInBody: true }]);
    expect(result.revoked).toBe(1);
    expect(result.refreshStillWorks).toBe(false);
    expect(result.revocationFailedLogged).toBe(false);
  });

  it('signs out without a revocation request when the provider advertises no revocation endpoint (LemonLDAP::NG)', async () => {
    const result = await signInAndOut((metadata) => {
      delete metadata.revocation_endpoint;
      delete metadata.revocation_endpoint_auth_methods_supported;
    });
    expect(result.seen).toEqual([]);
    expect(result.revoked).toBe(0);
    expect(result.refreshStillWorks).toBe(true);
    expect(result.revocationFailedLogged).toBe(false);
  });
});
