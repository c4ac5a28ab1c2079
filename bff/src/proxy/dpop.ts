import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { readPrivateKey, type SigningKey } from '../signing-keys.js';
import type { AccessToken } from '../tokens.js';

/** Nonces remembered per upstream origin; more origins than this cannot exist (API_ROUTES is fixed), but stay bounded anyway. */
const MAX_ORIGINS = 256;
/** Access token hashes (`ath`) remembered; a token is hashed once, not once per call. */
const MAX_ATH = 4096;
const NONCE_CHALLENGE = /^\s*DPoP\b[^]*\berror="?use_dpop_nonce"?/i;

/**
 * DPoP proofs (RFC 9449) for calls to upstream APIs, one per call: `htm`, `htu` (the upstream URL
 * without query or fragment), `iat`, a unique `jti`, `ath` (the access token's SHA-256), and the
 * upstream's latest `DPoP-Nonce` when it gave one.
 *
 * This is the hot path, so a proof costs one signature and little else: the header (with the
 * public JWK) is encoded once, the key is a node:crypto KeyObject signed synchronously (no
 * WebCrypto promise), `ath` is cached per token, and `jti` is a UUID (batched entropy).
 * Token-endpoint proofs are openid-client's (see OidcClient.dpop), made with the same key.
 */
export class DpopProofs {
  readonly #key: SigningKey;
  readonly #encodedHeader: string;
  readonly #nonces = new Map<string, string>();
  readonly #ath = new Map<string, string>();

  constructor(key: SigningKey) {
    this.#key = key;
    // The proof's jwk: the key's public members only (no kid, use or alg).
    const jwk = Object.fromEntries(Object.entries(key.publicJwk).filter(([name]) => !['kid', 'use', 'alg'].includes(name)));
    this.#encodedHeader = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: key.alg, jwk })).toString('base64url');
  }

  /** The public key, for `/bff/jwks`. */
  get key(): SigningKey {
    return this.#key;
  }

  /** A fresh proof for one request to `origin` + `path` (its query is not part of `htu`). */
  proof(method: string, origin: string, path: string, accessToken: string): string {
    const query = path.indexOf('?');
    const payload: Record<string, string | number> = {
      htm: method,
      htu: origin + (query === -1 ? path : path.slice(0, query)),
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      ath: this.#athOf(accessToken),
    };
    const nonce = this.#nonces.get(origin);
    if (nonce !== undefined) payload.nonce = nonce;
    const input = `${this.#encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    // ES256 JWS signatures are r||s (IEEE P1363), not DER; Ed25519 takes no digest name.
    const signature =
      this.#key.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: this.#key.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, Buffer.from(input), this.#key.privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }

  /**
   * Remembers a `DPoP-Nonce` an upstream sent (on a challenge or any other answer, RFC 9449 §9).
   * Returns true when the answer was a `use_dpop_nonce` challenge with a nonce: the call may be
   * sent once more with it.
   */
  observe(origin: string, statusCode: number, challenge: unknown, nonce: unknown): boolean {
    if (typeof nonce !== 'string' || nonce === '') return false;
    if (this.#nonces.get(origin) !== nonce) {
      if (this.#nonces.size >= MAX_ORIGINS) this.#nonces.delete(this.#nonces.keys().next().value!);
      this.#nonces.set(origin, nonce);
    }
    return statusCode === 401 && typeof challenge === 'string' && NONCE_CHALLENGE.test(challenge);
  }

  #athOf(accessToken: string): string {
    let ath = this.#ath.get(accessToken);
    if (ath === undefined) {
      ath = createHash('sha256').update(accessToken).digest('base64url');
      if (this.#ath.size >= MAX_ATH) this.#ath.delete(this.#ath.keys().next().value!);
      this.#ath.set(accessToken, ath);
    }
    return ath;
  }
}

/** The `Authorization` value for a token: `DPoP` when it is DPoP-bound and the BFF proves possession, else `Bearer`. */
export function authorizationOf(token: AccessToken, dpop: DpopProofs | undefined): string {
  return dpop && token.tokenType === 'dpop' ? `DPoP ${token.accessToken}` : `Bearer ${token.accessToken}`;
}

/** A random P-256 DPoP key for one process (development without DPOP_PRIVATE_KEY). */
export function randomDpopKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return readPrivateKey('DPoP key', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { allowed: ['ES256'] });
}
