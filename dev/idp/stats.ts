import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

/** Counters tests read to see what the provider was asked to do. */
export interface IdpStats {
  /** Successful token endpoint calls by `grant_type`, e.g. `authorization_code`, `refresh_token`. */
  tokenGrants: Record<string, number>;
  /** Tokens actually revoked at the revocation endpoint (unknown tokens do not count). */
  revokedTokens: number;
  /** The values of those tokens, in order (tests check which one a client revoked). */
  revokedValues: string[];
  /** Back-channel logout tokens a client accepted (answered 200/204). */
  backchannelLogouts: number;
  /** Pushed authorization requests accepted (RFC 9126, answered 201). */
  pushedRequests: number;
  /** Token-endpoint and PAR answers that asked for a DPoP nonce (`use_dpop_nonce`). */
  dpopNonceChallenges: number;
  /** Access tokens issued DPoP-bound (`token_type` DPoP), by `grant_type`. */
  dpopTokens: Record<string, number>;
}

/** Kinds of token whose revocation is counted. */
const REVOCABLE = ['RefreshToken', 'AccessToken', 'ClientCredentials'];

/**
 * Attaches counters to a provider. Token grants and back-channel logouts come from the
 * provider's events; revocation has no success event (and answers 200 even for unknown tokens),
 * so a middleware counts the answers where the provider had found the token.
 */
export function attachStats(provider: Provider): IdpStats {
  const stats: IdpStats = {
    tokenGrants: {},
    revokedTokens: 0,
    revokedValues: [],
    backchannelLogouts: 0,
    pushedRequests: 0,
    dpopNonceChallenges: 0,
    dpopTokens: {},
  };

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = String(ctx.oidc.params?.grant_type ?? 'unknown');
    stats.tokenGrants[grantType] = (stats.tokenGrants[grantType] ?? 0) + 1;
  });
  provider.on('backchannel.success', () => {
    stats.backchannelLogouts += 1;
  });
  provider.use(async (ctx, next) => {
    await next();
    const { oidc } = ctx as KoaContextWithOIDC;
    if (oidc?.route === 'revocation' && ctx.status === 200 && REVOCABLE.some((kind) => oidc.entities[kind])) {
      stats.revokedTokens += 1;
      stats.revokedValues.push(String(oidc.params?.token));
    }
    const body = ctx.body as { error?: unknown; token_type?: unknown } | undefined;
    if (oidc?.route === 'pushed_authorization_request' && ctx.status === 201) stats.pushedRequests += 1;
    if (body?.error === 'use_dpop_nonce') stats.dpopNonceChallenges += 1;
    if (oidc?.route === 'token' && ctx.status === 200 && body?.token_type === 'DPoP') {
      const grantType = String(oidc.params?.grant_type ?? 'unknown');
      stats.dpopTokens[grantType] = (stats.dpopTokens[grantType] ?? 0) + 1;
    }
  });
  return stats;
}
