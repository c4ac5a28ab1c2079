import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { clearDraft, loadDraft, saveDraft } from './draft-store.js';

type Field = HTMLInputElement | HTMLTextAreaElement;
type Host = ReactiveControllerHost & { readonly renderRoot: HTMLElement | DocumentFragment };

/** The attribute that opts a field of the host's template in: its value names the draft. */
const DRAFT_ATTRIBUTE = 'data-draft';

/**
 * Keeps the unsent input of a form in sessionStorage (draft-store.ts), for any element: mark its
 * fields with `data-draft="<name>"`, and call {@link sent} once their content was sent. Typing
 * saves the field's draft; the first render after the element connects (after signing in again,
 * on the same view) puts an empty field's draft back.
 */
export class DraftController implements ReactiveController {
  readonly #host: Host;
  #restored = false;

  constructor(host: Host) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    this.#restored = false;
    this.#host.renderRoot.addEventListener('input', this.#onInput);
  }

  hostDisconnected(): void {
    this.#host.renderRoot.removeEventListener('input', this.#onInput);
  }

  hostUpdated(): void {
    if (this.#restored) return;
    const fields = this.#fields();
    if (fields.length === 0) return;
    this.#restored = true;
    for (const field of fields) {
      const draft = loadDraft(field.getAttribute(DRAFT_ATTRIBUTE)!, location.pathname);
      if (draft !== undefined && field.value === '') field.value = draft;
    }
  }

  /** The field's content was sent: its draft is gone. */
  sent(name: string): void {
    clearDraft(name, location.pathname);
  }

  #fields(): Field[] {
    return [...this.#host.renderRoot.querySelectorAll<Field>(`input[${DRAFT_ATTRIBUTE}], textarea[${DRAFT_ATTRIBUTE}]`)];
  }

  #onInput = (event: Event) => {
    const field = event.target as Field | null;
    const name = field?.getAttribute?.(DRAFT_ATTRIBUTE);
    if (field && name) saveDraft(name, location.pathname, field.value);
  };
}
