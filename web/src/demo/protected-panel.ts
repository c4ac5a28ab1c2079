import { LitElement, html, nothing } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import { baseStyles } from '../components/shared-styles.js';
import { strings } from '../strings.js';
import { ProtectedApisController, type ProtectedApi } from './protected-apis-controller.js';

/**
 * "Protected calls": the Admin report (needs the second factor: a step-up) and Alice's report
 * (needs a claim). Only renders: ProtectedApisController owns state and calls.
 */
export class ProtectedPanel extends LitElement {
  static override properties = { routes: { attribute: false } };
  declare routes: readonly RouteInfo[];
  readonly #apis = new ProtectedApisController(this, () => this.routes);
  static override styles = [baseStyles];

  constructor() {
    super();
    this.routes = [];
  }

  override render() {
    const text = strings.protectedApis;
    const apis = this.#apis;
    return html`<section class="card" aria-labelledby="protected-heading">
      <h2 id="protected-heading">${text.title}</h2>
      <p class="muted">${text.lead}</p>
      ${apis.available.map((api) => this.#row(api))}
      ${apis.problem ? html`<div class="alert" role="alert"><strong>${apis.problem.title}</strong><p>${apis.problem.message}</p></div>` : nothing}
    </section>`;
  }

  #row(api: ProtectedApi) {
    const apis = this.#apis;
    const answer = apis.answer(api);
    return html`<p>
      <button type="button" data-testid=${`call-${api}`} ?disabled=${apis.busy !== undefined} @click=${() => void apis.call(api)}>
        ${strings.protectedApis[api]}
      </button>
      ${answer ? html`<span data-testid=${`${api}-answer`}>${strings.protectedApis.answered(answer)}</span>` : nothing}
    </p>`;
  }
}

customElements.define('protected-panel', ProtectedPanel);
declare global {
  interface HTMLElementTagNameMap {
    'protected-panel': ProtectedPanel;
  }
}
