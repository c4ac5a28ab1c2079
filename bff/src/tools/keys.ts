/**
 * `npm run keys [-- es256|eddsa|rs256|ps256]`: prints a fresh key pair for the BFF. The private
 * key (PKCS#8 PEM, also as one line for .env files) goes into OIDC_CLIENT_PRIVATE_KEY or
 * DPOP_PRIVATE_KEY; the public JWK (with its `kid`, the RFC 7638 thumbprint the BFF uses by
 * default) is what to register at the provider. Nothing is written to disk: the operator decides
 * where the private key lives. ES256 is the default: FAPI 2.0 accepts it, and it serves both uses.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isEntryPoint } from '../entry-point.js';
import { readPrivateKey, type SigningAlg } from '../keys.js';

const KINDS: Record<string, { alg: SigningAlg; generate: () => KeyObject }> = {
  es256: { alg: 'ES256', generate: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
  eddsa: { alg: 'EdDSA', generate: () => generateKeyPairSync('ed25519').privateKey },
  rs256: { alg: 'RS256', generate: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
  ps256: { alg: 'PS256', generate: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
};

/** The key pair's texts: PEM, the PEM as one `\n`-escaped line, and the public JWK. */
export function freshKeyPair(kind = 'es256'): { pem: string; oneLine: string; publicJwk: string; alg: SigningAlg } {
  const chosen = KINDS[kind.toLowerCase()];
  if (!chosen) throw new Error(`unknown key type "${kind}"; use one of ${Object.keys(KINDS).join(', ')}`);
  const privateKey = chosen.generate();
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  // PS256 is a choice of the JWK form (an RSA PEM means RS256); the public JWK says which.
  const key = chosen.alg === 'PS256'
    ? readPrivateKey('key', JSON.stringify({ ...privateKey.export({ format: 'jwk' }), alg: 'PS256' }), { allowed: ['PS256'] })
    : readPrivateKey('key', pem, { allowed: [chosen.alg] });
  return { pem, oneLine: pem.trim().replace(/\n/g, '\\n'), publicJwk: JSON.stringify(key.publicJwk), alg: key.alg };
}

if (isEntryPoint(import.meta.url)) {
  const kind = process.argv[2] ?? 'es256';
  try {
    const pair = freshKeyPair(kind);
    process.stdout.write(
      [
        `# ${pair.alg} private key: keep it secret (OIDC_CLIENT_PRIVATE_KEY or DPOP_PRIVATE_KEY)`,
        pair.pem.trim(),
        '',
        '# The same, as one line for an .env file:',
        pair.oneLine,
        '',
        '# Public JWK: register it at the provider (client "jwks"); GET /bff/jwks serves it too',
        pair.publicJwk,
        '',
      ].join('\n'),
    );
    if (pair.alg === 'PS256') process.stdout.write('# PS256 needs the key as a JWK with "alg":"PS256" (a PEM RSA key means RS256).\n');
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
