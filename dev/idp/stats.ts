import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

/** Counters tests read to see what the provider was asked to do. */
export interface IdpStats {
  /** Successful token endpoint calls by `grant_type`, e.g. `authorization_code`, `refresh_token`. */
  tokenGrants: Record<string, number>;
  /** Tokens actually revoked at the revocation endpoint (unknown tokens do not count). */
  revokedTokens: number;
  /** Back-channel logout tokens a client accepted (answered 200/204). */
  backchannelLogouts: number;
}

/** Kinds of token whose revocation is counted. */
const REVOCABLE = ['RefreshToken', 'AccessToken', 'ClientCredentials'];

/**
 * Attaches counters to a provider. Token grants and back-channel logouts come from the
 * provider's events; revocation has no success event (and answers 200 even for unknown tokens),
 * so a middleware counts the answers where the provider had found the token.
 */
export function attachStats(provider: Provider): IdpStats {
  const stats: IdpStats = { tokenGrants: {}, revokedTokens: 0, backchannelLogouts: 0 };

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
    }
  });
  return stats;
}
