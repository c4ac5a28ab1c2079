import { describe, expect, it } from 'vitest';
import { backoffMs } from './live-notes.js';

describe('live notes reconnect backoff', () => {
  it('doubles from 1 s up to 30 s, with jitter in the upper half', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffMs(attempt, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    expect(backoffMs(0, () => 0)).toBe(500);
    expect(backoffMs(10, () => 0)).toBe(15000);
  });
});
