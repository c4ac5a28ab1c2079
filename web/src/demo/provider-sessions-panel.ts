import { LitElement, html, nothing } from 'lit';
import { describeError, request } from '../api/bff-client.js';
import { baseStyles } from '../components/shared-styles.js';
import { sessionsChanged } from '../sessions/sessions-controller.js';
import { strings } from '../strings.js';

/** The dev provider's demo route, through the BFF's proxy (the user's access token is added there). */
export const END_PROVIDER_SESSIONS_PATH = '/provider/end-other-sessions';

const parseEnded = (body: unknown) =>
  typeof body === 'object' && body !== null && typeof (body as { ended?: unknown }).ended === 'number'
    ? (body as { ended: number })
    : undefined;

/**
 * Demo: "End my other sessions at the provider". The dev provider ends the user's other provider
 * sessions and its Shared Signals transmitter tells the BFF (CAEP session-revoked), which ends the
 * sessions made through them: "Your sessions" is told to reload and shows them gone.
 */
export class ProviderSessionsPanel extends LitElement {
  static override styles = [baseStyles];
  static override properties = { busy: { state: true }, outcome: { state: true } };
  declare busy: boolean;
  declare outcome: string | undefined;

  constructor() {
    super();
    this.busy = false;
  }

  async #endOthers() {
    this.busy = true;
    try {
      const { ended } = await request(END_PROVIDER_SESSIONS_PATH, { method: 'POST', parse: parseEnded });
      this.outcome = strings.providerSessions.ended(ended);
      sessionsChanged.dispatchEvent(new Event('changed'));
    } catch (error) {
      this.outcome = `${strings.providerSessions.failed}: ${describeError(error).message}`;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const text = strings.providerSessions;
    return html`<section class="card" aria-labelledby="provider-sessions-title" data-testid="provider-sessions-panel">
      <h2 id="provider-sessions-title">${text.title}</h2>
      <p class="muted">${text.lead}</p>
      <button type="button" data-testid="provider-end-others" ?disabled=${this.busy} @click=${() => void this.#endOthers()}>
        ${this.busy ? text.ending : text.endOthers}
      </button>
      <div role="status" aria-live="polite">${this.outcome ? html`<p data-testid="provider-outcome">${this.outcome}</p>` : nothing}</div>
    </section>`;
  }
}

customElements.define('provider-sessions-panel', ProviderSessionsPanel);

declare global {
  interface HTMLElementTagNameMap {
    'provider-sessions-panel': ProviderSessionsPanel;
  }
}
