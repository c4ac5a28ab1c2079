/**
 * `npm start` / `npm run dev`: the kit on one machine. Reads `.env` first (variables already in
 * the environment win), then:
 * - without `OIDC_ISSUER`, the demo: the dev OpenID Provider, the demo APIs and the BFF (serving
 *   web/dist), with a client secret that is random per run (nothing secret is committed); after
 *   `npm run strip-demo`, the tiny API of dev/me-api (`GET /api/me`) instead of the demo APIs;
 * - with `OIDC_ISSUER`, your provider and your client (`OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` or
 *   a key, ...): no dev provider starts, and with `API_ROUTES` set no demo API either.
 * `--dev` puts the Vite dev server (hot reload) in front of the BFF. The banner says which
 * provider, routes and session store are in use.
 *
 * `DEMO_FAPI=1` runs the demo under the FAPI 2.0 security profile: the BFF authenticates
 * with private_key_jwt (no secret at all), pushes every authorization request (the provider
 * requires PAR), and gets DPoP-bound tokens (the provider and the demo APIs demand nonces);
 * oidc-provider's own FAPI 2.0 checks are on. Keys are fresh per run too.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadEnvFile } from './env-file.js';
// demo:start
import { startAssertionApi, startDemoApi } from './api/index.js';
// demo:end
import { startMeApi } from './me-api/index.js';
import { startBanner } from './banner.js';
import { DEMO_USERS, FAPI_PROFILE, startIdp, type IdpClient } from './idp/index.js';
// demo:start
import { LEDGER_API, MFA_ACR, REPORTS_API } from './idp/index.js';
// demo:end
import { main as startBff } from '../bff/src/main.js';
import { loadConfig } from '../bff/src/config.js';
import { freshKeyPair } from '../bff/src/tools/keys.js';

// Before anything reads the environment.
const envFile = loadEnvFile() ? '.env' : undefined;

const dev = process.argv.includes('--dev');
const env = process.env;
const bffPort = Number(env.PORT ?? 3000);
const idpPort = Number(env.IDP_PORT ?? 4001);
const apiPort = Number(env.API_PORT ?? 4000);
// demo:start
const reportsPort = Number(env.REPORTS_PORT ?? 4002);
// demo:end
const webPort = Number(env.WEB_PORT ?? 5173);
const bffUrl = `http://localhost:${bffPort}`;
const publicUrl = env.PUBLIC_URL ?? (dev ? `http://localhost:${webPort}` : bffUrl);
const audience = env.API_AUDIENCE ?? 'urn:bff-kit:demo-api';
/** Your own provider: `OIDC_ISSUER` is set, so the dev provider stays off and `OIDC_*` are yours. */
const ownProvider = Boolean(env.OIDC_ISSUER);
const fapi = !ownProvider && (env.DEMO_FAPI === '1' || env.DEMO_FAPI === 'true');
// demo:start
// Under FAPI the demo APIs demand their own DPoP nonce too (rotating every 5 minutes).
const dpopNonceLifetimeMs = fapi ? 5 * 60_000 : undefined;
// demo:end
/** The dev APIs this process starts, for the banner. */
const devApis: { label: string; api: { url: string } }[] = [];

Object.assign(env, { PORT: String(bffPort), PUBLIC_URL: publicUrl });
if (ownProvider) {
  // demo:start
  // The demo notes API and public greeting, trusting your provider's tokens for API_AUDIENCE,
  // until API_ROUTES names your APIs. The reports route needs the dev provider (RFC 8707 resource).
  if (!env.API_ROUTES) {
    const api = await startDemoApi({ port: apiPort, issuer: env.OIDC_ISSUER!, audience });
    devApis.push({ label: 'notes', api });
    env.API_ROUTES = `/api=${api.url}#websocket=true,/public=${api.url}/public#token=user-or-none`;
  }
  // demo:end
} else {
  const clientId = 'bff-kit-demo';
  const clientSecret = randomBytes(32).toString('base64url');
  const clientKey = fapi ? freshKeyPair('es256') : undefined;
  const dpopKey = fapi ? freshKeyPair('es256') : undefined;
  const registration: IdpClient = {
    client_id: clientId,
    redirect_uris: [`${publicUrl}/bff/callback`],
    post_logout_redirect_uris: [`${publicUrl}/`],
    backchannel_logout_uri: `http://127.0.0.1:${bffPort}/bff/backchannel-logout`,
    ...(clientKey
      ? { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [JSON.parse(clientKey.publicJwk)] }, dpop_bound_access_tokens: true }
      : { client_secret: clientSecret }),
  };
  // With an OpenID Shared Signals transmitter beside it: the BFF registers its push stream at start.
  const idp = await startIdp({
    port: idpPort,
    clients: [registration],
    apiAudience: audience,
    profile: fapi ? FAPI_PROFILE : undefined,
    ssf: true,
  });
  // demo:start
  const api = await startDemoApi({ port: apiPort, issuer: idp.issuer, audience, dpopNonceLifetimeMs });
  // The same demo API again, accepting only tokens for the reports audience: the BFF gets the
  // user's token for it with RFC 8707 `resource` on first use.
  const reports = await startDemoApi({ port: reportsPort, issuer: idp.issuer, audience: REPORTS_API.audience, dpopNonceLifetimeMs });
  // The same API for the ledger audience, whose tokens the provider issues only by token exchange
  // (RFC 8693), and an internal service that trusts the BFF's own identity assertions (checked
  // against /bff/jwks); both on free ports (docs/token-exchange.md).
  const ledger = await startDemoApi({ issuer: idp.issuer, audience: LEDGER_API.audience, dpopNonceLifetimeMs });
  const inner = await startAssertionApi({ jwksUri: `http://127.0.0.1:${bffPort}/bff/jwks`, issuer: new URL(publicUrl).origin });
  devApis.push(
    { label: 'notes', api },
    { label: 'reports, its own audience', api: reports },
    { label: 'ledger, by token exchange', api: ledger },
    { label: 'inner, trusts the BFF', api: inner },
  );
  // The notes API with the sign-in token; the reports API with a token for its own audience;
  // a public greeting that works signed in or out (docs/route-policies.md); the ledger with an
  // exchanged token and the inner service with an identity assertion (docs/token-exchange.md).
  // Two routes with access rules (docs/step-up.md): the Admin report needs the second factor
  // (a step-up), Alice's report a claim only Alice has. `/provider` reaches the dev provider's
  // "end my other sessions" (Shared Signals), with the user's token.
  env.API_ROUTES ??= [
    `/api=${api.url}#websocket=true,/reports=${reports.url}#resource=${REPORTS_API.audience},/public=${api.url}/public#token=user-or-none`,
    `/ledger=${ledger.url}#token=exchange&audience=${LEDGER_API.audience},/inner=${inner.url}#token=assertion`,
    `/admin=${api.url}#acr=${encodeURIComponent(MFA_ACR)},/alice=${api.url}#require=preferred_username:alice`,
    `/provider=${idp.issuer}/demo`,
  ].join(',');
  // demo:end
  Object.assign(env, {
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: clientId,
    SSF_ISSUER: idp.transmitter!.issuer,
    SSF_PUSH_TOKEN: randomBytes(32).toString('base64url'),
    SSF_STREAM: 'auto',
    ...(clientKey && dpopKey
      ? {
          OIDC_CLIENT_AUTH: 'private_key_jwt',
          OIDC_CLIENT_PRIVATE_KEY: clientKey.privateKey,
          OIDC_PAR: 'true',
          OIDC_DPOP: 'true',
          DPOP_PRIVATE_KEY: dpopKey.privateKey,
        }
      : { OIDC_CLIENT_SECRET: clientSecret }),
  });
}
// No routes configured (and no demo): the tiny example API answers `GET /api/me` for the SPA.
if (!env.API_ROUTES) {
  const api = await startMeApi({ port: apiPort, issuer: env.OIDC_ISSUER!, audience });
  devApis.push({ label: 'GET /me', api });
  env.API_ROUTES = `/api=${api.url}`;
}
await startBff(env);
const config = loadConfig(env);

/** Where traces go, read as the BFF reads it (its configuration), or how to turn them on. */
function tracesNote(): string {
  const tracing = config.tracing;
  if (!tracing) return 'off (set OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4318 for a local Jaeger)';
  // Jaeger's and most collectors' OTLP/HTTP port is 4318; Jaeger's UI is on 16686 of the same host.
  const ui = new URL(tracing.url);
  const jaeger =
    ui.port === '4318' ? `; in Jaeger: http://${ui.hostname}:16686/search?service=${encodeURIComponent(tracing.serviceName)}` : '';
  return `exported over OTLP (${tracing.protocol}) to ${tracing.url} as service "${tracing.serviceName}"${jaeger}`;
}

if (dev) {
  // The dev server proxies /bff and every API_ROUTES prefix to this BFF (web/vite.config.ts).
  env.BFF_URL ??= `http://127.0.0.1:${bffPort}`;
  const { createServer } = await import('vite');
  const vite = await createServer({
    configFile: fileURLToPath(new URL('../web/vite.config.ts', import.meta.url)),
    server: { port: webPort },
  });
  await vite.listen();
}

console.log(
  startBanner({
    config,
    open: publicUrl,
    demoUsers: ownProvider ? undefined : DEMO_USERS.map((u) => `${u.username} / ${u.password}`).join('    '),
    envFile,
    extra: [
      ...(fapi ? [['Profile', 'FAPI 2.0 (private_key_jwt, PAR required, DPoP-bound tokens with nonces)'] as [string, string]] : []),
      ...(devApis.length ? [['Dev APIs', devApis.map(({ label, api }) => `${api.url} (${label})`).join(', ')] as [string, string]] : []),
      ['Metrics', `${bffUrl}/metrics (Prometheus; dashboard and alert rules in docker/observability/)`],
      ['Traces', tracesNote()],
    ],
  }),
);
