import { describe, expect, it } from 'vitest';
import { loginErrorMessage, takeLoginError } from './login-errors.js';

describe('login errors', () => {
  it('explains known codes and falls back for unknown ones', () => {
    expect(loginErrorMessage('access_denied')).toMatch(/declined/);
    expect(loginErrorMessage('login_required')).toMatch(/not signed in/);
    expect(loginErrorMessage('<script>')).toBe('Sign-in did not complete. Please try again.');
  });

  it('takes the code out of the URL so a reload does not repeat it', () => {
    const replaced: string[] = [];
    const history = { state: null, replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url) } as unknown as History;
    const message = takeLoginError({ href: 'https://app.example/?login_error=access_denied&x=1#top' } as Location, history);
    expect(message).toMatch(/declined/);
    expect(replaced).toEqual(['/?x=1#top']);
    expect(takeLoginError({ href: 'https://app.example/notes' } as Location, history)).toBeUndefined();
    expect(replaced).toHaveLength(1);
  });
});
