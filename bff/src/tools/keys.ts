/**
 * `npm run keys [-- es256|eddsa|rs256|ps256]`: prints a fresh key pair for the BFF. The private
 * key goes into OIDC_CLIENT_PRIVATE_KEY, DPOP_PRIVATE_KEY or BFF_SIGNING_KEY (the identity
 * assertions of token=assertion routes; ES256 or EdDSA): a PKCS#8 PEM (also as one line for
 * .env files), or for PS256 a private JWK, because the JWK's `"alg":"PS256"` is what makes the BFF
 * sign with PS256 (it reads an RSA PEM as RS256). The public JWK (with its `kid`, the RFC 7638
 * thumbprint the BFF uses by default) is what to register at the provider. Nothing is written to
 * disk: the operator decides where the private key lives. ES256 is the default: FAPI 2.0 accepts
 * it, and it serves both uses.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isEntryPoint } from '../entry-point.js';
import { readPrivateKey, type SigningAlg } from '../signing-keys.js';

const KINDS: Record<string, { alg: SigningAlg; generate: () => KeyObject }> = {
  es256: { alg: 'ES256', generate: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
  eddsa: { alg: 'EdDSA', generate: () => generateKeyPairSync('ed25519').privateKey },
  rs256: { alg: 'RS256', generate: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
  ps256: { alg: 'PS256', generate: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
};

/**
 * The key pair's texts: `privateKey` as the BFF reads it (a PEM, or a private JWK for PS256),
 * the same as one line for an .env file, and the public JWK. The BFF reads `privateKey` back as
 * `alg`, the algorithm the public JWK names.
 */
export function freshKeyPair(kind = 'es256'): { privateKey: string; oneLine: string; publicJwk: string; alg: SigningAlg } {
  const chosen = KINDS[kind.toLowerCase()];
  if (!chosen) throw new Error(`unknown key type "${kind}"; use one of ${Object.keys(KINDS).join(', ')}`);
  const generated = chosen.generate();
  // PS256 is a choice of the JWK form (an RSA PEM means RS256), so PS256 keys are printed as JWKs.
  const privateKey =
    chosen.alg === 'PS256'
      ? JSON.stringify({ ...generated.export({ format: 'jwk' }), alg: 'PS256' })
      : generated.export({ format: 'pem', type: 'pkcs8' }).toString();
  const key = readPrivateKey('key', privateKey, { allowed: [chosen.alg] });
  return { privateKey, oneLine: privateKey.trim().replace(/\n/g, '\\n'), publicJwk: JSON.stringify(key.publicJwk), alg: key.alg };
}

if (isEntryPoint(import.meta.url)) {
  const kind = process.argv[2] ?? 'es256';
  try {
    const pair = freshKeyPair(kind);
    const jwk = pair.privateKey.startsWith('{');
    process.stdout.write(
      [
        jwk
          ? `# ${pair.alg} private key as a JWK (its "alg" makes the BFF sign with ${pair.alg}; an RSA PEM would mean RS256): keep it secret (OIDC_CLIENT_PRIVATE_KEY)`
          : `# ${pair.alg} private key: keep it secret (OIDC_CLIENT_PRIVATE_KEY${pair.alg === 'ES256' || pair.alg === 'EdDSA' ? ', DPOP_PRIVATE_KEY or BFF_SIGNING_KEY' : ''})`,
        pair.privateKey.trim(),
        '',
        // A JWK is one line already.
        ...(jwk ? [] : ['# The same, as one line for an .env file:', pair.oneLine, '']),
        '# Public JWK: register it at the provider (client "jwks"); GET /bff/jwks serves it too',
        pair.publicJwk,
        '',
      ].join('\n'),
    );
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
