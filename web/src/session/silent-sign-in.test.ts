import { describe, expect, it, vi } from 'vitest';
import { signInAgain, takeSilentFallback } from './silent-sign-in.js';

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe('sign in again: prompt=none first, the interactive sign-in when the provider needs the user', () => {
  it('navigates to /bff/login with prompt=none and the same view as returnTo', () => {
    const storage = memoryStorage();
    const location = { assign: vi.fn() };
    signInAgain('/notes?tab=2', location, storage);
    expect(location.assign).toHaveBeenCalledWith('/bff/login?returnTo=%2Fnotes%3Ftab%3D2&prompt=none');
    expect([...storage.items.values()].join()).not.toMatch(/token/i);
  });

  it.each(['login_required', 'interaction_required'])('after a silent attempt refused with %s: where to sign in interactively', (code) => {
    const storage = memoryStorage();
    signInAgain('/notes', { assign: vi.fn() }, storage);
    expect(takeSilentFallback({ href: `https://app.example/?login_error=${code}` }, storage)).toBe('/notes');
    // Once: the interactive sign-in it leads to can never loop back here.
    expect(takeSilentFallback({ href: `https://app.example/?login_error=${code}` }, storage)).toBeUndefined();
  });

  it('nothing without a silent attempt, for other errors, or after a silent success', () => {
    const storage = memoryStorage();
    expect(takeSilentFallback({ href: 'https://app.example/?login_error=login_required' }, storage)).toBeUndefined();
    signInAgain('/notes', { assign: vi.fn() }, storage);
    expect(takeSilentFallback({ href: 'https://app.example/?login_error=access_denied' }, storage)).toBeUndefined();
    signInAgain('/notes', { assign: vi.fn() }, storage);
    expect(takeSilentFallback({ href: 'https://app.example/notes' }, storage)).toBeUndefined();
    expect(storage.items.size).toBe(0);
  });

  it('never leads anywhere but a path of this app', () => {
    const storage = memoryStorage();
    storage.setItem('bff-silent-sign-in', JSON.stringify({ returnTo: '//evil.example/', at: Date.now() }));
    expect(takeSilentFallback({ href: 'https://app.example/?login_error=login_required' }, storage)).toBeUndefined();
  });
});
