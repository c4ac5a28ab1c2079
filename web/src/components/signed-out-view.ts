import { LitElement, css, html, nothing } from 'lit';
import { strings } from '../strings.js';
import { baseStyles } from './shared-styles.js';

/**
 * The signed-out view: why the user is signed out (if known, in a polite live region) and a
 * Sign in button ("Sign in again" after a session ended). Fires `sign-in` (bubbles, composed);
 * the session controller navigates.
 */
export class SignedOutView extends LitElement {
  static override properties = {
    message: { attribute: false },
    busy: { type: Boolean },
    again: { type: Boolean },
  };
  declare message: string | undefined;
  /** A session ended (rather than a first visit): the button reads "Sign in again". */
  declare again: boolean;
  /** Sign-in navigation has started: the button shows that and cannot be pressed twice. */
  declare busy: boolean;

  constructor() {
    super();
    this.message = undefined;
    this.busy = false;
    this.again = false;
  }

  static override styles = [
    baseStyles,
    css`
      .card {
        max-width: 440px;
        margin: clamp(16px, 8vh, 64px) auto 0;
        text-align: center;
      }
      h2 {
        font-size: 1.375rem;
      }
      .message {
        margin: 0 0 16px;
        padding: 12px 16px;
        border-radius: var(--radius-sm);
        background: var(--info-bg);
        border: 1px solid var(--divider);
        text-align: start;
      }
      .lead {
        margin: 0 0 20px;
      }
      button {
        width: 100%;
        max-width: 280px;
      }
    `,
  ];

  /** Moves focus to the message (so assistive technology reads it) or, without one, to the heading. */
  focusStart(): void {
    const target =
      this.renderRoot.querySelector<HTMLElement>('[data-testid="auth-message"]') ?? this.renderRoot.querySelector<HTMLElement>('h2');
    target?.focus();
  }

  override render() {
    return html`<section class="card" aria-labelledby="signed-out-title">
      <h2 id="signed-out-title" tabindex="-1">${strings.signedOut.title}</h2>
      <div role="status" aria-live="polite">
        ${this.message ? html`<p class="message" data-testid="auth-message" tabindex="-1">${this.message}</p>` : nothing}
      </div>
      <p class="lead muted">${strings.signedOut.lead}</p>
      <button class="primary" type="button" data-testid="signin" ?disabled=${this.busy} @click=${this.#signIn}>
        ${this.busy ? strings.signedOut.redirecting : this.again ? strings.signedOut.signInAgain : strings.signedOut.signIn}
      </button>
    </section>`;
  }

  #signIn = () => {
    this.dispatchEvent(new Event('sign-in', { bubbles: true, composed: true }));
  };
}

customElements.define('signed-out-view', SignedOutView);
declare global {
  interface HTMLElementTagNameMap {
    'signed-out-view': SignedOutView;
  }
}
