import type { UserInfo } from '../../../shared/src/index.js';
import { strings } from '../strings.js';

/** What the signed-out view says when the app knows why the session is gone (see strings.ts). */
export const SESSION_MESSAGES = strings.session;

/** Longest single timer wait: browsers clamp anything above 2^31-1 ms, so re-check at least daily. */
export const MAX_CHECK_DELAY_MS = 24 * 60 * 60 * 1000;
/** Grace after the expected end before re-checking, so the server has surely ended it. */
const CHECK_GRACE_MS = 1000;
/** Clock difference between browser and server tolerated when deciding "expired" vs "ended". */
const CLOCK_TOLERANCE_MS = 5000;

/** When the session ends at the latest if nothing happens (idle end or absolute end), in epoch ms. */
export function sessionEndsAt(user: UserInfo): number {
  return Math.min(user.session.expiresAt, user.session.idleExpiresAt) * 1000;
}

/** Milliseconds until the app should ask `/bff/user` again: just after the session's expected end. */
export function nextCheckDelay(user: UserInfo, now: number): number {
  const delay = sessionEndsAt(user) - now + CHECK_GRACE_MS;
  return Math.min(Math.max(delay, CHECK_GRACE_MS), MAX_CHECK_DELAY_MS);
}

/**
 * Why a session the app knew about answered 401: past its expected end it expired (idle or
 * absolute timeout); before that it was ended elsewhere (signed out from another device in
 * "Your sessions", at the provider, ...). The app cannot tell which, and the message says so.
 */
export function endedMessage(user: UserInfo, now: number): string {
  return now + CLOCK_TOLERANCE_MS >= sessionEndsAt(user) ? SESSION_MESSAGES.expired : SESSION_MESSAGES.elsewhere;
}

/** The name to greet the user with: `name`, else `preferred_username`, else `email`, else `sub`. */
export function displayName(user: UserInfo): string {
  for (const claim of ['name', 'preferred_username', 'email'] as const) {
    const value = user.claims[claim];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return user.sub;
}

/** Messages tabs exchange on the AUTH_CHANNEL: facts only, never a secret or a user detail. */
export type ChannelMessage = { type: 'signed-out' } | { type: 'signed-in' };

/** Accepts only the two well-formed messages; anything else on the channel is ignored. */
export function parseChannelMessage(data: unknown): ChannelMessage | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const type = (data as { type?: unknown }).type;
  return type === 'signed-out' || type === 'signed-in' ? { type } : undefined;
}
