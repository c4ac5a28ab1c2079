import { LitElement, css, html, nothing } from 'lit';
import { formatCountdown } from '../session/session-logic.js';
import { strings } from '../strings.js';
import { baseStyles, dialogStyles } from './shared-styles.js';

const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/**
 * The warning before the session ends: a modal `alertdialog` (focus moves to its first button,
 * Tab stays inside, Escape answers it) with a visible countdown. `kind` says which end comes:
 * `idle` offers "Stay signed in" (Escape too: pressing a key shows the user is there); `absolute`
 * says when it ends and offers "Sign in again" or "Not now" (Escape). Fires `stay`,
 * `sign-in-again` or `not-now` (bubbling, composed); the ExpiryController acts.
 */
export class ExpiryDialog extends LitElement {
  static override properties = {
    kind: {},
    endsAt: { attribute: false },
    now: { attribute: false },
    idleTimeout: { attribute: false },
    failed: { type: Boolean },
    busy: { type: Boolean },
  };
  declare kind: 'idle' | 'absolute';
  /** When the session ends, epoch ms. */
  declare endsAt: number;
  /** The time the countdown is drawn for (the controller ticks it every second). */
  declare now: number;
  /** SESSION_IDLE_TIMEOUT in seconds, for the idle warning's sentence. */
  declare idleTimeout: number;
  declare failed: boolean;
  declare busy: boolean;
  /** What had focus before the warning took it: it gets it back when the warning goes. */
  #returnFocusTo: HTMLElement | undefined;

  constructor() {
    super();
    this.kind = 'idle';
    this.endsAt = 0;
    this.now = Date.now();
    this.idleTimeout = 0;
    this.failed = false;
    this.busy = false;
  }

  static override styles = [
    baseStyles,
    dialogStyles,
    css`
      h2 {
        font-size: 1.15rem;
        margin: 0 0 8px;
      }
      p {
        margin: 0 0 12px;
      }
      .countdown {
        font-size: 1.5rem;
        font-weight: 700;
        font-variant-numeric: tabular-nums;
      }
      .buttons {
        display: flex;
        flex-wrap: wrap;
        justify-content: flex-end;
        gap: 8px;
      }
    `,
  ];

  override render() {
    const idle = this.kind === 'idle';
    return html`<dialog
      role="alertdialog"
      aria-modal="true"
      aria-labelledby="expiry-title"
      aria-describedby="expiry-text"
      data-testid="expiry-dialog"
      @cancel=${this.#onCancel}
    >
      <h2 id="expiry-title">${idle ? strings.expiry.idleTitle : strings.expiry.absoluteTitle}</h2>
      <p id="expiry-text">
        ${
          idle
            ? strings.expiry.idleText(strings.duration(this.idleTimeout))
            : strings.expiry.absoluteText(html`<time datetime=${new Date(this.endsAt).toISOString()}>${clock.format(this.endsAt)}</time>`)
        }
      </p>
      <p class="countdown" role="timer" aria-live="off" data-testid="expiry-countdown">
        ${strings.expiry.countdown(formatCountdown(this.endsAt - this.now))}
      </p>
      ${this.failed ? html`<p class="alert" role="alert" data-testid="expiry-failed">${strings.expiry.extendFailed}</p>` : nothing}
      <div class="buttons">
        ${
          idle
            ? html`<button class="primary" type="button" data-testid="expiry-stay" ?disabled=${this.busy} @click=${() => this.#fire('stay')}>
              ${strings.expiry.staySignedIn}
            </button>`
            : html`<button class="primary" type="button" data-testid="expiry-sign-in" ?disabled=${this.busy} @click=${() => this.#fire('sign-in-again')}>
                ${strings.expiry.signInAgain}
              </button>
              <button type="button" data-testid="expiry-not-now" @click=${() => this.#fire('not-now')}>${strings.expiry.notNow}</button>`
        }
      </div>
    </dialog>`;
  }

  override firstUpdated(): void {
    this.#returnFocusTo = deepActiveElement();
    const dialog = this.renderRoot.querySelector('dialog')!;
    dialog.showModal();
    // The first action, explicitly: assistive technology reads the dialog's name and text with it.
    this.renderRoot.querySelector<HTMLButtonElement>('.buttons button')?.focus();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.renderRoot.querySelector('dialog')?.close();
    if (this.#returnFocusTo?.isConnected) this.#returnFocusTo.focus();
  }

  /** Escape: the idle warning's answer is "I am here"; the absolute one's is "Not now". */
  #onCancel = (event: Event) => {
    event.preventDefault(); // the controller decides when the dialog goes
    this.#fire(this.kind === 'idle' ? 'stay' : 'not-now');
  };

  #fire(name: 'stay' | 'sign-in-again' | 'not-now') {
    this.dispatchEvent(new Event(name, { bubbles: true, composed: true }));
  }
}

/** The focused element, looking into open shadow roots. */
function deepActiveElement(): HTMLElement | undefined {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active instanceof HTMLElement && active !== document.body ? active : undefined;
}

customElements.define('expiry-dialog', ExpiryDialog);
declare global {
  interface HTMLElementTagNameMap {
    'expiry-dialog': ExpiryDialog;
  }
}
