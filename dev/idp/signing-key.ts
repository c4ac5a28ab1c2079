import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

/**
 * A fresh RS256 signing key for one provider run, as a private JWK with `kid`, `alg` and `use`
 * set. Generated at start-up so no key is ever committed; relying parties find the public half
 * through `jwks_uri`, and tests get the private half to sign logout tokens of their own.
 */
export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  // The thumbprint makes a stable, collision-free key id.
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}
