import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import type { PublicJwk } from '../signing-keys.js';

/**
 * `GET /bff/jwks`: the public JWK set of the client assertion key and the DPoP key, for providers
 * that register a client by `jwks_uri` (and for operators checking what is deployed);
 * `{"keys":[]}` when the BFF has neither. Public on purpose: a provider fetches it server to
 * server, without a session or X-CSRF. The set is built once from the public JWKs only (see
 * keys.ts), so no private member can reach it. The DPoP key is included because some providers
 * pin DPoP keys by registration; its thumbprint is no secret (every proof carries the key).
 */
export function jwks({ config, dpopProofs: dpop }: Pick<Deps, 'config' | 'dpopProofs'>) {
  const keys: PublicJwk[] = [];
  if (config.clientKey) keys.push(config.clientKey.publicJwk);
  if (dpop && !keys.some((key) => key.kid === dpop.key.kid)) keys.push(dpop.key.publicJwk);
  const body = JSON.stringify({ keys });
  return async function jwks(ctx: Context) {
    // Cache-Control stays the /bff/* no-store (security headers middleware): after a key rotation
    // (a redeploy) providers see the new set at once.
    ctx.type = 'application/jwk-set+json';
    ctx.body = body;
  };
}
