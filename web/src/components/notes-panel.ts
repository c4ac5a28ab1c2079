import { Task } from '@lit/task';
import { LitElement, css, html } from 'lit';
import { baseStyles } from './shared-styles.js';
import type { Note } from '../../../shared/src/index.js';
import { ApiError, addNote, deleteNote, listNotes } from '../api/bff-client.js';

/** The user's notes on the demo API, reached through the BFF's proxy: list, add, delete. */
export class NotesPanel extends LitElement {
  static override properties = { _saving: { state: true }, _error: { state: true } };
  declare _saving: boolean;
  declare _error: string | undefined;

  constructor() {
    super();
    this._saving = false;
    this._error = undefined;
  }

  readonly #notes = new Task(this, { task: () => listNotes(), args: () => [] });

  static override styles = [
    baseStyles,
    css`
    h2 {
      margin: 0 0 16px;
      font-size: 1.1rem;
    }
    form {
      display: flex;
      gap: 8px;
      flex-wrap: wrap;
    }
    label {
      flex-basis: 100%;
      font-size: 0.9rem;
      color: var(--muted);
    }
    input {
      flex: 1;
      min-width: 0;
      font: inherit;
      padding: 8px 12px;
      border-radius: var(--radius);
      border: 1px solid var(--border);
      background: var(--bg);
      color: var(--text);
    }
    ul {
      list-style: none;
      padding: 0;
      margin: 16px 0 0;
    }
    li {
      display: flex;
      gap: 8px;
      justify-content: space-between;
      align-items: center;
      padding: 8px 0;
      border-top: 1px solid var(--border);
      overflow-wrap: anywhere;
    }
    .muted {
      color: var(--muted);
    }
  `,
  ];

  override render() {
    return html`<section aria-labelledby="notes-title">
      <h2 id="notes-title">Your notes</h2>
      <form @submit=${this.#add}>
        <label for="note-text">New note</label>
        <input id="note-text" name="text" data-testid="note-input" maxlength="500" required autocomplete="off" ?disabled=${this._saving} />
        <button class="primary" type="submit" data-testid="note-add" ?disabled=${this._saving}>${this._saving ? 'Adding…' : 'Add'}</button>
      </form>
      ${this._error ? html`<p role="alert" data-testid="notes-error">${this._error}</p>` : null}
      ${this.#notes.render({
        pending: () => html`<p class="muted" aria-live="polite">Loading notes…</p>`,
        complete: (notes) => this.#list(notes),
        error: (error) =>
          html`<div role="alert" data-testid="notes-error">
            <p>${error instanceof Error ? error.message : 'Could not load notes.'}</p>
            <button @click=${() => this.#notes.run()}>Retry</button>
          </div>`,
      })}
    </section>`;
  }

  #list(notes: Note[]) {
    if (notes.length === 0) return html`<p class="muted">No notes yet. Add your first one above.</p>`;
    return html`<ul>
      ${notes.map(
        (note) => html`<li data-testid="note-item">
          <span>${note.text}</span>
          <button data-testid="note-delete" aria-label=${`Delete note: ${note.text}`} ?disabled=${this._saving} @click=${() => this.#delete(note)}>Delete</button>
        </li>`,
      )}
    </ul>`;
  }

  #add = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('text') as HTMLInputElement;
    const text = input.value.trim();
    if (!text) return;
    await this.#mutate(() => addNote(text));
    if (!this._error) {
      input.value = '';
      input.focus();
    }
  };

  #delete = (note: Note) => this.#mutate(() => deleteNote(note.id));

  async #mutate(action: () => Promise<unknown>) {
    this._saving = true;
    this._error = undefined;
    try {
      await action();
      await this.#notes.run();
    } catch (error) {
      // A 401 is handled app-wide (signed-out view); anything else is shown here.
      if (!(error instanceof ApiError && error.status === 401)) this._error = error instanceof Error ? error.message : 'Something went wrong.';
    } finally {
      this._saving = false;
    }
  }
}

customElements.define('notes-panel', NotesPanel);
declare global {
  interface HTMLElementTagNameMap {
    'notes-panel': NotesPanel;
  }
}
