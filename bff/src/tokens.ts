/**
 * The kit's tokens, one name per shape (what is held where is in each type's comment):
 * - {@link TokenSet}: every token of a grant, in clear: only ever in memory, sealed at rest.
 * - {@link SealedToken}: an access token sealed in a session record, with its timing.
 * - {@link TimedAccessToken}: an access token in clear with its timing (the session cache, the refresh rule).
 * - {@link AccessToken}: what an upstream call needs of one (the proxy, DPoP proofs).
 */

/** The tokens, only ever in memory in clear. */
export interface TokenSet {
  accessToken: string;
  /**
   * 'dpop' when the provider bound the access token to the BFF's DPoP key (RFC 9449 token_type
   * DPoP): it is then sent as `Authorization: DPoP` with a proof. Absent: a Bearer token (also
   * when DPoP is on but the provider issued Bearer anyway), so sealed sets from before DPoP read
   * as they always did.
   */
  tokenType?: 'dpop';
  refreshToken?: string;
  idToken?: string;
}

/** The token type to remember from a token response's (lower-cased) `token_type`. */
export function tokenTypeOf(tokenType: string | undefined): Pick<TokenSet, 'tokenType'> {
  return tokenType?.toLowerCase() === 'dpop' ? { tokenType: 'dpop' } : {};
}

/** A sealed access token and its timing (the sign-in token's fields in a record have the same shape). */
export interface SealedToken {
  /** Sealed {@link TokenSet}; a route token's set holds only `accessToken`. */
  sealedTokens: string;
  accessExpiresAt: number;
  accessLifetime: number;
}

/** A session's access token in clear, with its timing (the refresh rule needs no decryption). */
export interface TimedAccessToken {
  accessToken: string;
  /** 'dpop' for a DPoP-bound token (sent with a proof); absent for Bearer. */
  tokenType?: 'dpop';
  accessExpiresAt: number;
  accessLifetime: number;
}

/** An access token as the proxy sends it: `tokenType` 'dpop' when the provider bound it to our DPoP key. */
export interface AccessToken {
  accessToken: string;
  tokenType?: 'dpop';
}

/**
 * A session's absolute end brought forward to the end of the refresh token a token response just
 * issued, when the provider says when that is (`refresh_token_expires_in`,
 * draft-ietf-oauth-refresh-token-expiration): past it the session could get no new access token,
 * so it must not look alive. `configuredEnd` is sign-in + SESSION_ABSOLUTE_TIMEOUT, never exceeded;
 * a rotated token with a later end moves the end up to it again. Undefined when the response says
 * nothing about a new refresh token (the session's end stays as it was).
 */
export function refreshTokenCap(
  response: { refresh_token?: string; refresh_token_expires_in?: unknown },
  configuredEnd: number,
  now: number,
): number | undefined {
  const seconds = response.refresh_token_expires_in;
  if (!response.refresh_token || typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0) return undefined;
  return Math.min(configuredEnd, now + seconds);
}
