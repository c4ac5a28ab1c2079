import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../shared/src/index.js';
import {
  MAX_CHECK_DELAY_MS,
  SESSION_MESSAGES,
  displayName,
  endedMessage,
  formatCountdown,
  nextEnd,
  warningLeadMs,
  nextCheckDelay,
  parseChannelMessage,
  sessionEndsAt,
} from './session-logic.js';

const NOW = 1_700_000_000_000;
const user = (claims: Record<string, unknown> = {}, idleIn = 600, absoluteIn = 3600): UserInfo => ({
  sub: 'sub-1',
  claims,
  session: { idleExpiresAt: NOW / 1000 + idleIn, expiresAt: NOW / 1000 + absoluteIn, idleTimeout: 1800 },
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

describe('the expiry warning', () => {
  it('warns about whichever end comes first', () => {
    expect(nextEnd(user({}, 600, 3600))).toEqual({ kind: 'idle', endsAt: NOW + 600_000 });
    expect(nextEnd(user({}, 600, 300))).toEqual({ kind: 'absolute', endsAt: NOW + 300_000 });
  });

  it('shows two minutes before the end, or half the idle timeout when that is shorter', () => {
    expect(warningLeadMs(user())).toBe(120_000);
    expect(warningLeadMs({ ...user(), session: { ...user().session, idleTimeout: 20 } })).toBe(10_000);
  });

  it('counts down in m:ss and never below zero', () => {
    expect(formatCountdown(120_000)).toBe('2:00');
    expect(formatCountdown(61_200)).toBe('1:02');
    expect(formatCountdown(-5)).toBe('0:00');
  });
});
