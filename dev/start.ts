/**
 * `npm start` / `npm run dev`: the whole demo on one machine. Starts the dev OpenID Provider,
 * the demo API and the BFF (serving web/dist), or with `--dev` the Vite dev server in front of
 * the BFF for hot reload. The client secret is random per run: nothing secret is committed.
 */
import { randomBytes } from 'node:crypto';
import { startDemoApi } from './api/index.js';
import { DEMO_USERS, startIdp } from './idp/index.js';
import { main as startBff } from '../bff/src/main.js';

const dev = process.argv.includes('--dev');
const env = process.env;
const bffPort = Number(env.PORT ?? 3000);
const idpPort = Number(env.IDP_PORT ?? 4001);
const apiPort = Number(env.API_PORT ?? 4000);
const webPort = Number(env.WEB_PORT ?? 5173);
const bffUrl = `http://localhost:${bffPort}`;
const publicUrl = env.PUBLIC_URL ?? (dev ? `http://localhost:${webPort}` : bffUrl);
const clientId = 'bff-kit-demo';
const clientSecret = randomBytes(32).toString('base64url');
const audience = 'urn:bff-kit:demo-api';

const idp = await startIdp({
  port: idpPort,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [`${publicUrl}/bff/callback`],
      post_logout_redirect_uris: [`${publicUrl}/`],
      backchannel_logout_uri: `http://127.0.0.1:${bffPort}/bff/backchannel-logout`,
    },
  ],
  apiAudience: audience,
});
const api = await startDemoApi({ port: apiPort, issuer: idp.issuer, audience });

Object.assign(env, {
  PORT: String(bffPort),
  PUBLIC_URL: publicUrl,
  OIDC_ISSUER: idp.issuer,
  OIDC_CLIENT_ID: clientId,
  OIDC_CLIENT_SECRET: clientSecret,
  API_ROUTES: env.API_ROUTES ?? `/api=${api.url}`,
});
await startBff(env);

if (dev) {
  const { createServer } = await import('vite');
  const vite = await createServer({ configFile: new URL('../web/vite.config.ts', import.meta.url).pathname, server: { port: webPort } });
  await vite.listen();
}

console.log(`
  Browser + BFF kit demo is running.

    Open:            ${publicUrl}
    Demo users:      ${DEMO_USERS.map((u) => `${u.username} / ${u.password}`).join('    ')}
    OpenID Provider: ${idp.issuer}
    Demo API:        ${api.url}
    Sessions:        ${env.REDIS_URL ? `Redis at ${env.REDIS_URL}` : 'in memory (set REDIS_URL to use Redis)'}

  Press Ctrl+C to stop.
`);
