import { afterEach, describe, expect, it } from 'vitest';
import { clearDraft, clearDrafts, loadDraft, saveDraft, setDraftOwner } from './draft-store.js';

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    get length() {
      return items.size;
    },
    key: (index: number) => [...items.keys()][index] ?? null,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe('drafts of unsent input', () => {
  afterEach(() => setDraftOwner(undefined));

  it('keeps what a user typed per view and field, and gives it back to that user only', () => {
    const storage = memoryStorage();
    setDraftOwner('alice');
    saveDraft('note', '/', 'half a thought', storage);
    expect(loadDraft('note', '/', storage)).toBe('half a thought');
    expect(loadDraft('note', '/other', storage)).toBeUndefined();
    setDraftOwner('bob');
    expect(loadDraft('note', '/', storage)).toBeUndefined();
    expect(storage.items.size).toBe(0); // another user's draft is dropped, not kept for later
  });

  it('forgets a sent draft, an emptied field, and every draft at sign-out', () => {
    const storage = memoryStorage();
    storage.setItem('unrelated', 'kept');
    setDraftOwner('alice');
    saveDraft('a', '/', 'one', storage);
    saveDraft('a', '/', '', storage);
    expect(loadDraft('a', '/', storage)).toBeUndefined();
    saveDraft('b', '/', 'two', storage);
    clearDraft('b', '/', storage);
    expect(loadDraft('b', '/', storage)).toBeUndefined();
    saveDraft('c', '/', 'three', storage);
    saveDraft('d', '/x', 'four', storage);
    clearDrafts(storage);
    expect([...storage.items.keys()]).toEqual(['unrelated']);
  });

  it('keeps nothing while nobody is signed in', () => {
    const storage = memoryStorage();
    saveDraft('note', '/', 'typed while signed out', storage);
    expect(storage.items.size).toBe(0);
  });
});
