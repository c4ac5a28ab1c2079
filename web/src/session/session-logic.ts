import type { SessionEndReason, UserInfo } from '../../../shared/src/index.js';
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

/**
 * What the signed-out view says for the BFF's `reason`: in plain words, with the idle timeout's
 * length when the app knew it (from `/bff/user`). Without a reason (an answer from something in
 * front of the BFF), the guess of {@link endedMessage} when the app knew the session, else none.
 */
export function reasonMessage(reason: SessionEndReason | undefined, known?: UserInfo, now = Date.now()): string | undefined {
  if (reason === undefined) return known ? endedMessage(known, now) : undefined;
  if (reason === 'idle_timeout') {
    const idle = known?.session.idleTimeout;
    return strings.endReasons.idle_timeout(idle === undefined ? undefined : strings.duration(idle));
  }
  return strings.endReasons[reason];
}

/** The name to greet the user with: `name`, else `preferred_username`, else `email`, else `sub`. */
export function displayName(user: UserInfo): string {
  for (const claim of ['name', 'preferred_username', 'email'] as const) {
    const value = user.claims[claim];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return user.sub;
}

/**
 * Messages tabs exchange on the AUTH_CHANNEL: facts only, never a secret or a user detail.
 * `signed-out`/`signed-in`: the session controller's. `expiry-warning`: a tab is warning that the
 * session ends soon (the others look at the session and warn too); `expiry-extended`: a tab kept
 * it alive (the others look again, and put their warning away); `expiry-dismissed`: a tab put the
 * absolute-end warning away ("Not now"), the others do too.
 */
export type ChannelMessage = { type: 'signed-out' | 'signed-in' | 'expiry-warning' | 'expiry-extended' | 'expiry-dismissed' };
const CHANNEL_TYPES: ReadonlySet<unknown> = new Set(['signed-out', 'signed-in', 'expiry-warning', 'expiry-extended', 'expiry-dismissed']);

/** Accepts only well-formed messages; anything else on the channel is ignored. */
export function parseChannelMessage(data: unknown): ChannelMessage | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const type = (data as { type?: unknown }).type;
  return CHANNEL_TYPES.has(type) ? { type: type as ChannelMessage['type'] } : undefined;
}

/** How long before the session's end the warning shows (WCAG 2.2.1: time to react). */
export const WARNING_MS = 2 * 60_000;

/**
 * When the warning shows, before the end: {@link WARNING_MS}, or half the idle timeout when that
 * is shorter (below 4 minutes), so a session is never in its warning from the moment it is used.
 */
export function warningLeadMs(user: UserInfo): number {
  return Math.min(WARNING_MS, user.session.idleTimeout * 500);
}

/** What ends the session first if nothing happens, and when (epoch ms): the idle or the absolute end. */
export interface SessionEnd {
  kind: 'idle' | 'absolute';
  endsAt: number;
}

export function nextEnd(user: UserInfo): SessionEnd {
  const idle = user.session.idleExpiresAt * 1000;
  const absolute = user.session.expiresAt * 1000;
  return absolute <= idle ? { kind: 'absolute', endsAt: absolute } : { kind: 'idle', endsAt: idle };
}

/** Time left as `m:ss` (never negative). */
export function formatCountdown(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
