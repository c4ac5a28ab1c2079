import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { UserInfo } from '../../../shared/src/index.js';
import type { SessionController } from './session-controller.js';
import { nextEnd, warningLeadMs, type ChannelMessage, type SessionEnd } from './session-logic.js';

/** How often the countdown moves. */
const TICK_MS = 1000;

/**
 * The warning before the session ends (WCAG 2.2.1 Timing Adjustable): from two minutes
 * (warningLeadMs) before the idle end, "Stay signed in" (one sliding `/bff/user`); before the absolute end, when
 * it ends and "Sign in again". Before it shows, the session is looked at again (another tab's use
 * may have moved the idle end). All tabs show and put it away together: a tab that starts
 * warning, extends the session or dismisses the warning says so on the AUTH_CHANNEL, and the
 * others look at the session again (or dismiss) in turn. The element renders; this decides.
 */
export class ExpiryController implements ReactiveController {
  /** The end being warned about, while the warning shows. */
  warning: SessionEnd | undefined;
  /** "Stay signed in" failed (network, 503): the dialog says so and stays. */
  failed = false;

  readonly #host: ReactiveControllerHost;
  readonly #session: SessionController;
  #user: UserInfo | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  /** The absolute end the user put away ("Not now"): not warned about again. */
  #dismissed: number | undefined;
  #stopListening: (() => void) | undefined;

  constructor(host: ReactiveControllerHost, session: SessionController) {
    this.#host = host;
    this.#session = session;
    host.addController(this);
  }

  hostConnected(): void {
    this.#stopListening = this.#session.onChannelMessage(this.#onMessage);
  }

  hostDisconnected(): void {
    this.#stopListening?.();
    this.#stop();
  }

  hostUpdated(): void {
    const state = this.#session.state;
    const user = state.status === 'signed-in' ? state.user : undefined;
    if (user === this.#user) return;
    this.#user = user;
    if (user) this.#plan(user);
    else this.#stop();
  }

  /** "Stay signed in": slides the idle end (the other tabs are told), then the warning goes. */
  async stay(): Promise<void> {
    this.failed = false;
    await this.#session.extend();
    // Still signed in but no new answer (a failed call keeps the page as it was): say so.
    if (this.#session.state.status === 'signed-in' && this.#session.state.user === this.#user && this.warning) this.failed = true;
    this.#host.requestUpdate();
  }

  /** "Sign in again" before the absolute end: a new session, without a prompt where possible. */
  signInAgain(): void {
    this.#session.signIn({ again: true });
    this.#host.requestUpdate();
  }

  /** "Not now" on the absolute-end warning: put away here and in every tab. */
  notNow(): void {
    if (!this.warning) return;
    this.#dismiss(this.warning.endsAt);
    this.#session.post({ type: 'expiry-dismissed' });
  }

  #plan(user: UserInfo): void {
    clearTimeout(this.#timer);
    const end = nextEnd(user);
    const showAt = end.endsAt - warningLeadMs(user);
    const now = Date.now();
    if (now < showAt || (end.kind === 'absolute' && this.#dismissed === end.endsAt)) {
      this.#hide();
      // When it is due, the session is looked at first: the warning shows only if the end holds.
      if (now < showAt) this.#timer = setTimeout(() => void this.#session.refresh({ background: true }), showAt - now);
      return;
    }
    this.#show(end);
  }

  #show(end: SessionEnd): void {
    const first = this.warning === undefined;
    this.warning = end;
    if (first) {
      this.failed = false;
      this.#ticker = setInterval(() => this.#host.requestUpdate(), TICK_MS);
      this.#session.post({ type: 'expiry-warning' });
    }
    this.#host.requestUpdate();
  }

  #hide(): void {
    if (this.warning === undefined) return;
    this.warning = undefined;
    clearInterval(this.#ticker);
    this.#host.requestUpdate();
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#hide();
  }

  #onMessage = (message: ChannelMessage) => {
    if (this.#session.state.status !== 'signed-in') return;
    if (message.type === 'expiry-dismissed') {
      if (this.warning?.kind === 'absolute') this.#dismiss(this.warning.endsAt);
    } else {
      // Another tab warns or kept the session alive: look at the session, which shows or hides the warning here.
      void this.#session.refresh({ background: true });
    }
  };

  #dismiss(endsAt: number): void {
    this.#dismissed = endsAt;
    this.#hide();
  }
}
