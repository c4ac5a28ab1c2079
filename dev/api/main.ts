/**
 * Runs the demo API on its own: `npx tsx dev/api/main.ts` (used by docker compose).
 *
 * Environment: API_HOST (default 127.0.0.1), API_PORT (default 4000), OIDC_ISSUER (required),
 * API_AUDIENCE (default urn:bff-kit:demo-api).
 */
import { startDemoApi } from './index.js';

const env = process.env;
const issuer = env.OIDC_ISSUER;
if (!issuer) {
  console.error('OIDC_ISSUER is required, e.g. OIDC_ISSUER=http://127.0.0.1:4001');
  process.exit(1);
}
const audience = env.API_AUDIENCE ?? 'urn:bff-kit:demo-api';
const api = await startDemoApi({ host: env.API_HOST ?? '127.0.0.1', port: Number(env.API_PORT ?? 4000), issuer, audience });
console.log(`demo API listening on ${api.url} (issuer ${issuer}, audience ${audience})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void api.close().then(() => process.exit(0));
  });
}
