import { LOGIN_ERROR_PARAM } from '../../../shared/src/index.js';
import { loginUrl } from '../api/bff-client.js';

/** sessionStorage key of a silent sign-in in progress (where it should land); never a token. */
const PENDING_KEY = 'bff-silent-sign-in';
/** A pending attempt older than this is stale (the tab was closed mid-way): never acted on. */
const PENDING_MS = 5 * 60_000;
/** The provider's answers to `prompt=none` that mean "the user has to see something": sign in interactively. */
const NEEDS_INTERACTION = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem' | 'removeItem'>;

/**
 * "Sign in again": a top-level round trip with `prompt=none` first, so a user still signed in at
 * the provider is back on `returnTo` without typing anything. The attempt is remembered in this
 * tab's sessionStorage (only where it should land), so the page it comes back to can tell a
 * refused silent attempt from any other sign-in error (see {@link takeSilentFallback}).
 */
export function signInAgain(returnTo: string, location: Pick<Location, 'assign'>, storage: Storage = sessionStorage): void {
  storage.setItem(PENDING_KEY, JSON.stringify({ returnTo, at: Date.now() }));
  location.assign(loginUrl(returnTo, { prompt: 'none' }));
}

/**
 * On page load: where to sign in interactively, when the page is the answer to a silent attempt
 * that the provider refused with `login_required` or `interaction_required` (or their kin);
 * undefined otherwise. The pending attempt is forgotten either way, so this can never loop: the
 * interactive sign-in it leads to is not silent.
 */
export function takeSilentFallback(location: Pick<Location, 'href'>, storage: Storage = sessionStorage): string | undefined {
  const raw = storage.getItem(PENDING_KEY);
  if (raw === null) return undefined;
  storage.removeItem(PENDING_KEY);
  const code = new URL(location.href).searchParams.get(LOGIN_ERROR_PARAM);
  if (code === null || !NEEDS_INTERACTION.has(code)) return undefined;
  try {
    const { returnTo, at } = JSON.parse(raw) as { returnTo?: unknown; at?: unknown };
    const fresh = typeof at === 'number' && Date.now() - at >= 0 && Date.now() - at < PENDING_MS;
    // Only a path of this app: the BFF checks returnTo again in any case.
    return fresh && typeof returnTo === 'string' && returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : undefined;
  } catch {
    return undefined;
  }
}
