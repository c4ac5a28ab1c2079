import { LitElement, css, html, nothing } from 'lit';
import type { UserInfo } from '../../../shared/src/index.js';
import { displayName } from '../session/session-logic.js';
import { strings } from '../strings.js';
import { baseStyles } from './shared-styles.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** An epoch-seconds time as a `<time>` in the user's local time zone. */
function localTime(epochSeconds: number) {
  const date = new Date(epochSeconds * 1000);
  return html`<time datetime=${date.toISOString()}>${dateTime.format(date)}</time>`;
}

/** A claim value as text: strings as they are, anything else (numbers, objects) as JSON. */
function claimText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Who is signed in: name, email, every claim the BFF passes on, and when the session ends. */
export class UserPanel extends LitElement {
  static override properties = { user: { attribute: false } };
  declare user: UserInfo | undefined;

  constructor() {
    super();
    this.user = undefined;
  }

  static override styles = [
    baseStyles,
    css`
      .email {
        margin: -8px 0 0;
        overflow-wrap: anywhere;
      }
      dl {
        display: grid;
        grid-template-columns: minmax(6rem, max-content) minmax(0, 1fr);
        gap: 6px 16px;
        margin: 0;
        font-size: 0.925rem;
      }
      dt {
        color: var(--muted);
        overflow-wrap: anywhere;
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      .claims dd {
        font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
        font-size: 0.85rem;
      }
      @media (max-width: 420px) {
        dl {
          grid-template-columns: minmax(0, 1fr);
          gap: 0;
        }
        dd + dt {
          margin-top: 8px;
        }
      }
    `,
  ];

  /** Moves focus to the panel's heading (used after sign-in). */
  focusStart(): void {
    this.renderRoot.querySelector<HTMLElement>('h2')?.focus();
  }

  override render() {
    if (!this.user) return nothing;
    const { claims, session, sub } = this.user;
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    return html`<section class="card" aria-labelledby="user-title">
      <h2 id="user-title" tabindex="-1">${strings.user.signedInAs(displayName(this.user))}</h2>
      ${email ? html`<p class="email muted">${email}</p>` : nothing}
      <h3 id="session-title">${strings.user.session}</h3>
      <dl aria-labelledby="session-title">
        <dt>${strings.user.idleEnd}</dt>
        <dd data-testid="session-idle-expiry">${localTime(session.idleExpiresAt)}</dd>
        <dt>${strings.user.absoluteEnd}</dt>
        <dd data-testid="session-expiry">${localTime(session.expiresAt)}</dd>
      </dl>
      <h3 id="claims-title">${strings.user.claims}</h3>
      <dl class="claims" aria-labelledby="claims-title" data-testid="claims">
        ${Object.entries({ sub, ...claims }).map(([name, value]) => html`<dt>${name}</dt><dd>${claimText(value)}</dd>`)}
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
