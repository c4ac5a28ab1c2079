import { LitElement, css, html, nothing } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { getStatus } from '../api/bff-client.js';
import { ConfigController } from '../config/config-controller.js';
// demo:start
import { signedInDemoPanels, signedOutDemoPanels } from '../demo/demo-panels.js';
// demo:end
import { takeLoginError } from '../login-errors.js';
import { ExpiryController } from '../session/expiry-controller.js';
import { SessionController } from '../session/session-controller.js';
import { displayName } from '../session/session-logic.js';
import { takeSilentFallback } from '../session/silent-sign-in.js';
import { strings } from '../strings.js';
import { baseStyles } from './shared-styles.js';
import './expiry-dialog.js';
import './me-panel.js';
import './sessions-panel.js';
import './step-up-prompt.js';
import type { SignedOutView } from './signed-out-view.js';
import './signed-out-view.js';
import type { UserPanel } from './user-panel.js';
import './user-panel.js';

/**
 * The page frame: a header with the app name and, when signed in, the user's name and Sign out;
 * below it the view for the current auth state (loading, signed out, error, signed in).
 * Owns the SessionController and the ConfigController (which routes exist: panels that call an
 * API show only when theirs does); moves focus to the new view when the state changes. Shows
 * the warning before the session ends (ExpiryController) over whatever view is on.
 */
export class AppShell extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        max-width: 1040px;
        margin: 0 auto;
        padding: 0 clamp(12px, 4vw, 24px) 48px;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        gap: 8px 16px;
        align-items: center;
        justify-content: space-between;
        padding: 16px 0;
        margin-bottom: clamp(16px, 4vw, 24px);
        border-bottom: 1px solid var(--divider);
      }
      .brand {
        display: flex;
        align-items: center;
        gap: 10px;
        font-size: 1.25rem;
        font-weight: 700;
        margin: 0;
      }
      .logo {
        width: 28px;
        height: 28px;
        border-radius: 8px;
        background: linear-gradient(135deg, var(--accent), var(--focus));
        flex: none;
      }
      .who {
        display: flex;
        align-items: center;
        gap: 12px;
        min-width: 0;
        margin-inline-start: auto;
      }
      .name {
        font-weight: 500;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        max-width: 40vw;
      }
      .grid {
        display: grid;
        gap: clamp(16px, 3vw, 24px);
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr));
        align-items: start;
      }
      /* A list with several facts per row reads best across the whole width. */
      sessions-panel {
        grid-column: 1 / -1;
      }
      .loading {
        text-align: center;
        margin-top: 48px;
      }
      .problem {
        max-width: 480px;
        margin: clamp(16px, 8vh, 64px) auto 0;
        padding: 16px 20px;
      }
    `,
  ];

  readonly #config = new ConfigController(this);
  /** This page answers a silent sign-in the provider refused: where to sign in interactively (read before the error is taken). */
  readonly #fallback = takeSilentFallback(window.location);
  readonly #loginError = takeLoginError(window.location, window.history);
  readonly #session = new SessionController(this, {
    initialMessage: this.#fallback === undefined ? this.#loginError : undefined,
    signedIn: () => getStatus(),
  });
  readonly #expiry = new ExpiryController(this, this.#session);

  constructor() {
    super();
    // "Sign in again" found no session at the provider: now the interactive sign-in, to the same view.
    if (this.#fallback !== undefined) this.#session.signIn({ again: false, returnTo: this.#fallback });
  }
  /** The state the focus was last moved for, so a re-render of the same state leaves focus alone. */
  #focusedFor: string | undefined;

  override render() {
    const state = this.#session.state;
    return html`
      <header>
        <h1 class="brand"><span class="logo" aria-hidden="true"></span>${strings.app.name}</h1>
        ${
          state.status === 'signed-in'
            ? html`<div class="who">
              <span class="name" data-testid="user-name" title=${displayName(state.user)}>${displayName(state.user)}</span>
              <button type="button" data-testid="signout" ?disabled=${this.#session.leaving} @click=${this.#signOut}>${strings.app.signOut}</button>
            </div>`
            : nothing
        }
      </header>
      <main>${this.#view()}</main>
      ${this.#warning()}
    `;
  }

  /** The expiry warning, while it shows (a new element for each kind, so focus moves into it again). */
  #warning() {
    const warning = this.#expiry.warning;
    const state = this.#session.state;
    if (!warning || state.status !== 'signed-in') return nothing;
    return keyed(
      warning.kind,
      html`<expiry-dialog
        kind=${warning.kind}
        .endsAt=${warning.endsAt}
        .now=${Date.now()}
        .idleTimeout=${state.user.session.idleTimeout}
        ?failed=${this.#expiry.failed}
        ?busy=${this.#session.leaving}
        @stay=${() => void this.#expiry.stay()}
        @sign-in-again=${() => this.#expiry.signInAgain()}
        @not-now=${() => this.#expiry.notNow()}
      ></expiry-dialog>`,
    );
  }

  #view() {
    const state = this.#session.state;
    const routes = this.#config.routes;
    switch (state.status) {
      case 'loading':
        return html`<p class="loading muted" role="status">${strings.app.checkingSession}</p>`;
      case 'signed-out':
        // The demo's parts are marked for `npm run strip-demo` (HTML comments inside a template).
        return html`<signed-out-view
            .message=${state.message}
            ?again=${state.reason !== undefined}
            ?busy=${this.#session.leaving}
            @sign-in=${this.#signIn}
          ></signed-out-view>
          <!-- demo:start -->
          ${routes ? signedOutDemoPanels(routes) : nothing}
          <!-- demo:end -->
        `;
      case 'error':
        return html`<div class="alert problem" role="alert" data-testid="auth-message">
          <strong id="problem-title" tabindex="-1">${state.title}</strong>
          <p>${state.message}</p>
          <button type="button" class="primary" data-testid="auth-retry" @click=${() => void this.#session.refresh()}>${strings.app.tryAgain}</button>
        </div>`;
      case 'signed-in':
        return html`<div class="grid">
          <user-panel .user=${state.user}></user-panel>
          ${routes ? html`<me-panel .routes=${routes}></me-panel>` : nothing}
          <!-- demo:start -->
          ${routes ? signedInDemoPanels(routes) : nothing}
          <!-- demo:end -->
          <sessions-panel></sessions-panel>
        </div>
        <step-up-prompt></step-up-prompt>`;
    }
  }

  override updated(): void {
    const state = this.#session.state;
    const key = state.status === 'signed-out' ? `signed-out:${state.message ?? ''}` : state.status;
    if (key === this.#focusedFor) return;
    this.#focusedFor = key;
    if (state.status !== 'loading') void this.#focusView();
  }

  /**
   * After a state change, put focus at the start of the new view (the user panel's heading
   * after sign-in, the message when signed out, the error title), but only if focus is not
   * somewhere the user put it: the old view's focused element is gone, so focus is on the body.
   */
  async #focusView() {
    const active = document.activeElement;
    if (active && active !== document.body && active !== this) return;
    if (active === this && this.shadowRoot?.activeElement?.isConnected) return;
    const view = this.renderRoot.querySelector<SignedOutView | UserPanel>('signed-out-view, user-panel');
    if (view) {
      await view.updateComplete;
      view.focusStart();
    } else {
      this.renderRoot.querySelector<HTMLElement>('#problem-title')?.focus();
    }
  }

  #signIn = () => {
    this.#session.signIn();
    this.requestUpdate();
  };

  #signOut = () => {
    this.#session.signOut();
    this.requestUpdate();
  };
}

customElements.define('app-shell', AppShell);
declare global {
  interface HTMLElementTagNameMap {
    'app-shell': AppShell;
  }
}
