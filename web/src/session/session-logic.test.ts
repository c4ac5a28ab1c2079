import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../shared/src/index.js';
import {
  MAX_CHECK_DELAY_MS,
  SESSION_MESSAGES,
  displayName,
  endedMessage,
  nextCheckDelay,
  parseChannelMessage,
  sessionEndsAt,
} from './session-logic.js';

const NOW = 1_700_000_000_000;
const user = (claims: Record<string, unknown> = {}, idleIn = 600, absoluteIn = 3600): UserInfo => ({
  sub: 'sub-1',
  claims,
  session: { idleExpiresAt: NOW / 1000 + idleIn, expiresAt: NOW / 1000 + absoluteIn },
  logoutUrl: '/bff/logout?sid=x',
});

describe('session timing', () => {
  it('ends at the earlier of the idle and the absolute end', () => {
    expect(sessionEndsAt(user({}, 600, 3600))).toBe(NOW + 600_000);
    expect(sessionEndsAt(user({}, 600, 60))).toBe(NOW + 60_000);
  });

  it('re-checks just after the end, never immediately, at least daily', () => {
    expect(nextCheckDelay(user({}, 600), NOW)).toBe(601_000);
    expect(nextCheckDelay(user({}, -100), NOW)).toBe(1000);
    expect(nextCheckDelay(user({}, 90 * 86_400, 90 * 86_400), NOW)).toBe(MAX_CHECK_DELAY_MS);
  });

  it('says "expired" past the end and "ended" before it', () => {
    expect(endedMessage(user({}, 3), NOW + 4000)).toBe(SESSION_MESSAGES.expired);
    expect(endedMessage(user({}, 600), NOW + 1000)).toBe(SESSION_MESSAGES.elsewhere);
    expect(SESSION_MESSAGES.expired).toMatch(/^Your session expired/);
  });
});

describe('display name', () => {
  it('prefers name, then preferred_username, then email, then sub', () => {
    expect(displayName(user({ name: 'Alice', preferred_username: 'alice' }))).toBe('Alice');
    expect(displayName(user({ name: ' ', preferred_username: 'alice' }))).toBe('alice');
    expect(displayName(user({ email: 'a@example.com', name: 42 }))).toBe('a@example.com');
    expect(displayName(user())).toBe('sub-1');
  });
});

describe('cross-tab messages', () => {
  it('accepts only the two known messages', () => {
    expect(parseChannelMessage({ type: 'signed-out' })).toEqual({ type: 'signed-out' });
    expect(parseChannelMessage({ type: 'signed-in', token: 'x' })).toEqual({ type: 'signed-in' });
    expect(parseChannelMessage({ type: 'other' })).toBeUndefined();
    expect(parseChannelMessage('signed-out')).toBeUndefined();
    expect(parseChannelMessage(null)).toBeUndefined();
  });
});
