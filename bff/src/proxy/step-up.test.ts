import { describe, expect, it } from 'vitest';
import { parseAccess, type RouteAccess } from '../route-access.js';
import type { HotSession } from '../session/session-cache.js';
import { authorize, insufficientAuthentication } from './step-up.js';

const PUBLIC = new URL('https://app.example');
const access = (options: { acr?: string; max_age?: string }, rules: string[] = []) => parseAccess(options, rules) as RouteAccess;
const session = (fields: Partial<HotSession>): HotSession => ({ expiresAt: Infinity, tokens: {}, ...fields });
const now = () => Math.floor(Date.now() / 1000);
const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return error as { status: number; code: string; details?: Record<string, unknown> };
  }
  return undefined;
};

describe('per-route authorization', () => {
  it('lets a session through that has one of the acr values and a recent enough auth_time', () => {
    const rules = access({ acr: 'urn:a urn:mfa', max_age: '300' });
    expect(refusal(() => authorize(rules, session({ acr: 'urn:mfa', authTime: now() - 10 }), PUBLIC, undefined))).toBeUndefined();
  });

  it.each([
    ['another acr', { acr: 'urn:pwd', authTime: now() }],
    ['no acr at all', { authTime: now() }],
    ['a stale auth_time', { acr: 'urn:mfa', authTime: now() - 301 }],
    ['no auth_time at all', { acr: 'urn:mfa' }],
  ])('asks for a step-up for %s', (_name, fields) => {
    const failure = refusal(() => authorize(access({ acr: 'urn:mfa', max_age: '300' }), session(fields), PUBLIC, undefined));
    expect(failure).toMatchObject({ status: 401, code: 'step_up_required', details: { acr_values: 'urn:mfa', max_age: 300 } });
  });

  it('matches claim rules exactly, lists by membership, nested claims by path, and never by prefix or type tricks', () => {
    const rules = access({}, ['groups:admins', 'org.tier:gold', 'verified:true']);
    const ok = { groups: ['users', 'admins'], org: { tier: 'gold' }, verified: true };
    expect(refusal(() => authorize(rules, session({ claims: ok }), PUBLIC, undefined))).toBeUndefined();
    for (const claims of [
      { ...ok, groups: ['admins-not'] },
      { ...ok, groups: 'admins,users' },
      { ...ok, org: { tier: ['gold'] }, groups: [] },
      { ...ok, org: 'gold' },
      { ...ok, verified: 'yes' },
      { ...ok, groups: [{ toString: () => 'admins' }] },
      undefined,
    ]) {
      expect(refusal(() => authorize(rules, session({ claims: claims as Record<string, unknown> }), PUBLIC, undefined))).toMatchObject({
        status: 403,
        code: 'forbidden',
      });
    }
  });

  it('reads an RFC 9470 challenge, and nothing else as one', () => {
    expect(insufficientAuthentication('Bearer error="insufficient_user_authentication", acr_values="urn:a urn:b", max_age=5')).toEqual({
      acrValues: 'urn:a urn:b',
      maxAge: 5,
    });
    expect(insufficientAuthentication('Bearer error="invalid_token"')).toBeUndefined();
    expect(insufficientAuthentication('Bearer error_description="insufficient_user_authentication"')).toBeUndefined();
    // Values the kit would not send on are dropped, the challenge still counts.
    expect(insufficientAuthentication('Bearer error="insufficient_user_authentication", acr_values="a\\"b", max_age=-1')).toEqual({});
  });
});
