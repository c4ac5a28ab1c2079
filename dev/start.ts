/**
 * `npm start` / `npm run dev`: the whole demo on one machine. Starts the dev OpenID Provider,
 * the demo API and the BFF (serving web/dist), or with `--dev` the Vite dev server in front of
 * the BFF for hot reload. The client secret is random per run: nothing secret is committed.
 *
 * `DEMO_FAPI=1` runs the same demo under the FAPI 2.0 security profile: the BFF authenticates
 * with private_key_jwt (no secret at all), pushes every authorization request (the provider
 * requires PAR), and gets DPoP-bound tokens (the provider and the demo APIs demand nonces);
 * oidc-provider's own FAPI 2.0 checks are on. Keys are fresh per run too.
 */
import { randomBytes } from 'node:crypto';
import { startDemoApi } from './api/index.js';
import { DEMO_USERS, FAPI_PROFILE, REPORTS_API, startIdp, type IdpClient } from './idp/index.js';
import { main as startBff } from '../bff/src/main.js';
import { loadConfig } from '../bff/src/config.js';
import { freshKeyPair } from '../bff/src/tools/keys.js';

const dev = process.argv.includes('--dev');
const env = process.env;
const bffPort = Number(env.PORT ?? 3000);
const idpPort = Number(env.IDP_PORT ?? 4001);
const apiPort = Number(env.API_PORT ?? 4000);
const reportsPort = Number(env.REPORTS_PORT ?? 4002);
const webPort = Number(env.WEB_PORT ?? 5173);
const bffUrl = `http://localhost:${bffPort}`;
const publicUrl = env.PUBLIC_URL ?? (dev ? `http://localhost:${webPort}` : bffUrl);
const clientId = 'bff-kit-demo';
const clientSecret = randomBytes(32).toString('base64url');
const audience = 'urn:bff-kit:demo-api';
const fapi = env.DEMO_FAPI === '1' || env.DEMO_FAPI === 'true';
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
const idp = await startIdp({ port: idpPort, clients: [registration], apiAudience: audience, profile: fapi ? FAPI_PROFILE : undefined });
// Under FAPI the demo APIs demand their own DPoP nonce too (rotating every 5 minutes).
const dpopNonceLifetimeMs = fapi ? 5 * 60_000 : undefined;
const api = await startDemoApi({ port: apiPort, issuer: idp.issuer, audience, dpopNonceLifetimeMs });
// The same demo API again, accepting only tokens for the reports audience: the BFF gets the
// user's token for it with RFC 8707 `resource` on first use.
const reports = await startDemoApi({ port: reportsPort, issuer: idp.issuer, audience: REPORTS_API.audience, dpopNonceLifetimeMs });

Object.assign(env, {
  PORT: String(bffPort),
  PUBLIC_URL: publicUrl,
  OIDC_ISSUER: idp.issuer,
  OIDC_CLIENT_ID: clientId,
  ...(clientKey && dpopKey
    ? { OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: clientKey.privateKey, OIDC_PAR: 'true', OIDC_DPOP: 'true', DPOP_PRIVATE_KEY: dpopKey.privateKey }
    : { OIDC_CLIENT_SECRET: clientSecret }),
  // The notes API with the sign-in token; the reports API with a token for its own audience;
  // a public greeting that works signed in or out (README, "API routes").
  API_ROUTES: env.API_ROUTES ?? `/api=${api.url}#websocket=true,/reports=${reports.url}#resource=${REPORTS_API.audience},/public=${api.url}/public#token=user-or-none`,
});
await startBff(env);

/** Where traces go, read as the BFF reads it (its configuration), or how to turn them on. */
function tracesNote(): string {
  const tracing = loadConfig(env).tracing;
  if (!tracing) return 'off (set OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4318 for a local Jaeger)';
  // Jaeger's and most collectors' OTLP/HTTP port is 4318; Jaeger's UI is on 16686 of the same host.
  const ui = new URL(tracing.url);
  const jaeger = ui.port === '4318' ? `; in Jaeger: http://${ui.hostname}:16686/search?service=${encodeURIComponent(tracing.serviceName)}` : '';
  return `exported over OTLP (${tracing.protocol}) to ${tracing.url} as service "${tracing.serviceName}"${jaeger}`;
}

if (dev) {
  const { createServer } = await import('vite');
  const vite = await createServer({ configFile: new URL('../web/vite.config.ts', import.meta.url).pathname, server: { port: webPort } });
  await vite.listen();
}

console.log(`
  Browser + BFF kit demo is running.

    Open:            ${publicUrl}${fapi ? '\n    Profile:         FAPI 2.0 (private_key_jwt, PAR required, DPoP-bound tokens with nonces)' : ''}
    Demo users:      ${DEMO_USERS.map((u) => `${u.username} / ${u.password}`).join('    ')}
    OpenID Provider: ${idp.issuer}
    Demo APIs:       ${api.url} (notes), ${reports.url} (reports, its own audience)
    Sessions:        ${env.REDIS_URL ? `Redis at ${env.REDIS_URL}` : 'in memory (set REDIS_URL to use Redis)'}
    Metrics:         ${bffUrl}/metrics (Prometheus; dashboard and alert rules in docker/observability/)
    Traces:          ${tracesNote()}

  Press Ctrl+C to stop.
`);
