import { describe, expect, it } from 'vitest';
import { loginErrorMessage, takeLoginError } from './login-errors.js';
import { strings } from './strings.js';

const GENERIC_LOGIN_ERROR = strings.loginErrorGeneric;

function fakeHistory() {
  const replaced: string[] = [];
  const history = {
    state: { keep: true },
    replaceState: (_state: unknown, _title: string, url?: string | URL | null) => replaced.push(String(url)),
  };
  return { history, replaced };
}

describe('login error messages', () => {
  it('explains the codes the BFF passes on', () => {
    expect(loginErrorMessage('access_denied')).toMatch(/^You declined to share your account/);
    expect(loginErrorMessage('login_required')).toMatch(/not signed in/);
    expect(loginErrorMessage('invalid_request')).toMatch(/could not be started or completed/);
    expect(loginErrorMessage('temporarily_unavailable')).toMatch(/temporarily unavailable/);
  });

  it('falls back to a generic sentence for unknown or odd codes', () => {
    expect(loginErrorMessage('<script>')).toBe(GENERIC_LOGIN_ERROR);
    expect(loginErrorMessage('toString')).toBe(GENERIC_LOGIN_ERROR);
    expect(loginErrorMessage('__proto__')).toBe(GENERIC_LOGIN_ERROR);
    expect(loginErrorMessage('')).toBe(GENERIC_LOGIN_ERROR);
  });

  it('takes the code out of the URL, keeping the rest, so a reload does not repeat it', () => {
    const { history, replaced } = fakeHistory();
    const message = takeLoginError({ href: 'https://app.example/?login_error=access_denied&x=1#top' }, history);
    expect(message).toMatch(/declined/);
    expect(replaced).toEqual(['/?x=1#top']);
  });

  it('leaves the URL alone when there is no login error', () => {
    const { history, replaced } = fakeHistory();
    expect(takeLoginError({ href: 'https://app.example/notes?login=1' }, history)).toBeUndefined();
    expect(replaced).toEqual([]);
  });
});
