import { LitElement, css, html, nothing } from 'lit';
import type { Note } from '../../../shared/src/index.js';
import { DraftController } from '../drafts/draft-controller.js';
import { NOTE_MAX_LENGTH, NotesController, type Problem } from '../notes/notes-controller.js';
import { strings } from '../strings.js';
import { baseStyles } from './shared-styles.js';

const created = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * The user's notes on the demo API, reached through the BFF's proxy. Only renders and moves
 * focus: the NotesController owns the list, add, delete and their errors; HTTP is in the API
 * module. Its one input, `live`, opens the live updates WebSocket (only where the route takes upgrades).
 */
export class NotesPanel extends LitElement {
  static override properties = { live: { type: Boolean } };
  declare live: boolean;

  readonly #notes = new NotesController(this);
  /** What was typed but not added survives the session ending (restored after signing in again). */
  readonly #draft = new DraftController(this);

  constructor() {
    super();
    this.live = false;
  }

  override willUpdate(): void {
    this.#notes.live = this.live;
  }

  static override styles = [
    baseStyles,
    css`
      .count {
        font-size: 0.875rem;
      }
      form {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: 6px 8px;
        align-items: center;
      }
      label {
        grid-column: 1 / -1;
        font-weight: 600;
        font-size: 0.925rem;
      }
      .hint {
        grid-column: 1 / -1;
        margin: 0;
        font-size: 0.825rem;
      }
      input {
        width: 100%;
      }
      ul {
        list-style: none;
        padding: 0;
        margin: 16px 0 0;
      }
      ul[aria-busy='true'] {
        opacity: 0.7;
      }
      li {
        display: flex;
        gap: 12px;
        justify-content: space-between;
        align-items: flex-start;
        padding: 12px 0;
        border-top: 1px solid var(--divider);
      }
      .text {
        margin: 0;
        overflow-wrap: anywhere;
        white-space: pre-wrap;
      }
      .when {
        display: block;
        font-size: 0.8rem;
      }
      .empty {
        margin: 16px 0 0;
        padding: 20px 16px;
        border: 1px dashed var(--divider);
        border-radius: var(--radius-sm);
        text-align: center;
      }
      .status {
        margin: 16px 0 0;
      }
    `,
  ];

  override render() {
    const notes = this.#notes.notes;
    const saving = this.#notes.saving;
    const saveError = this.#notes.saveError;
    return html`<section class="card" aria-labelledby="notes-title">
      <div class="heading">
        <h2 id="notes-title">${strings.notes.title}</h2>
        ${notes && notes.length > 0 ? html`<span class="count muted">${strings.notes.count(notes.length)}</span>` : nothing}
      </div>
      <form @submit=${this.#add} novalidate>
        <label for="note-text">${strings.notes.newNote}</label>
        <input
          id="note-text"
          name="text"
          data-testid="note-input"
          data-draft="note"
          autocomplete="off"
          enterkeyhint="done"
          aria-describedby="note-hint"
          ?disabled=${saving}
        />
        <button class="primary" type="submit" data-testid="note-add" ?disabled=${saving}>${saving ? strings.notes.saving : strings.notes.add}</button>
        <p id="note-hint" class="hint muted">${strings.notes.hint(NOTE_MAX_LENGTH)}</p>
      </form>
      ${
        saveError
          ? html`<div class="alert" role="alert" data-testid="notes-error"><strong>${saveError.title}</strong><p>${saveError.message}</p></div>`
          : nothing
      }
      ${this.#notes.render({
        loading: () => html`<p class="status muted" role="status">${strings.notes.loading}</p>`,
        list: (loaded, refreshing) => this.#list(loaded, refreshing, saving),
        failed: (problem) => this.#loadError(problem),
      })}
    </section>`;
  }

  #loadError({ title, message }: Problem) {
    return html`<div class="alert" role="alert" data-testid="notes-error">
      <strong>${title}</strong>
      <p>${message}</p>
      <button type="button" @click=${() => void this.#notes.reload()}>${strings.app.tryAgain}</button>
    </div>`;
  }

  #list(notes: readonly Note[], refreshing: boolean, saving: boolean) {
    if (notes.length === 0) {
      return html`<p class="empty muted" data-testid="notes-empty">${strings.notes.empty}</p>`;
    }
    return html`<ul aria-label=${strings.notes.listLabel} aria-busy=${refreshing ? 'true' : 'false'}>
      ${notes.map(
        (note) => html`<li data-testid="note-item" data-note-id=${note.id}>
          <div>
            <p class="text">${note.text}</p>
            <time class="when muted" datetime=${new Date(note.createdAt).toISOString()}>${created.format(note.createdAt)}</time>
          </div>
          <button
            class="quiet"
            type="button"
            data-testid="note-delete"
            aria-label=${strings.notes.deleteLabel(note.text)}
            ?disabled=${saving}
            @click=${() => void this.#delete(note)}
          >
            ${strings.notes.delete}
          </button>
        </li>`,
      )}
    </ul>`;
  }

  #add = async (event: SubmitEvent) => {
    event.preventDefault();
    const input = this.#input();
    if (await this.#notes.add(input.value)) {
      input.value = '';
      this.#draft.sent('note');
    }
    // Saved, refused or failed: put the cursor back (re-enabled after saving) for the next try.
    await this.updateComplete;
    if (this.isConnected) this.#input().focus();
  };

  async #delete(note: Note) {
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>('[data-testid="note-item"]')];
    const index = items.findIndex((item) => item.dataset.noteId === note.id);
    const deleted = await this.#notes.remove(note.id);
    await this.updateComplete;
    if (!this.isConnected) return;
    // The pressed button is gone: focus the Delete button now in its place, else the input.
    const buttons = this.renderRoot.querySelectorAll<HTMLButtonElement>('[data-testid="note-delete"]');
    const next = deleted ? buttons[Math.min(index, buttons.length - 1)] : buttons[index];
    (next ?? this.#input()).focus();
  }

  #input(): HTMLInputElement {
    return this.renderRoot.querySelector<HTMLInputElement>('#note-text')!;
  }
}

customElements.define('notes-panel', NotesPanel);
declare global {
  interface HTMLElementTagNameMap {
    'notes-panel': NotesPanel;
  }
}
