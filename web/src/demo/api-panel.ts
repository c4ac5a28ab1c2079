import { LitElement, css, html, nothing } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import { baseStyles } from '../components/shared-styles.js';
import type { Problem } from '../controllers/list-task.js';
import { strings } from '../strings.js';
import { DemoApisController } from './demo-apis-controller.js';

/**
 * "Calls through the BFF": a public greeting that works signed in or out (`token=user-or-none`)
 * and, signed in, the reports API that only accepts a token issued for its own audience. Each part
 * shows only when its route exists. Only renders: the DemoApisController owns state and calls.
 */
export class ApiPanel extends LitElement {
  static override properties = {
    signedIn: { type: Boolean, attribute: 'signed-in' },
    routes: { attribute: false },
  };
  declare signedIn: boolean;
  /** The routes `/bff/config` listed. */
  declare routes: readonly RouteInfo[];

  readonly #apis = new DemoApisController(this, () => ({ routes: this.routes, signedIn: this.signedIn }));

  constructor() {
    super();
    this.signedIn = false;
    this.routes = [];
  }

  static override styles = [
    baseStyles,
    css`
      /* Signed out, the panel sits alone below the sign-in card. */
      :host(:not([signed-in])) {
        max-width: 480px;
        margin: 24px auto 0;
      }
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

  override render() {
    const apis = this.#apis;
    const text = strings.demoApis;
    return html`<section class="card" aria-labelledby="api-heading">
      <h2 id="api-heading">${text.title}</h2>
      <p class="muted">${text.lead}</p>
      <dl>
        ${apis.renderGreeting({
          loading: () => this.#greeting('…'),
          greeting: ({ greeting }) => this.#greeting(greeting),
          failed: ({ message }) => this.#greeting(message, true),
        })}
        ${
          apis.reports
            ? html`<dt>${text.reportsApi}</dt>
              <dd data-testid="reports-audience">${text.tokenFor(apis.reports.audience)}</dd>`
            : nothing
        }
      </dl>
      ${
        apis.available.reports
          ? html`<button type="button" data-testid="call-reports" ?disabled=${apis.busy} @click=${() => void apis.callReports()}>${text.callReports}</button>`
          : nothing
      }
      ${apis.problem ? this.#problem(apis.problem) : nothing}
    </section>`;
  }

  #greeting(text: string, failed = false) {
    return html`<dt>${strings.demoApis.publicApi}</dt>
      <dd data-testid="greeting" role=${failed ? 'alert' : nothing}>${text}</dd>`;
  }

  #problem({ title, message }: Problem) {
    return html`<div class="alert" role="alert"><strong>${title}</strong><p>${message}</p></div>`;
  }
}

customElements.define('api-panel', ApiPanel);
declare global {
  interface HTMLElementTagNameMap {
    'api-panel': ApiPanel;
  }
}
