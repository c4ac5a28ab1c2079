import { describe, expect, it } from 'vitest';
import { Budget } from './budget.js';

const session = (key: string) => ({ kind: 'session' as const, key });
const address = (key: string) => ({ kind: 'address' as const, key });

describe('Budget', () => {
  it('gives each owner at most its share, and refuses once the instance holds its total', () => {
    const budget = new Budget({ session: { each: 2, total: 3 }, address: { each: 1, total: 5 } });
    expect(budget.take(session('a'))).not.toBeNull();
    expect(budget.take(session('a'))).not.toBeNull();
    expect(budget.take(session('a'))).toBeNull(); // a's share
    expect(budget.take(session('b'))).not.toBeNull();
    expect(budget.take(session('c'))).toBeNull(); // the instance's total for sessions
    expect(budget.take(address('a'))).not.toBeNull(); // kinds are counted apart: "a" the address is not "a" the session
    expect(budget.take(address('a'))).toBeNull();
    expect(budget.size).toBe(4);
  });

  it('releases a slot once, however many endings call release', () => {
    const budget = new Budget({ session: { each: 1, total: 10 }, address: { each: 1, total: 10 } });
    const slot = budget.take(session('a'))!;
    const other = budget.take(session('b'))!;
    slot.release();
    slot.release();
    expect(budget.heldBy(session('a'))).toBe(0);
    expect(budget.heldBy(session('b'))).toBe(1);
    expect(budget.size).toBe(1);
    other.release();
    expect(budget.size).toBe(0);
    expect(budget.take(session('a'))).not.toBeNull();
  });

  it('moves a unit to another owner: taken there before it is given back here; refused when the new owner is full', () => {
    const budget = new Budget({ session: { each: 5, total: 10 }, address: { each: 1, total: 10 } });
    const first = budget.take(session('made-up-1'))!.moveTo(address('10.0.0.1'));
    expect(first).not.toBeNull();
    expect(budget.heldBy(session('made-up-1'))).toBe(0);
    const second = budget.take(session('made-up-2'))!;
    expect(second.moveTo(address('10.0.0.1'))).toBeNull(); // the address already holds its one
    expect(budget.heldBy(session('made-up-2'))).toBe(0); // released either way
    expect(budget.size).toBe(1);
  });
});
