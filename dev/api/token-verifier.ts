import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

/** What the API takes from a valid access token. */
export interface AccessTokenClaims {
  sub: string;
  /** Space-separated scopes granted for this API; empty when none were requested. */
  scope: string;
  /** The `aud` the token was issued for (checked against the API's own). */
  audience: string;
  /** When the token expires, epoch seconds. */
  expiresAt: number;
  clientId?: string;
  /** The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6): a DPoP proof by that key must come with it. */
  jkt?: string;
}

/** Why a token was refused; `description` is safe to send back. */
export class InvalidTokenError extends Error {
  constructor(readonly description: string) {
    super(description);
    this.name = 'InvalidTokenError';
  }
}

export interface AccessTokenVerifier {
  /** Resolves with the claims of a valid token; rejects with InvalidTokenError otherwise. */
  verify(token: string): Promise<AccessTokenClaims>;
}

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

/** Finds the issuer's `jwks_uri` through OpenID discovery and checks the document is the issuer's. */
async function discoverKeys(issuer: string): Promise<RemoteKeys> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`discovery at ${issuer} answered ${response.status}`);
  const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (metadata.issuer !== issuer) throw new Error(`discovery issuer ${String(metadata.issuer)} is not ${issuer}`);
  if (typeof metadata.jwks_uri !== 'string') throw new Error(`discovery at ${issuer} has no jwks_uri`);
  return createRemoteJWKSet(new URL(metadata.jwks_uri));
}

/**
 * Verifies JWT access tokens (RFC 9068) from one issuer for one audience: RS256 signature by a
 * key from the issuer's JWKS, `iss`, `aud`, `exp`, and the `at+jwt` type, which keeps ID tokens
 * and logout tokens of the same issuer from passing as access tokens.
 *
 * Discovery happens on first use, not at start-up, so the API can start before the provider
 * (as in docker compose); a failed discovery is retried on the next request.
 */
export function createAccessTokenVerifier(options: { issuer: string; audience: string }): AccessTokenVerifier {
  let keys: Promise<RemoteKeys> | undefined;
  const getKeys = () => {
    keys ??= discoverKeys(options.issuer).catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    return keys;
  };

  return {
    async verify(token) {
      const jwks = await getKeys();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ['RS256'],
          typ: 'at+jwt',
          requiredClaims: ['sub', 'exp'],
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw new InvalidTokenError('the access token expired');
        if (error instanceof errors.JOSEError) throw new InvalidTokenError('the access token is invalid');
        throw error;
      }
      return {
        sub: payload.sub!,
        scope: typeof payload.scope === 'string' ? payload.scope : '',
        audience: options.audience,
        expiresAt: payload.exp!,
        clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined,
        jkt: typeof (payload.cnf as { jkt?: unknown } | undefined)?.jkt === 'string' ? (payload.cnf as { jkt: string }).jkt : undefined,
      };
    },
  };
}
