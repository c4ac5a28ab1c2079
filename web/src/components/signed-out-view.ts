import { LitElement, css, html } from 'lit';
import { baseStyles } from './shared-styles.js';

/** The signed-out view: why (if known) and a Sign in button. Fires `sign-in`. */
export class SignedOutView extends LitElement {
  static override properties = { message: { attribute: false } };
  declare message: string | undefined;

  static override styles = [
    baseStyles,
    css`
    section {
      padding: 32px;
      max-width: 480px;
      margin: 48px auto;
      text-align: center;
    }
    h2 {
      margin-top: 0;
    }
    p.message {
      padding: 12px 16px;
      border-radius: var(--radius);
      background: color-mix(in srgb, var(--accent) 12%, transparent);
    }
  `,
  ];

  override render() {
    return html`<section aria-labelledby="signed-out-title">
      <h2 id="signed-out-title">Welcome</h2>
      <div aria-live="polite">${this.message ? html`<p class="message" data-testid="auth-message">${this.message}</p>` : null}</div>
      <p>Sign in to see and keep your notes.</p>
      <button class="primary" data-testid="signin" @click=${() => this.dispatchEvent(new Event('sign-in', { bubbles: true, composed: true }))}>Sign in</button>
    </section>`;
  }
}

customElements.define('signed-out-view', SignedOutView);
declare global {
  interface HTMLElementTagNameMap {
    'signed-out-view': SignedOutView;
  }
}
