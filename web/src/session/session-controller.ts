import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { AUTH_CHANNEL, type BffStatus, type SessionEndReason, type UserInfo } from '../../../shared/src/index.js';
import { type ApiError, describeError, getUser, isUnauthorized, loginUrl, onUnauthorized } from '../api/bff-client.js';
import { clearDrafts, setDraftOwner } from '../drafts/draft-store.js';
import { SESSION_MESSAGES, nextCheckDelay, parseChannelMessage, reasonMessage, type ChannelMessage } from './session-logic.js';
import { signInAgain } from './silent-sign-in.js';

/** What the app knows about the user; every view renders from this alone. */
export type AuthState =
  | { status: 'loading' }
  /** `reason`: why a session ended (the BFF's), when one did; then Sign in tries without a prompt first. */
  | { status: 'signed-out'; message?: string; reason?: SessionEndReason }
  | { status: 'signed-in'; user: UserInfo }
  | { status: 'error'; title: string; message: string };

export interface SessionControllerOptions {
  /** Shown if the first check finds no session (e.g. the readable `login_error` message). */
  initialMessage?: string;
  /** Re-check after a failed background check (network, 503) this much later. Default 30 s. */
  retryDelayMs?: number;
  /**
   * Whether the cookie names a live session, asked once before the first `/bff/user` (the app
   * passes `GET /bff/status`, whose `reason` says why not): when false the page is signed out
   * without a 401.
   */
  signedIn?: () => Promise<boolean | BffStatus>;
}

/**
 * Owns the authentication state of the page. It
 * - asks `GET /bff/user` on connect (401 = signed out, 200 = signed in, else an error with retry),
 *   unless the `signedIn` hint already said there is no session;
 *   every later check it makes by itself (timers, visibility, other tabs, back/forward cache)
 *   is a background check with `slide=false`, so an open tab never keeps an unused session alive;
 * - signs the page out when any call answers 401 (via `onUnauthorized` of the BFF client);
 * - re-checks when the tab becomes visible again, when the page comes back from the back/forward
 *   cache, and by a timer just after the session's idle or absolute end, so a waking tab shows
 *   "Your session expired" instead of stale data;
 * - keeps tabs in step over a BroadcastChannel (AUTH_CHANNEL): sign-out in one tab signs out
 *   the others, a sign-in makes signed-out tabs look again. Messages carry no secrets.
 * Sign-in and sign-out are full-page navigations to the BFF; nothing is ever stored in the page.
 */
export class SessionController implements ReactiveController {
  state: AuthState = { status: 'loading' };

  readonly #host: ReactiveControllerHost;
  readonly #retryDelayMs: number;
  #initialMessage: string | undefined;
  #channel: BroadcastChannel | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopListening: (() => void) | undefined;
  /** Incremented per check; a check whose number is no longer current drops its answer. */
  #generation = 0;
  #inFlight: AbortController | undefined;
  #leaving = false;
  /** Asked once, before the first `/bff/user`: false means signed out, and no 401 is asked for. */
  #signedInHint: (() => Promise<boolean | BffStatus>) | undefined;
  /** Told about every message from other tabs (the expiry warning listens here). */
  readonly #channelListeners = new Set<(message: ChannelMessage) => void>();

  constructor(host: ReactiveControllerHost, options: SessionControllerOptions = {}) {
    this.#host = host;
    this.#initialMessage = options.initialMessage;
    this.#signedInHint = options.signedIn;
    this.#retryDelayMs = options.retryDelayMs ?? 30_000;
    host.addController(this);
  }

  hostConnected(): void {
    this.#stopListening = onUnauthorized(this.#onUnauthorized);
    if (typeof BroadcastChannel !== 'undefined') {
      this.#channel = new BroadcastChannel(AUTH_CHANNEL);
      this.#channel.addEventListener('message', this.#onChannelMessage);
    }
    document.addEventListener('visibilitychange', this.#onVisibilityChange);
    window.addEventListener('pageshow', this.#onPageShow);
    void this.refresh();
  }

  hostDisconnected(): void {
    this.#stopListening?.();
    this.#stopListening = undefined;
    this.#channel?.removeEventListener('message', this.#onChannelMessage);
    this.#channel?.close();
    this.#channel = undefined;
    document.removeEventListener('visibilitychange', this.#onVisibilityChange);
    window.removeEventListener('pageshow', this.#onPageShow);
    this.#cancelCheck();
    clearTimeout(this.#timer);
  }

  /**
   * Asks `/bff/user` who is signed in. From the error state (a Retry button) it shows loading
   * first; from the signed-in state it is a quiet check that only changes the view when the
   * session is gone. `background` checks (not asked for by the user) do not slide the idle timeout.
   */
  async refresh({ background = false }: { background?: boolean } = {}): Promise<void> {
    if (this.#leaving) return;
    const before = this.state;
    this.#cancelCheck();
    const generation = ++this.#generation;
    const controller = new AbortController();
    this.#inFlight = controller;
    clearTimeout(this.#timer);
    if (before.status === 'error') this.#set({ status: 'loading' });

    try {
      // A signed-out page learns it from the hint (GET /bff/status), not from a 401 the browser
      // would log as an error; a failed hint is no answer, and /bff/user decides.
      const hint = this.#signedInHint;
      this.#signedInHint = undefined;
      const status = hint && before.status === 'loading' ? await hint().catch(() => true) : true;
      if (status === false || (typeof status === 'object' && !status.signedIn)) {
        if (generation !== this.#generation) return;
        this.#inFlight = undefined;
        // A page loaded after its session ended says why (a first visit, `no_session`, says nothing).
        const reason = typeof status === 'object' && status.reason !== 'no_session' ? status.reason : undefined;
        const message = this.#initialMessage ?? reasonMessage(reason);
        this.#initialMessage = undefined;
        this.#signedOut(message, reason);
        return;
      }
      const user = await getUser(controller.signal, { slide: !background });
      if (generation !== this.#generation) return;
      this.#inFlight = undefined;
      this.#initialMessage = undefined;
      setDraftOwner(user.sub);
      this.#set({ status: 'signed-in', user });
      this.#schedule(nextCheckDelay(user, Date.now()));
      if (before.status !== 'signed-in') this.post({ type: 'signed-in' });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#inFlight = undefined;
      if (isUnauthorized(error)) {
        // A session this page knew ended: say why. On a first look, only a session that ended
        // is worth a word (`no_session` there is a first visit).
        const known = before.status === 'signed-in' ? before.user : undefined;
        const reason = known ? (error.reason ?? 'no_session') : error.reason === 'no_session' ? undefined : error.reason;
        const message = this.#initialMessage ?? reasonMessage(known ? error.reason : reason, known);
        this.#initialMessage = undefined;
        this.#signedOut(message, reason);
      } else if (before.status === 'signed-in') {
        // A background check failed (offline after waking, BFF briefly unavailable): keep the
        // page as it is and look again soon; the next real call reports its own error.
        this.#schedule(this.#retryDelayMs);
      } else {
        const { title, message } = describeError(error);
        this.#set({ status: 'error', title, message });
      }
    }
  }

  /**
   * Full-page navigation to the BFF's login, which redirects to the provider and back here (the
   * same view: `returnTo`). After a session ended ("Sign in again"), or with `again`, it first tries
   * without a prompt (silent-sign-in.ts): a user still signed in at the provider types nothing.
   */
  signIn({
    again = this.state.status === 'signed-out' && this.state.reason !== undefined,
    returnTo = `${window.location.pathname}${window.location.search}`,
  }: { again?: boolean; returnTo?: string } = {}): void {
    this.#leaving = true;
    if (again) signInAgain(returnTo, window.location);
    else window.location.assign(loginUrl(returnTo));
  }

  /** "Stay signed in": one sliding `/bff/user`, which moves the idle end; the other tabs are told. */
  async extend(): Promise<void> {
    await this.refresh();
    if (this.state.status === 'signed-in') this.post({ type: 'expiry-extended' });
  }

  /** Calls `listener` with every message other tabs send (see ChannelMessage); returns the unsubscribe. */
  onChannelMessage(listener: (message: ChannelMessage) => void): () => void {
    this.#channelListeners.add(listener);
    return () => this.#channelListeners.delete(listener);
  }

  /** Tells the other tabs, then navigates to the guarded logout URL (the BFF ends the session). */
  signOut(): void {
    if (this.state.status !== 'signed-in' || this.#leaving) return;
    const { logoutUrl } = this.state.user;
    this.#leaving = true;
    this.#cancelCheck();
    clearTimeout(this.#timer);
    this.post({ type: 'signed-out' });
    clearDrafts(); // a deliberate sign-out leaves nothing typed behind on this device
    window.location.assign(logoutUrl);
  }

  /** True once sign-in or sign-out navigation has started (buttons can show that). */
  get leaving(): boolean {
    return this.#leaving;
  }

  #onUnauthorized = (error: ApiError) => {
    // A 401 to a check in flight is that check's business (it knows the context).
    if (this.#inFlight || this.#leaving) return;
    const before = this.state;
    const reason = error.reason ?? 'no_session';
    if (before.status === 'signed-in') this.#signedOut(reasonMessage(error.reason, before.user), reason);
    else if (before.status !== 'signed-out') this.#signedOut(SESSION_MESSAGES.ended, reason);
  };

  #onChannelMessage = (event: MessageEvent<unknown>) => {
    const message = parseChannelMessage(event.data);
    if (!message || this.#leaving) return;
    if (message.type === 'signed-out') {
      if (this.state.status === 'signed-out') return;
      this.#cancelCheck();
      this.#signedOut(SESSION_MESSAGES.otherTab, 'signed_out');
    } else if (message.type === 'signed-in') {
      if (this.state.status !== 'signed-in') void this.refresh({ background: true });
    } else {
      for (const listener of [...this.#channelListeners]) listener(message);
    }
  };

  #onVisibilityChange = () => {
    if (document.visibilityState !== 'visible') return;
    if (this.state.status === 'signed-in' || this.state.status === 'error') void this.refresh({ background: true });
  };

  #onPageShow = (event: PageTransitionEvent) => {
    // Restored from the back/forward cache: whatever the page showed may be long out of date.
    if (event.persisted) {
      this.#leaving = false;
      void this.refresh({ background: true });
    }
  };

  #schedule(delayMs: number) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refresh({ background: true }), delayMs);
  }

  #cancelCheck() {
    this.#generation++;
    this.#inFlight?.abort();
    this.#inFlight = undefined;
  }

  /** Tells the other tabs (facts only: see ChannelMessage). */
  post(message: ChannelMessage) {
    try {
      this.#channel?.postMessage(message);
    } catch {
      // a closed channel: nothing to tell
    }
  }

  #signedOut(message?: string, reason?: SessionEndReason) {
    clearTimeout(this.#timer);
    this.#set({ status: 'signed-out', ...(message === undefined ? {} : { message }), ...(reason === undefined ? {} : { reason }) });
  }

  #set(state: AuthState) {
    this.state = state;
    this.#host.requestUpdate();
  }
}
