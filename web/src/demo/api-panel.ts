import { LitElement, css, html, nothing } from 'lit';
import { describeError } from '../api/bff-client.js';
import { baseStyles } from '../components/shared-styles.js';
import { getGreeting, getReportsToken, type Greeting, type TokenView } from './demo-apis.js';

/**
 * "Calls through the BFF": a public greeting that works signed in or out (`token=user-or-none`)
 * and, signed in, the reports API that only accepts a token issued for its own audience.
 */
export class ApiPanel extends LitElement {
  static override properties = {
    signedIn: { type: Boolean, attribute: 'signed-in' },
    greeting: { state: true },
    reports: { state: true },
    problem: { state: true },
    busy: { state: true },
  };
  declare signedIn: boolean;
  declare greeting: Greeting | undefined;
  declare reports: TokenView | undefined;
  declare problem: string | undefined;
  declare busy: boolean;

  constructor() {
    super();
    this.signedIn = false;
    this.greeting = undefined;
    this.reports = undefined;
    this.problem = undefined;
    this.busy = false;
  }

  static override styles = [
    baseStyles,
    css`
      dl {
        display: grid;
        grid-template-columns: max-content minmax(0, 1fr);
        gap: 6px 16px;
        margin: 0 0 12px;
        font-size: 0.925rem;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void getGreeting().then(
      (greeting) => (this.greeting = greeting),
      (error: unknown) => (this.problem = describeError(error).message),
    );
  }

  async #callReports() {
    this.busy = true;
    this.problem = undefined;
    try {
      this.reports = await getReportsToken();
    } catch (error) {
      this.problem = describeError(error, 'The reports API refused the call').message;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    return html`<section class="card" aria-labelledby="api-heading">
      <h2 id="api-heading">Calls through the BFF</h2>
      <p class="muted">Each API gets the token its route asks for; the browser never sees one.</p>
      <dl>
        <dt>Public API</dt>
        <dd data-testid="greeting">${this.greeting?.greeting ?? '…'}</dd>
        ${this.reports
          ? html`<dt>Reports API</dt>
              <dd data-testid="reports-audience">token for ${this.reports.audience}</dd>`
          : nothing}
      </dl>
      ${this.signedIn
        ? html`<button type="button" data-testid="call-reports" ?disabled=${this.busy} @click=${this.#callReports}>Call the reports API</button>`
        : nothing}
      ${this.problem ? html`<p class="alert" role="alert">${this.problem}</p>` : nothing}
    </section>`;
  }
}

customElements.define('api-panel', ApiPanel);
