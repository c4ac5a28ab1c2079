/**
 * Runs the dev OpenID Provider on its own: `npx tsx dev/idp/main.ts` (used by docker compose).
 *
 * Environment:
 * - IDP_HOST (default 127.0.0.1), IDP_PORT (default 4001)
 * - IDP_ISSUER: public issuer URL when it is not http://IDP_HOST:IDP_PORT
 * - IDP_CLIENT_ID, IDP_CLIENT_SECRET (required): the one client
 * - IDP_REDIRECT_URIS, IDP_POST_LOGOUT_URIS: comma-separated
 * - IDP_BACKCHANNEL_URI (optional), IDP_API_AUDIENCE (default urn:bff-kit:demo-api)
 * - IDP_ACCESS_TOKEN_TTL seconds (default 300)
 */
import { DEMO_USERS, startIdp } from './index.js';

const env = process.env;
const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const clientId = env.IDP_CLIENT_ID;
const clientSecret = env.IDP_CLIENT_SECRET;
if (!clientId || !clientSecret) {
  console.error('IDP_CLIENT_ID and IDP_CLIENT_SECRET are required');
  process.exit(1);
}

const idp = await startIdp({
  host: env.IDP_HOST ?? '127.0.0.1',
  port: Number(env.IDP_PORT ?? 4001),
  issuer: env.IDP_ISSUER || undefined,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: list(env.IDP_REDIRECT_URIS),
      post_logout_redirect_uris: list(env.IDP_POST_LOGOUT_URIS),
      backchannel_logout_uri: env.IDP_BACKCHANNEL_URI || undefined,
    },
  ],
  apiAudience: env.IDP_API_AUDIENCE ?? 'urn:bff-kit:demo-api',
  accessTokenTtl: env.IDP_ACCESS_TOKEN_TTL ? Number(env.IDP_ACCESS_TOKEN_TTL) : undefined,
  log: (message) => console.log(`dev idp: ${message}`),
});
console.log(`dev OpenID Provider: issuer ${idp.issuer}`);
console.log(`  users: ${DEMO_USERS.map((user) => `${user.username} / ${user.password}`).join(', ')}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void idp.close().then(() => process.exit(0));
  });
}
