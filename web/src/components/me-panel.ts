import { LitElement, css, html } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import type { Problem } from '../controllers/list-task.js';
import { MeController } from '../me/me-controller.js';
import { strings } from '../strings.js';
import { baseStyles } from './shared-styles.js';

/**
 * "Your API": the kit's example call (`GET /api/me` through the BFF) and what the API saw in the
 * token. Shows only when the `/api` route exists. Only renders: the MeController owns state and call.
 */
export class MePanel extends LitElement {
  static override properties = { routes: { attribute: false } };
  /** The routes `/bff/config` listed. */
  declare routes: readonly RouteInfo[];

  readonly #me = new MeController(this, () => this.routes);

  constructor() {
    super();
    this.routes = [];
  }

  static override styles = [
    baseStyles,
    css`
      dl {
        display: grid;
        grid-template-columns: max-content minmax(0, 1fr);
        gap: 6px 16px;
        margin: 0;
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
    const text = strings.me;
    const state = this.#me.render({
      loading: () => html`<p class="muted" role="status">${text.loading}</p>`,
      me: ({ sub, audience }) => html`<dl>
        <dt>${text.subject}</dt>
        <dd data-testid="me-sub">${sub}</dd>
        ${audience ? html`<dt>${text.audience}</dt><dd data-testid="me-audience">${audience}</dd>` : ''}
      </dl>`,
      failed: (problem) => this.#problem(problem),
    });
    if (state === undefined) return html``;
    return html`<section class="card" aria-labelledby="me-heading">
      <h2 id="me-heading">${text.title}</h2>
      <p class="muted">${text.lead}</p>
      ${state}
    </section>`;
  }

  #problem({ title, message }: Problem) {
    return html`<div class="alert" role="alert">
      <strong>${title}</strong>
      <p>${message}</p>
      <button type="button" @click=${() => void this.#me.reload()}>${strings.app.tryAgain}</button>
    </div>`;
  }
}

customElements.define('me-panel', MePanel);
declare global {
  interface HTMLElementTagNameMap {
    'me-panel': MePanel;
  }
}
