import { LitElement, css, html } from 'lit';
import { baseStyles } from './shared-styles.js';
import type { UserInfo } from '../../../shared/src/index.js';

const time = (epochSeconds: number) => new Date(epochSeconds * 1000).toLocaleString();

/** Who is signed in: name, email, every claim, and when the session ends. */
export class UserPanel extends LitElement {
  static override properties = { user: { attribute: false } };
  declare user: UserInfo;

  static override styles = [
    baseStyles,
    css`
    h2 {
      margin: 0 0 4px;
      font-size: 1.1rem;
    }
    .email {
      color: var(--muted);
      margin: 0 0 16px;
    }
    dl {
      display: grid;
      grid-template-columns: max-content 1fr;
      gap: 4px 16px;
      margin: 0;
      font-size: 0.9rem;
    }
    dt {
      color: var(--muted);
    }
    dd {
      margin: 0;
      overflow-wrap: anywhere;
    }
    h3 {
      font-size: 0.95rem;
      margin: 20px 0 8px;
    }
  `,
  ];

  override render() {
    const { claims, session, sub } = this.user;
    return html`<section aria-labelledby="user-title">
      <h2 id="user-title">${String(claims.name ?? sub)}</h2>
      ${claims.email ? html`<p class="email">${String(claims.email)}</p>` : null}
      <h3>Session</h3>
      <dl>
        <dt>Ends if idle at</dt>
        <dd>${time(session.idleExpiresAt)}</dd>
        <dt>Ends at the latest</dt>
        <dd>${time(session.expiresAt)}</dd>
      </dl>
      <h3>Claims</h3>
      <dl data-testid="claims">
        ${Object.entries({ sub, ...claims }).map(([name, value]) => html`<dt>${name}</dt><dd>${typeof value === 'string' ? value : JSON.stringify(value)}</dd>`)}
      </dl>
    </section>`;
  }
}

customElements.define('user-panel', UserPanel);
declare global {
  interface HTMLElementTagNameMap {
    'user-panel': UserPanel;
  }
}
