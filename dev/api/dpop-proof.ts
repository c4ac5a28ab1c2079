import { randomBytes } from 'node:crypto';
import { EmbeddedJWK, base64url, calculateJwkThumbprint, errors, jwtVerify, type JWK } from 'jose';
import { createHash } from 'node:crypto';

/** DPoP proof algorithms the demo API takes (asymmetric only, as RFC 9449 §4.2 requires). */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519'];
/** How old a proof may be (its `iat`), and how far in the future a clock may run. */
const MAX_AGE_SECONDS = 60;
const CLOCK_TOLERANCE_SECONDS = 5;

/** Why a proof was refused: `use_dpop_nonce` (send it again with `DPoP-Nonce`) or `invalid_dpop_proof`. */
export class DpopProofError extends Error {
  constructor(
    readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce',
    readonly description: string,
  ) {
    super(description);
    this.name = 'DpopProofError';
  }
}

export interface DpopProofVerifier {
  /**
   * Checks one request's proof (RFC 9449 §4.3): a `dpop+jwt` signed by the public key in its own
   * header, `htm` and `htu` of this request, `iat` within the window, a `jti` never seen within
   * it, `ath` the hash of the presented access token, and (when nonces are on) a current nonce.
   * Resolves with the key's thumbprint, for the caller to compare with the token's `cnf.jkt`.
   */
  verify(request: { proof: string; method: string; htu: string; accessToken: string }): Promise<{ jkt: string }>;
  /** The nonce to send in `DPoP-Nonce`, when nonces are on. */
  readonly nonce: string | undefined;
}

/**
 * The demo API's DPoP proof checks. `nonceLifetimeMs` turns resource-server nonces on (RFC 9449
 * §9): proofs must carry the current (or the just-retired) nonce, which rotates.
 */
export function createDpopProofVerifier(options: { nonceLifetimeMs?: number } = {}): DpopProofVerifier {
  const seen = new Map<string, number>(); // jti -> when it may be forgotten (ms)
  let sweepAt = 0;
  const nonces = options.nonceLifetimeMs ? { current: fresh(), previous: '', rotatedAt: Date.now() } : undefined;

  function rotate() {
    if (nonces && Date.now() - nonces.rotatedAt > options.nonceLifetimeMs!)
      Object.assign(nonces, { previous: nonces.current, current: fresh(), rotatedAt: Date.now() });
  }

  /** A jti may be used once while its proof could still be accepted. */
  function remember(jti: string) {
    const now = Date.now();
    if (now > sweepAt) {
      for (const [key, until] of seen) if (until < now) seen.delete(key);
      sweepAt = now + 10_000;
    }
    if (seen.has(jti)) throw new DpopProofError('invalid_dpop_proof', 'the proof was already used (jti replay)');
    seen.set(jti, now + (MAX_AGE_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000);
  }

  return {
    get nonce() {
      rotate();
      return nonces?.current;
    },
    async verify({ proof, method, htu, accessToken }) {
      let payload: Record<string, unknown>;
      let jwk: JWK;
      try {
        const verified = await jwtVerify(proof, EmbeddedJWK, {
          typ: 'dpop+jwt',
          algorithms: DPOP_ALGORITHMS,
          maxTokenAge: MAX_AGE_SECONDS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['iat', 'jti', 'htm', 'htu'],
        });
        payload = verified.payload;
        jwk = verified.protectedHeader.jwk!;
      } catch (error) {
        if (error instanceof errors.JOSEError) throw new DpopProofError('invalid_dpop_proof', `the DPoP proof is invalid (${error.code})`);
        throw error;
      }
      if (payload.htm !== method) throw new DpopProofError('invalid_dpop_proof', 'htm does not match the request method');
      if (payload.htu !== htu) throw new DpopProofError('invalid_dpop_proof', 'htu does not match the request URL');
      const ath = base64url.encode(createHash('sha256').update(accessToken).digest());
      if (payload.ath !== ath) throw new DpopProofError('invalid_dpop_proof', 'ath does not match the access token');
      if (nonces) {
        rotate();
        if (payload.nonce !== nonces.current && (payload.nonce !== nonces.previous || !nonces.previous)) {
          throw new DpopProofError('use_dpop_nonce', 'the resource server requires its nonce in the DPoP proof');
        }
      }
      remember(String(payload.jti));
      return { jkt: await calculateJwkThumbprint(jwk) };
    },
  };
}

const fresh = () => randomBytes(16).toString('base64url');
