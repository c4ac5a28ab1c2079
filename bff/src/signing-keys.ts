import { createHash, createPrivateKey, createPublicKey, webcrypto, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * The BFF's own asymmetric keys: the client assertion key (`private_key_jwt`, RFC 7523) and the
 * DPoP key (RFC 9449). Both come from the environment as a PEM or a private JWK and are read
 * synchronously at start-up, so a bad key is a configuration error (one line, exit 1), never a
 * failure at the first sign-in.
 */

/** JWS algorithms the kit signs with; the key decides which one (see {@link readPrivateKey}). */
export type SigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** A public JWK as `/bff/jwks` publishes it: never a private member. */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

export interface SigningKey {
  /** The private key as a node:crypto KeyObject: DPoP proofs on the hot path sign with it synchronously. */
  privateKey: KeyObject;
  alg: SigningAlg;
  kid: string;
  publicJwk: PublicJwk;
}

/** Why a key was refused; the message names the variable and is safe to print (no key material). */
export class KeyProblem extends Error {}

/** The members of each key type that make up its RFC 7638 thumbprint, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

/** RFC 7638 SHA-256 JWK thumbprint, base64url: the default `kid`, and DPoP's `jkt`. */
function jwkThumbprint(jwk: JsonWebKey): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? ''];
  if (!members) throw new KeyProblem(`unsupported key type ${String(jwk.kty)}`);
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Reads a private key from an environment value: a PEM (PKCS#8, or PKCS#1/SEC1; `\n` escapes as
 * written in .env files are accepted) or a private JWK (JSON). The algorithm follows the key:
 * RSA (2048 bits or more) -> RS256, or PS256 when the JWK says `"alg":"PS256"`; P-256 -> ES256;
 * Ed25519 -> EdDSA. `allowed` narrows that (DPoP takes only ES256 and EdDSA).
 * The `kid` is `kid`, else the JWK's own `kid`, else the key's RFC 7638 thumbprint.
 */
export function readPrivateKey(name: string, text: string, options: { kid?: string; allowed: readonly SigningAlg[] }): SigningKey {
  const value = text.trim();
  let privateKey: KeyObject;
  let jwkAlg: unknown;
  let jwkKid: unknown;
  try {
    if (value.startsWith('{')) {
      const jwk = JSON.parse(value) as JsonWebKey;
      if (typeof jwk.d !== 'string') throw new KeyProblem(`${name} is a public JWK; it must be the private key (with its "d" member)`);
      ({ alg: jwkAlg, kid: jwkKid } = jwk);
      privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    } else {
      const pem = value.includes('\n') ? value : value.replace(/\\n/g, '\n');
      if (!pem.startsWith('-----BEGIN')) throw new KeyProblem(`${name} must be a PEM private key or a private JWK (JSON)`);
      privateKey = createPrivateKey(pem);
    }
  } catch (error) {
    if (error instanceof KeyProblem) throw error;
    // Never the parser's message: it may quote part of the key.
    throw new KeyProblem(`${name} could not be read as a PEM private key or a private JWK`);
  }
  const alg = algorithmOf(name, privateKey, jwkAlg);
  if (!options.allowed.includes(alg)) {
    throw new KeyProblem(
      `${name} is a ${alg} key; this use takes ${options.allowed.join(' or ')} only (${describeAllowed(options.allowed)})`,
    );
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = options.kid ?? (typeof jwkKid === 'string' && jwkKid ? jwkKid : jwkThumbprint(jwk));
  const publicJwk: PublicJwk = { kty: jwk.kty!, kid, alg, use: 'sig' };
  for (const member of ['crv', 'x', 'y', 'n', 'e'] as const) if (typeof jwk[member] === 'string') publicJwk[member] = jwk[member];
  return { privateKey, alg, kid, publicJwk };
}

function describeAllowed(allowed: readonly SigningAlg[]): string {
  return allowed
    .map((alg) => ({ RS256: 'RSA', PS256: 'RSA', ES256: 'EC P-256', EdDSA: 'Ed25519' })[alg])
    .filter((v, i, all) => all.indexOf(v) === i)
    .join(' or ');
}

function algorithmOf(name: string, key: KeyObject, jwkAlg: unknown): SigningAlg {
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new KeyProblem(`${name} is an RSA key shorter than 2048 bits`);
      if (jwkAlg !== undefined && jwkAlg !== 'RS256' && jwkAlg !== 'PS256')
        throw new KeyProblem(`${name}: an RSA JWK's "alg" must be RS256 or PS256`);
      return jwkAlg === 'PS256' ? 'PS256' : 'RS256';
    }
    case 'ec':
      if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
        throw new KeyProblem(`${name} is an EC key on a curve other than P-256 (ES256 needs P-256)`);
      return 'ES256';
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new KeyProblem(`${name} is a ${String(key.asymmetricKeyType)} key; use RSA (2048+ bits), EC P-256 or Ed25519`);
  }
}

const WEB_CRYPTO_ALGORITHMS: Record<SigningAlg, RsaHashedImportParams | EcKeyImportParams | Algorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
};

/**
 * The same key as a WebCrypto key pair, as openid-client takes it (client assertions, DPoP proofs
 * at the token endpoint). The private key is not extractable; the public one must be (its JWK
 * goes into every DPoP proof's header).
 */
export async function toCryptoKeyPair(key: SigningKey): Promise<CryptoKeyPair> {
  const algorithm = WEB_CRYPTO_ALGORITHMS[key.alg];
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', key.privateKey.export({ format: 'der', type: 'pkcs8' }), algorithm, false, ['sign']),
    webcrypto.subtle.importKey('spki', createPublicKey(key.privateKey).export({ format: 'der', type: 'spki' }), algorithm, true, [
      'verify',
    ]),
  ]);
  return { privateKey, publicKey };
}
