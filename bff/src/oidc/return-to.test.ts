import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to.js';

const origin = new URL('https://app.example.com');

describe('returnTo', () => {
  it.each([
    ['/', '/'],
    ['/notes?tab=2#top', '/notes?tab=2#top'],
    ['/a/../b', '/b'],
    ['/%2F%2Fevil.com', '/%2F%2Fevil.com'],
  ])('keeps the same-origin path %s', (input, expected) => {
    expect(safeReturnTo(input, origin)).toBe(expected);
  });

  it.each([
    'https://evil.com/',
    '//evil.com',
    '///evil.com',
    '/\\evil.com',
    '\\\\evil.com',
    '/\t/evil.com',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    '%2F%2Fevil.com',
    'evil.com',
    '/..//evil.com',
    'https://app.example.com.evil.com/',
    '',
    'x'.repeat(3000),
  ])('falls back to / for %j', (input) => {
    expect(safeReturnTo(input, origin)).toBe('/');
  });

  it('falls back to / for non-strings (repeated query parameters)', () => {
    expect(safeReturnTo(['/a', '/b'], origin)).toBe('/');
    expect(safeReturnTo(undefined, origin)).toBe('/');
  });
});
