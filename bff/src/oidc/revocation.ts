import * as client from 'openid-client';
import type { Deps } from '../deps.js';
import { describeError } from '../errors.js';
import { traced } from '../tracing/tracing.js';

/**
 * Revokes a refresh token at the provider (RFC 7009) with the client authentication its
 * revocation endpoint takes; skipped when the provider has no revocation endpoint. A failure is
 * logged, not thrown: whoever asks has already ended the session, and an unrevoked token still
 * expires on its own at the provider.
 */
export async function revokeRefreshToken(
  { oidc, log, tracing }: Pick<Deps, 'oidc' | 'log' | 'tracing'>,
  refreshToken: string,
): Promise<void> {
  if (!oidc.ready || !oidc.configuration.serverMetadata().revocation_endpoint) return;
  try {
    await traced(tracing, 'oidc revocation', () =>
      client.tokenRevocation(oidc.revocation, refreshToken, { token_type_hint: 'refresh_token' }),
    );
  } catch (error) {
    log.warn({ event: 'revocation_failed', err: describeError(error) }, 'refresh token revocation failed');
  }
}
