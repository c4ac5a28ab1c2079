import { DPOP_ALGORITHMS, DpopProofError, type DpopProofVerifier } from './dpop-proof.js';
import { InvalidTokenError, type AccessTokenClaims, type AccessTokenVerifier } from './token-verifier.js';

const REALM = 'demo-api';
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9._~+/-]+=*) *$/i;

/** One request as far as authentication is concerned (from Koa or from a raw upgrade request). */
export interface AuthRequest {
  method: string;
  /** The request URL without query: what a DPoP proof's `htu` must be. */
  htu: string;
  authorization: string | undefined;
  dpop: string | string[] | undefined;
}

/** The answer: the token's claims, or a refusal with the challenge (and nonce) to send. */
export type AuthOutcome =
  | { ok: true; claims: AccessTokenClaims; nonce?: string }
  | { ok: false; status: 401 | 503; challenge?: string; nonce?: string; error: string; message: string };

/**
 * Authenticates a call to the demo API with a JWT access token, presented either as `Bearer`
 * (RFC 6750) or as `DPoP` with a proof (RFC 9449 §7). A token bound to a key (`cnf.jkt`) is only
 * accepted with a valid proof by that key: a copy of the token alone, taken from a log or a
 * proxy, is worthless. With resource-server nonces on, a proof without the current nonce gets a
 * `use_dpop_nonce` challenge and the nonce in `DPoP-Nonce`.
 */
export function createRequestAuthenticator(verifier: AccessTokenVerifier, dpop: DpopProofVerifier) {
  const refuse = (scheme: 'Bearer' | 'DPoP', error: string, message: string, nonce?: string): AuthOutcome => ({
    ok: false,
    status: 401,
    error,
    message,
    nonce,
    challenge:
      scheme === 'DPoP'
        ? `DPoP algs="${DPOP_ALGORITHMS.join(' ')}", error="${error}", error_description="${message}"`
        : `Bearer realm="${REALM}", error="${error}", error_description="${message}"`,
  });

  return async function authenticate(request: AuthRequest): Promise<AuthOutcome> {
    const match = CREDENTIALS.exec(request.authorization ?? '');
    if (!match)
      return {
        ok: false,
        status: 401,
        challenge: `Bearer realm="${REALM}", DPoP algs="${DPOP_ALGORITHMS.join(' ')}"`,
        error: 'invalid_token',
        message: 'an access token is required',
      };
    const scheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const token = match[2]!;
    let jkt: string | undefined;
    if (scheme === 'DPoP') {
      if (typeof request.dpop !== 'string') return refuse('DPoP', 'invalid_dpop_proof', 'exactly one DPoP proof is required');
      try {
        ({ jkt } = await dpop.verify({ proof: request.dpop, method: request.method, htu: request.htu, accessToken: token }));
      } catch (error) {
        if (!(error instanceof DpopProofError)) throw error;
        return refuse('DPoP', error.error, error.description, dpop.nonce);
      }
    }
    let claims: AccessTokenClaims;
    try {
      claims = await verifier.verify(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) return refuse(scheme, 'invalid_token', error.description, dpop.nonce);
      return { ok: false, status: 503, error: 'unavailable', message: 'the access token cannot be checked right now' };
    }
    if (claims.jkt !== undefined && scheme === 'Bearer')
      return refuse('Bearer', 'invalid_token', 'this token is DPoP-bound: present it with a DPoP proof');
    if (scheme === 'DPoP' && claims.jkt === undefined) return refuse('DPoP', 'invalid_token', 'this token is not DPoP-bound');
    if (scheme === 'DPoP' && claims.jkt !== jkt)
      return refuse('DPoP', 'invalid_token', 'the DPoP proof was signed by another key than the token is bound to');
    return { ok: true, claims, nonce: scheme === 'DPoP' ? dpop.nonce : undefined };
  };
}

export type RequestAuthenticator = ReturnType<typeof createRequestAuthenticator>;
