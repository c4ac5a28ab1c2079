import { startDemoApi } from '../../dev/api/index.js';
import { DEMO_USERS, REPORTS_API, startIdp, type IdpClient, type IdpOptions, type RunningIdp } from '../../dev/idp/index.js';
import { loginThroughIdp } from '../../dev/idp/test-login.js';
import { startBff, type RunningBff } from './bff.js';
import { TestBrowser } from './browser.js';
import { reservePort } from './redis.js';
import { startRecordingUpstream } from './upstream.js';

export { TEST_SESSION_KEY as TEST_SESSION_KEY_FOR_CHILD } from './bff.js';
export const CLIENT_ID = 'bff-kit-test';
export const CLIENT_SECRET = 'test-client-secret-that-is-long-enough-0123456789';
export const API_AUDIENCE = 'urn:bff-kit:demo-api';
export const ALICE = DEMO_USERS[0]!;
export const BOB = DEMO_USERS[1]!;
/** The push token of stacks with `ssf: true`. */
export const SSF_PUSH_TOKEN = 'stack-ssf-push-token-0123456789abcdef';

export interface StackOptions {
  /** Number of BFF instances sharing the store (needs `redisUrl` for more than one). */
  instances?: number;
  redisUrl?: string;
  accessTokenTtl?: number;
  env?: Record<string, string>;
  /** Middleware in front of the dev provider's endpoints (see `IdpOptions.front`). */
  idpFront?: IdpOptions['front'];
  /** Registration overrides for the kit's client at the dev provider. */
  client?: Partial<IdpClient>;
  /** Options for every BFF's dependencies (e.g. a shorter refresh lock). */
  deps?: Parameters<typeof startBff>[3];
  /** More origins to register at the provider (BFFs the test starts itself, e.g. as child processes). */
  extraOrigins?: string[];
  /** More `API_ROUTES` entries, given the servers' URLs (appended to the stack's own routes). */
  routes?: (servers: { api: string; reports: string; upstream: string; idp: string }) => string;
  /** An SSF transmitter beside the dev provider (`stack.idp.transmitter`), and every BFF receiving from it (SSF_STREAM=auto). */
  ssf?: boolean;
  /** The dev provider's PAR, DPoP nonce and FAPI profile settings (default: PAR off, no nonce). */
  idpProfile?: IdpOptions['profile'];
}

/**
 * The real stack on free loopback ports: dev OpenID Provider, demo API, a recording upstream,
 * and one or more BFF instances. The BFF routes `/api` to the demo API and `/rec` to the
 * recording upstream (with a `/v1` base path), `/reports` to a second demo API that takes only
 * reports-audience tokens, and `/public` to the demo API's public greeting (as the demo does).
 */
export async function startStack(options: StackOptions = {}) {
  const reservations = await Promise.all(Array.from({ length: options.instances ?? 1 }, () => reservePort()));
  const ports = reservations.map((reservation) => reservation.port);
  const origins = [...ports.map((port) => `http://127.0.0.1:${port}`), ...(options.extraOrigins ?? [])];
  const idp: RunningIdp = await startIdp({
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: origins.map((origin) => `${origin}/bff/callback`),
        post_logout_redirect_uris: origins.map((origin) => `${origin}/`),
        backchannel_logout_uri: `${origins[0]}/bff/backchannel-logout`,
        ...options.client,
      },
    ],
    apiAudience: API_AUDIENCE,
    accessTokenTtl: options.accessTokenTtl,
    front: options.idpFront,
    profile: options.idpProfile,
    ssf: options.ssf,
  });
  const api = await startDemoApi({ issuer: idp.issuer, audience: API_AUDIENCE });
  const reports = await startDemoApi({ issuer: idp.issuer, audience: REPORTS_API.audience });
  const upstream = await startRecordingUpstream();
  const extraRoutes = options.routes?.({ api: api.url, reports: reports.url, upstream: upstream.url, idp: idp.issuer });
  const env = {
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    // As in the demo: the reports API with its own audience, and a public greeting.
    API_ROUTES: [
      `/api=${api.url}#websocket=true,/rec=${upstream.url}/v1,/open=${upstream.url}/public#anonymous`,
      `/reports=${reports.url}#resource=${REPORTS_API.audience},/public=${api.url}/public#token=user-or-none`,
      ...(extraRoutes ? [extraRoutes] : []),
    ].join(','),
    REDIS_URL: options.redisUrl,
    ...(idp.transmitter ? { SSF_ISSUER: idp.transmitter.issuer, SSF_PUSH_TOKEN: SSF_PUSH_TOKEN, SSF_STREAM: 'auto' } : {}),
    ...options.env,
  };
  const bffs: RunningBff[] = [];
  for (const [i, port] of ports.entries()) {
    await reservations[i]!.release(); // taken again by the BFF right away
    bffs.push(await startBff(env, port, undefined, options.deps));
  }
  return {
    idp,
    api,
    /** The demo API again, accepting only tokens for the reports audience. */
    reports,
    upstream,
    bffs,
    bff: bffs[0]!,
    env,
    /** Signs `user` in through `bff` (default the first instance) and returns the browser holding the session. */
    async signIn(user = ALICE, bff = bffs[0]!, browser = new TestBrowser(), returnTo = '/') {
      const start = await browser.fetch(`${bff.url}/bff/login?returnTo=${encodeURIComponent(returnTo)}`);
      if (start.status !== 302) throw new Error(`login answered ${start.status}`);
      const back = await loginThroughIdp(start.headers.get('location')!, user);
      const done = await browser.fetch(back);
      if (done.status !== 302) throw new Error(`callback answered ${done.status}: ${await done.text()}`);
      return browser;
    },
    async close() {
      await Promise.all(bffs.map((bff) => bff.close()));
      await upstream.close();
      await reports.close();
      await api.close();
      await idp.close();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
