/*
 * Unsent form input, kept in this tab's sessionStorage so that a session ending (a timeout, a
 * sign-out elsewhere) loses nothing the user typed: after signing in again they are back on the
 * same view (`returnTo`) with it restored. Only what the user typed is kept, never a token or
 * anything the BFF sent; each draft names the user it belongs to, so another user signing in
 * in this tab never sees it, and a deliberate sign-out clears them all.
 */

const PREFIX = 'bff-draft:';

type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>;

/** Whose drafts are read and written now (the signed-in user's `sub`); set by the session controller. */
let owner: string | undefined;

/** The signed-in user (undefined while nobody is): drafts of anyone else are not restored. */
export function setDraftOwner(sub: string | undefined): void {
  owner = sub;
}

/** The storage key of a field's draft on the current view. */
function keyOf(name: string, path: string): string {
  return `${PREFIX}${path}#${name}`;
}

function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined; // storage disabled: drafts are simply not kept
  }
}

/** Keeps `value` as the draft of field `name` on view `path` (an empty value removes it). */
export function saveDraft(name: string, path: string, value: string, store = storage()): void {
  if (!store) return;
  try {
    if (value === '' || owner === undefined) store.removeItem(keyOf(name, path));
    else store.setItem(keyOf(name, path), JSON.stringify({ owner, value }));
  } catch {
    // quota exceeded: the draft is not kept, the form works as before
  }
}

/** The draft of field `name` on view `path` for the current user, if any; a draft of anyone else is dropped. */
export function loadDraft(name: string, path: string, store = storage()): string | undefined {
  const raw = store?.getItem(keyOf(name, path));
  if (raw == null) return undefined;
  try {
    const draft = JSON.parse(raw) as { owner?: unknown; value?: unknown };
    if (owner !== undefined && draft.owner === owner && typeof draft.value === 'string') return draft.value;
  } catch {
    // not ours to read: dropped below
  }
  store!.removeItem(keyOf(name, path));
  return undefined;
}

/** Forgets the draft of field `name` on view `path` (it was sent). */
export function clearDraft(name: string, path: string, store = storage()): void {
  store?.removeItem(keyOf(name, path));
}

/** Forgets every draft (a deliberate sign-out). */
export function clearDrafts(store = storage()): void {
  if (!store) return;
  const keys: string[] = [];
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key?.startsWith(PREFIX)) keys.push(key);
  }
  for (const key of keys) store.removeItem(key);
}
