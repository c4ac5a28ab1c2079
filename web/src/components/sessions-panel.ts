import { LitElement, css, html, nothing } from 'lit';
import type { UserSession } from '../../../shared/src/index.js';
import { SessionsController, otherSessions, type Confirmation, type Problem } from '../sessions/sessions-controller.js';
import { strings } from '../strings.js';
import { baseStyles, dialogStyles } from './shared-styles.js';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function localTime(epochSeconds: number) {
  const date = new Date(epochSeconds * 1000);
  return html`<time datetime=${date.toISOString()}>${when.format(date)}</time>`;
}

/**
 * "Your sessions": every browser where the user is signed in (this one marked), each other one
 * with a Sign out button, and "Sign out all other sessions". Every sign-out is confirmed in a
 * modal `<dialog>` (focus moves into it, Escape cancels, focus returns) and its result is
 * announced in a polite live region. Only renders: the SessionsController owns state and actions.
 */
export class SessionsPanel extends LitElement {
  readonly #sessions = new SessionsController(this);

  static override styles = [
    baseStyles,
    dialogStyles,
    css`
      .lead {
        margin: 0 0 8px;
      }
      ul {
        list-style: none;
        padding: 0;
        margin: 8px 0 0;
      }
      ul[aria-busy='true'] {
        opacity: 0.7;
      }
      li {
        display: flex;
        flex-wrap: wrap;
        gap: 8px 12px;
        justify-content: space-between;
        align-items: center;
        padding: 12px 0;
        border-top: 1px solid var(--divider);
      }
      .device {
        margin: 0;
        font-weight: 600;
      }
      .badge {
        display: inline-block;
        margin-inline-start: 8px;
        padding: 0 8px;
        border-radius: 999px;
        background: var(--info-bg);
        border: 1px solid var(--divider);
        font-size: 0.8rem;
        font-weight: 500;
      }
      .times {
        margin: 2px 0 0;
        font-size: 0.875rem;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 8px;
        margin-top: 16px;
      }
      .actions p {
        margin: 0;
      }
      .outcome {
        margin: 12px 0 0;
        padding: 10px 14px;
        border-radius: var(--radius-sm);
        background: var(--info-bg);
        border: 1px solid var(--divider);
      }
      dialog h3 {
        font-size: 1.05rem;
        text-transform: none;
        letter-spacing: normal;
        color: var(--text);
        margin: 0 0 8px;
      }
      dialog p {
        margin: 0 0 16px;
      }
      dialog .buttons {
        display: flex;
        justify-content: flex-end;
        gap: 8px;
      }
      button.danger {
        font-weight: 600;
        background: var(--danger);
        border-color: var(--danger);
        color: var(--surface);
      }
    `,
  ];

  override render() {
    const sessions = this.#sessions;
    return html`<section class="card" aria-labelledby="sessions-title" data-testid="sessions-panel">
      <div class="heading">
        <h2 id="sessions-title">${strings.sessions.title}</h2>
        <button class="quiet" type="button" data-testid="sessions-refresh" ?disabled=${sessions.busy} @click=${() => void sessions.reload()}>${strings.sessions.refresh}</button>
      </div>
      <p class="lead muted">${strings.sessions.lead}</p>
      ${sessions.render({
        loading: () => html`<p class="muted" role="status">${strings.sessions.loading}</p>`,
        list: (list, refreshing) => this.#list(list, refreshing),
        failed: (problem) => this.#failed(problem, () => void sessions.reload()),
      })}
      <div role="status" aria-live="polite">
        ${sessions.outcome ? html`<p class="outcome" data-testid="sessions-outcome" tabindex="-1">${sessions.outcome}</p>` : nothing}
      </div>
      ${sessions.problem ? this.#failed(sessions.problem) : nothing}
      ${this.#dialog(sessions.confirming)}
    </section>`;
  }

  #list(list: readonly UserSession[], refreshing: boolean) {
    const others = list.filter((session) => !session.current).length;
    return html`<ul aria-label=${strings.sessions.listLabel} aria-busy=${refreshing ? 'true' : 'false'}>
        ${list.map((session) => this.#item(session))}
      </ul>
      <div class="actions">
        ${
          others > 0
            ? html`<button type="button" data-testid="sessions-end-others" ?disabled=${this.#sessions.busy} @click=${() => this.#sessions.ask()}>
              ${strings.sessions.signOutOthers}
            </button>`
            : html`<p class="muted" data-testid="sessions-only-this">${strings.sessions.onlyThis}</p>`
        }
      </div>`;
  }

  #item(session: UserSession) {
    return html`<li data-testid="session-item" data-current=${session.current ? 'true' : 'false'}>
      <div>
        <p class="device">
          <span data-testid="session-device">${session.device}</span>${session.current ? html`<span class="badge">${strings.sessions.thisDevice}</span>` : nothing}
        </p>
        <p class="times muted">${strings.sessions.times(localTime(session.createdAt), localTime(session.lastActiveAt))}</p>
      </div>
      ${
        session.current
          ? nothing
          : html`<button
            class="quiet"
            type="button"
            data-testid="session-end"
            aria-label=${strings.sessions.signOutLabel(session.device, when.format(session.createdAt * 1000))}
            ?disabled=${this.#sessions.busy}
            @click=${() => this.#sessions.ask(session)}
          >
            ${strings.sessions.signOut}
          </button>`
      }
    </li>`;
  }

  #failed({ title, message }: Problem, retry?: () => void) {
    return html`<div class="alert" role="alert" data-testid="sessions-error" tabindex="-1">
      <strong>${title}</strong>
      <p>${message}</p>
      ${retry ? html`<button type="button" @click=${retry}>${strings.app.tryAgain}</button>` : nothing}
    </div>`;
  }

  /** The confirmation, as a modal dialog: Cancel is the default (focused first), Escape cancels. */
  #dialog(confirming: Confirmation | undefined) {
    const [title, text] =
      confirming?.kind === 'one'
        ? [strings.sessions.confirmOneTitle(confirming.session.device), strings.sessions.confirmOneText]
        : [strings.sessions.confirmOthersTitle(otherSessions(confirming?.count ?? 0)), strings.sessions.confirmOthersText];
    return html`<dialog aria-labelledby="confirm-title" aria-describedby="confirm-text" data-testid="sessions-confirm" @close=${this.#closed}>
      <form method="dialog">
        <h3 id="confirm-title">${title}</h3>
        <p id="confirm-text">${text}</p>
        <div class="buttons">
          <button type="submit" value="cancel" autofocus>${strings.sessions.cancel}</button>
          <button type="submit" value="confirm" class="danger" data-testid="sessions-confirm-yes">${strings.sessions.signOut}</button>
        </div>
      </form>
    </dialog>`;
  }

  override updated(): void {
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog) return;
    if (this.#sessions.confirming && !dialog.open) dialog.showModal();
    if (!this.#sessions.confirming && dialog.open) dialog.close();
  }

  #closed = async (event: Event) => {
    const dialog = event.target as HTMLDialogElement;
    const confirmed = dialog.returnValue === 'confirm';
    dialog.returnValue = '';
    if (!confirmed) {
      this.#sessions.cancel();
      return;
    }
    await this.#sessions.confirm();
    await this.updateComplete;
    // The pressed button may be gone with its row: put focus on the result, which is also announced.
    const active = this.shadowRoot?.activeElement;
    if (!active || !active.isConnected || active === dialog) {
      this.renderRoot.querySelector<HTMLElement>('[data-testid="sessions-outcome"], [data-testid="sessions-error"]')?.focus();
    }
  };
}

customElements.define('sessions-panel', SessionsPanel);
declare global {
  interface HTMLElementTagNameMap {
    'sessions-panel': SessionsPanel;
  }
}
