import type { SessionEndReason } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import type { SessionRecord } from '../session/records.js';
import { VaultError } from '../session/vault.js';
import { revokeRefreshToken } from './revocation.js';
import type { TokenSet } from '../tokens.js';

/**
 * Ends a session on the user's or the app's behalf: sign-out, and revocation from "Your
 * sessions" (one session, or every other one). The one path for these: the session is deleted
 * (record, refresh lock, sid and sub index entries) through the SessionStore, whose removal step
 * is also where closing the session's live connections will attach; then its refresh token is
 * revoked at the provider (RFC 7009), so a copy of it is worthless too.
 *
 * The record is deleted first: the session is over on every instance at once, even if the
 * provider is slow or down. A failed revocation is logged, not fatal (the token still expires
 * at the provider). Returns the session's tokens when they could be read (sign-out needs the ID
 * token for the end-session redirect), undefined when its key was retired.
 */
export async function endSession(
  { oidc, sessions, sessionTokens, log, tracing }: Pick<Deps, 'oidc' | 'sessions' | 'sessionTokens' | 'log' | 'tracing'>,
  session: { storageId: string; record: SessionRecord },
  /** What the session's browser is told from now on (its tombstone), and the log's reason. */
  reason: SessionEndReason,
): Promise<TokenSet | undefined> {
  // The record as it was deleted: its refresh token is the newest, even if a refresh rotated it
  // after `session.record` was read.
  const last = await sessions.destroyByStorageId(session.storageId, session.record, reason);
  const tokens = openForEnding(sessionTokens, last ?? session.record, log);
  log.info({ event: 'session_ended', reason }, 'session ended');
  if (tokens?.refreshToken) await revokeRefreshToken({ oidc, log, tracing }, tokens.refreshToken);
  return tokens;
}

/** The session's tokens, or undefined when they no longer decrypt (key retired): the session must still end. */
function openForEnding(sessionTokens: Deps['sessionTokens'], record: SessionRecord, log: Deps['log']): TokenSet | undefined {
  try {
    return sessionTokens.open(record);
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    log.warn({ event: 'signout_tokens_unreadable' }, 'ending a session whose tokens no longer decrypt; provider calls skipped');
    return undefined;
  }
}
