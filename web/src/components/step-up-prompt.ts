import { LitElement, css, html, nothing } from 'lit';
import { StepUpController } from '../step-up/step-up-controller.js';
import { describeAsk } from '../step-up/step-up.js';
import { strings } from '../strings.js';
import { baseStyles } from './shared-styles.js';

/**
 * "Confirm it's you": shown when a call answered `step_up_required`. Says what is asked and offers
 * to sign in with it (back to the same view) or to leave it for now. An `alertdialog` that takes
 * the focus when it opens and closes on Escape; only renders (StepUpController owns the state).
 */
export class StepUpPrompt extends LitElement {
  readonly #stepUp = new StepUpController(this);

  static override styles = [
    baseStyles,
    css`
      .dialog {
        position: fixed;
        inset: auto 16px 16px auto;
        max-width: 420px;
        z-index: 10;
        box-shadow: 0 6px 24px rgba(0, 0, 0, 0.25);
      }
      .actions {
        display: flex;
        gap: 12px;
        flex-wrap: wrap;
      }
    `,
  ];

  override render() {
    const ask = this.#stepUp.ask;
    const text = strings.stepUp;
    if (!ask && this.#stepUp.failed) {
      return html`<div class="card dialog alert" role="alertdialog" aria-labelledby="step-up-title" data-testid="step-up-failed" @keydown=${this.#onKey}>
        <h2 id="step-up-title" tabindex="-1">${text.failedTitle}</h2>
        <p>${strings.loginErrors.step_up_failed}</p>
        <button type="button" data-testid="step-up-dismiss" @click=${() => this.#stepUp.dismiss()}>${text.close}</button>
      </div>`;
    }
    if (!ask) return nothing;
    return html`<div
      class="card dialog"
      role="alertdialog"
      aria-modal="false"
      aria-labelledby="step-up-title"
      aria-describedby="step-up-what"
      data-testid="step-up"
      @keydown=${this.#onKey}
    >
      <h2 id="step-up-title" tabindex="-1">${text.title}</h2>
      ${this.#stepUp.failed ? html`<p class="alert" data-testid="step-up-failed">${strings.loginErrors.step_up_failed}</p>` : nothing}
      <p id="step-up-what">${describeAsk(ask)}</p>
      <div class="actions">
        <button type="button" class="primary" data-testid="step-up-confirm" ?disabled=${this.#stepUp.leaving} @click=${() => this.#stepUp.confirm()}>
          ${this.#stepUp.leaving ? strings.signedOut.redirecting : text.confirm}
        </button>
        <button type="button" data-testid="step-up-dismiss" @click=${() => this.#stepUp.dismiss()}>${text.notNow}</button>
      </div>
    </div>`;
  }

  override updated(): void {
    // A prompt that just opened takes the focus, so keyboard and screen-reader users meet it first.
    const title = this.renderRoot.querySelector<HTMLElement>('#step-up-title');
    if (title && !this.renderRoot.contains((this.renderRoot as ShadowRoot).activeElement)) title.focus();
  }

  #onKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape') this.#stepUp.dismiss();
  };
}

customElements.define('step-up-prompt', StepUpPrompt);
declare global {
  interface HTMLElementTagNameMap {
    'step-up-prompt': StepUpPrompt;
  }
}
