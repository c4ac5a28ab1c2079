import { ERROR_CODES } from '../../../shared/src/index.js';
import { HttpError } from '../errors.js';

/**
 * Who a unit of work is counted against: the session named by the caller's cookie, or the
 * caller's address when there is none (docs/budgets.md).
 */
export interface Owner {
  readonly kind: 'session' | 'address';
  readonly key: string;
}

/** How many units one owner of a kind may hold, and how many all owners of that kind together. */
export interface Limits {
  readonly each: number;
  readonly total: number;
}

/**
 * A reservation in a {@link Budget}. Released exactly once, whichever way its unit ends (a second
 * `release()` does nothing), so every ending may call it without bookkeeping of its own.
 */
export class Slot {
  #released = false;
  constructor(
    private readonly budget: Budget,
    readonly owner: Owner,
  ) {}

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.budget.give(this.owner);
  }

  /**
   * The same unit counted against another owner (a cookie that named no session: the caller's
   * address pays instead). Takes the new slot before this one is released; null when the new
   * owner is over budget (this slot is released either way).
   */
  moveTo(owner: Owner): Slot | null {
    const moved = this.budget.take(owner);
    this.release();
    return moved;
  }
}

/**
 * Units of work in flight, per owner and per instance, checked and reserved in ONE synchronous
 * step (`take`): there is no await between the check and the count, so callers arriving in
 * parallel cannot all pass a check that only one of them should (check-then-act). The caller
 * releases the slot in the one place every ending of its unit reaches.
 */
export class Budget {
  /** Units held, by owner key, one map per kind (no key concatenation on the hot path). */
  readonly #held = { session: new Map<string, number>(), address: new Map<string, number>() };
  readonly #totals = { session: 0, address: 0 };

  constructor(private readonly limits: { session: Limits; address: Limits }) {}

  /** A slot for `owner`, or null when the owner or the instance is at its limit. */
  take(owner: Owner): Slot | null {
    const limits = this.limits[owner.kind];
    const heldByKind = this.#held[owner.kind];
    const held = heldByKind.get(owner.key) ?? 0;
    if (held >= limits.each || this.#totals[owner.kind] >= limits.total) return null;
    heldByKind.set(owner.key, held + 1);
    this.#totals[owner.kind]++;
    return new Slot(this, owner);
  }

  /** Units in flight for one owner (metrics and tests). */
  heldBy(owner: Owner): number {
    return this.#held[owner.kind].get(owner.key) ?? 0;
  }

  /** Units in flight on this instance. */
  get size(): number {
    return this.#totals.session + this.#totals.address;
  }

  /** @internal Called by {@link Slot.release} only. */
  give(owner: Owner): void {
    const heldByKind = this.#held[owner.kind];
    const held = (heldByKind.get(owner.key) ?? 1) - 1;
    if (held === 0) heldByKind.delete(owner.key);
    else heldByKind.set(owner.key, held);
    this.#totals[owner.kind]--;
  }
}

/** The answer to a unit refused by its budget: 429 with a hint when to try again. */
export const overBudget = (message: string) =>
  new HttpError(429, ERROR_CODES.tooManyRequests, message, { headers: { 'retry-after': '1' } });
