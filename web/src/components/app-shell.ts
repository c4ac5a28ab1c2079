import { LitElement, css, html } from 'lit';
import { baseStyles } from './shared-styles.js';
import { takeLoginError } from '../login-errors.js';
import { SessionController } from '../session/session-controller.js';
import './notes-panel.js';
import './signed-out-view.js';
import './user-panel.js';

/** The page frame: header with the user's name and Sign out, and the view for the auth state. */
export class AppShell extends LitElement {
  static override styles = [
    baseStyles,
    css`
    :host {
      max-width: 960px;
      margin: 0 auto;
      padding: 0 16px 48px;
    }
    header {
      display: flex;
      flex-wrap: wrap;
      gap: 12px;
      align-items: center;
      justify-content: space-between;
      padding: 20px 0;
      border-bottom: 1px solid var(--border);
      margin-bottom: 24px;
    }
    h1 {
      font-size: 1.25rem;
      margin: 0;
    }
    .who {
      display: flex;
      gap: 12px;
      align-items: center;
    }
    .grid {
      display: grid;
      gap: 24px;
      grid-template-columns: repeat(auto-fit, minmax(280px, 1fr));
    }
    [role='alert'] {
      padding: 12px 16px;
      border-radius: var(--radius);
      border: 1px solid var(--danger);
    }
    .loading {
      color: var(--muted);
    }
  `,
  ];

  readonly #session = new SessionController(this, takeLoginError(window.location, window.history));

  override render() {
    const state = this.#session.state;
    return html`
      <header>
        <h1>Notes</h1>
        ${state.status === 'signed-in'
          ? html`<div class="who">
              <span data-testid="user-name">${String(state.user.claims.name ?? state.user.claims.preferred_username ?? state.user.sub)}</span>
              <button data-testid="signout" @click=${() => this.#session.signOut()}>Sign out</button>
            </div>`
          : null}
      </header>
      <main>${this.#view()}</main>
    `;
  }

  #view() {
    const state = this.#session.state;
    switch (state.status) {
      case 'loading':
        return html`<p class="loading" aria-live="polite">Loading…</p>`;
      case 'signed-out':
        return html`<signed-out-view .message=${state.message} @sign-in=${() => this.#session.signIn()}></signed-out-view>`;
      case 'error':
        return html`<div role="alert" data-testid="auth-message">
          <p>${state.message}</p>
          <button @click=${() => this.#session.load()}>Try again</button>
        </div>`;
      case 'signed-in':
        return html`<div class="grid">
          <user-panel .user=${state.user}></user-panel>
          <notes-panel></notes-panel>
        </div>`;
    }
  }
}

customElements.define('app-shell', AppShell);
declare global {
  interface HTMLElementTagNameMap {
    'app-shell': AppShell;
  }
}
