import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { AUTH_CHANNEL, type UserInfo } from '../../../shared/src/index.js';
import { ApiError, getUser, loginUrl, onUnauthorized } from '../api/bff-client.js';

/** What the app knows about the user; every view renders from this alone. */
export type AuthState =
  | { status: 'loading' }
  | { status: 'signed-out'; message?: string }
  | { status: 'signed-in'; user: UserInfo }
  | { status: 'error'; message: string };

/** Messages other tabs send; they carry no secret, only the fact. */
type ChannelMessage = { type: 'signed-out' } | { type: 'signed-in' };

const EXPIRED = 'Your session expired. Please sign in again.';
const ENDED = 'Your session ended. Please sign in again.';

/**
 * Owns the authentication state: loads `/bff/user`, follows 401s from any call, re-checks when
 * the tab becomes visible again or the session's expiry passes, and keeps tabs in step through
 * a BroadcastChannel (sign-out in one tab signs out the others).
 */
export class SessionController implements ReactiveController {
  state: AuthState = { status: 'loading' };
  #channel: BroadcastChannel | undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopListening: (() => void) | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly initialMessage?: string,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.#stopListening = onUnauthorized(() => this.#signedOut(ENDED));
    if (typeof BroadcastChannel !== 'undefined') {
      this.#channel = new BroadcastChannel(AUTH_CHANNEL);
      this.#channel.onmessage = (event: MessageEvent<ChannelMessage>) => {
        if (event.data?.type === 'signed-out') this.#signedOut('You signed out in another tab.');
        if (event.data?.type === 'signed-in' && this.state.status !== 'signed-in') void this.load();
      };
    }
    document.addEventListener('visibilitychange', this.#onVisible);
    void this.load(this.initialMessage);
  }

  hostDisconnected(): void {
    this.#stopListening?.();
    this.#channel?.close();
    clearTimeout(this.#expiryTimer);
    document.removeEventListener('visibilitychange', this.#onVisible);
  }

  /** (Re)loads the user. `signedOutMessage` explains a signed-out result (e.g. an expiry). */
  async load(signedOutMessage?: string): Promise<void> {
    const wasSignedIn = this.state.status === 'signed-in';
    try {
      const user = await getUser();
      this.#set({ status: 'signed-in', user });
      this.#scheduleExpiryCheck(user);
      if (!wasSignedIn) this.#channel?.postMessage({ type: 'signed-in' } satisfies ChannelMessage);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.#signedOut(wasSignedIn ? (signedOutMessage ?? ENDED) : signedOutMessage);
      else this.#set({ status: 'error', message: error instanceof Error ? error.message : 'Something went wrong.' });
    }
  }

  /** Full-page navigation to the BFF, which redirects to the provider. */
  signIn(): void {
    window.location.assign(loginUrl(`${window.location.pathname}${window.location.search}`));
  }

  /** Tells the other tabs, then lets the BFF end the session (it redirects to the provider). */
  signOut(): void {
    if (this.state.status !== 'signed-in') return;
    this.#channel?.postMessage({ type: 'signed-out' } satisfies ChannelMessage);
    window.location.assign(this.state.user.logoutUrl);
  }

  #onVisible = () => {
    if (document.visibilityState === 'visible' && this.state.status === 'signed-in') void this.load(EXPIRED);
  };

  #scheduleExpiryCheck(user: UserInfo) {
    clearTimeout(this.#expiryTimer);
    const endsAt = Math.min(user.session.expiresAt, user.session.idleExpiresAt) * 1000;
    // Timers clamp at ~24.8 days; a check at least daily is plenty.
    const delay = Math.min(Math.max(endsAt - Date.now() + 1000, 1000), 24 * 3600 * 1000);
    this.#expiryTimer = setTimeout(() => void this.load(EXPIRED), delay);
  }

  #signedOut(message?: string) {
    clearTimeout(this.#expiryTimer);
    this.#set({ status: 'signed-out', message });
  }

  #set(state: AuthState) {
    this.state = state;
    this.host.requestUpdate();
  }
}
