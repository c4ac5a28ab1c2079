import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import type { PublicJwk } from '../signing-keys.js';

/**
 * `GET /bff/jwks`: the public JWK set of the client assertion key, the DPoP key and the identity
 * assertion key (with the previous one during a rotation), for providers
 * that register a client by `jwks_uri` (and for operators checking what is deployed);
 * `{"keys":[]}` when the BFF has neither. Public on purpose: a provider fetches it server to
 * server, without a session or X-CSRF. The set is built once from the public JWKs only (see
 * keys.ts), so no private member can reach it. The DPoP key is included because some providers
 * pin DPoP keys by registration; its thumbprint is no secret (every proof carries the key).
 */
export function jwks({ config, dpopProofs: dpop, identityAssertions }: Pick<Deps, 'config' | 'dpopProofs' | 'identityAssertions'>) {
  const keys: PublicJwk[] = [];
  const add = (key: PublicJwk | undefined) => {
    if (key && !keys.some((known) => known.kid === key.kid)) keys.push(key);
  };
  add(config.clientKey?.publicJwk);
  add(dpop?.key.publicJwk);
  // The identity assertion key (token=assertion routes), and during a rotation the previous one,
  // so upstreams still verify the assertions it signed in their last minute.
  add(identityAssertions?.publicJwk);
  add(identityAssertions ? config.assertion.previous?.publicJwk : undefined);
  const body = JSON.stringify({ keys });
  return async function jwks(ctx: Context) {
    // Cache-Control stays the /bff/* no-store (security headers middleware): after a key rotation
    // (a redeploy) providers see the new set at once.
    ctx.type = 'application/jwk-set+json';
    ctx.body = body;
  };
}
