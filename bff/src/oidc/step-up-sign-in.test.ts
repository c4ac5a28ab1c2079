import { describe, expect, it } from 'vitest';
import { readStepUpRequest, stepUpShortfall } from './step-up-sign-in.js';

const now = () => Math.floor(Date.now() / 1000);

describe('the callback checks a step-up itself', () => {
  it('accepts an ID token with one of the acr values asked and an auth_time within max_age', () => {
    const asked = readStepUpRequest({ acr_values: 'urn:mfa urn:hwk', max_age: '60' });
    expect(stepUpShortfall(asked, { acr: 'urn:hwk', auth_time: now() - 30 })).toBeUndefined();
    expect(stepUpShortfall(undefined, {})).toBeUndefined();
  });

  it('refuses an unchecked acr: another value, none, or one that only contains an asked value', () => {
    const asked = readStepUpRequest({ acr_values: 'urn:mfa' });
    expect(stepUpShortfall(asked, { acr: 'urn:pwd' })).toBe('acr');
    expect(stepUpShortfall(asked, {})).toBe('acr');
    expect(stepUpShortfall(asked, { acr: 'urn:mfa urn:pwd' })).toBe('acr');
  });

  it('refuses a stale auth_time (a provider that answered from an old session), a missing one, and one in the future', () => {
    const asked = readStepUpRequest({ max_age: '60' });
    expect(stepUpShortfall(asked, { auth_time: now() - 3600 })).toBe('auth_time');
    expect(stepUpShortfall(asked, { auth_time: String(now()) })).toBe('auth_time');
    expect(stepUpShortfall(asked, {})).toBe('auth_time');
    expect(stepUpShortfall(asked, { auth_time: now() + 3600 })).toBe('auth_time');
  });
});
