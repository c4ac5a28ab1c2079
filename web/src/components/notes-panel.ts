import { Task, TaskStatus } from '@lit/task';
import { LitElement, css, html, nothing } from 'lit';
import type { Note } from '../../../shared/src/index.js';
import { addNote, deleteNote, describeError, isUnauthorized, listNotes } from '../api/bff-client.js';
import { baseStyles } from './shared-styles.js';

/** Longest note the demo API accepts, in characters (code points) after trimming. */
export const NOTE_MAX_LENGTH = 500;

const created = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * The user's notes on the demo API, reached through the BFF's proxy: list (with @lit/task),
 * add, delete. A 401 is handled app-wide (the signed-out view); other failures show here.
 */
export class NotesPanel extends LitElement {
  static override properties = {
    _saving: { state: true },
    _error: { state: true },
  };
  /** An add or delete is on its way: the form and buttons are disabled. */
  declare _saving: boolean;
  /** Why the last add or delete failed (shown in an alert), if it did. */
  declare _error: { title: string; message: string } | undefined;

  constructor() {
    super();
    this._saving = false;
    this._error = undefined;
  }

  readonly #notes = new Task(this, {
    task: (_args: readonly [], { signal }) => listNotes(signal),
    args: () => [] as const,
  });

  static override styles = [
    baseStyles,
    css`
      .heading {
        display: flex;
        align-items: baseline;
        justify-content: space-between;
        gap: 8px;
      }
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
        border-top: 1px solid var(--border);
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
        border: 1px dashed var(--border);
        border-radius: var(--radius-sm);
        text-align: center;
      }
      .status {
        margin: 16px 0 0;
      }
    `,
  ];

  override render() {
    const notes = this.#notes.value;
    const loadFailed = this.#notes.status === TaskStatus.ERROR;
    return html`<section class="card" aria-labelledby="notes-title">
      <div class="heading">
        <h2 id="notes-title">Your notes</h2>
        ${notes && notes.length > 0 ? html`<span class="count muted">${notes.length === 1 ? '1 note' : `${notes.length} notes`}</span>` : nothing}
      </div>
      <form @submit=${this.#add} novalidate>
        <label for="note-text">New note</label>
        <input
          id="note-text"
          name="text"
          data-testid="note-input"
          autocomplete="off"
          enterkeyhint="done"
          aria-describedby="note-hint"
          ?disabled=${this._saving}
        />
        <button class="primary" type="submit" data-testid="note-add" ?disabled=${this._saving}>${this._saving ? 'Saving…' : 'Add'}</button>
        <p id="note-hint" class="hint muted">Up to ${NOTE_MAX_LENGTH} characters.</p>
      </form>
      ${this._error && !loadFailed
        ? html`<div class="alert" role="alert" data-testid="notes-error"><strong>${this._error.title}</strong><p>${this._error.message}</p></div>`
        : nothing}
      ${this.#notes.render({
        initial: () => this.#loading(),
        pending: () => (notes ? this.#list(notes, true) : this.#loading()),
        complete: (loaded) => this.#list(loaded, false),
        error: (error) => this.#loadError(error),
      })}
    </section>`;
  }

  #loading() {
    return html`<p class="status muted" role="status">Loading notes…</p>`;
  }

  #loadError(error: unknown) {
    // A 401 has already switched the app to the signed-out view; nothing to show here.
    if (isUnauthorized(error)) return nothing;
    const { title, message } = describeError(error, 'Could not load your notes');
    return html`<div class="alert" role="alert" data-testid="notes-error">
      <strong>${title}</strong>
      <p>${message}</p>
      <button type="button" @click=${() => void this.#notes.run()}>Try again</button>
    </div>`;
  }

  #list(notes: readonly Note[], refreshing: boolean) {
    if (notes.length === 0) {
      return html`<p class="empty muted" data-testid="notes-empty">No notes yet. Write your first one above.</p>`;
    }
    return html`<ul aria-label="Notes" aria-busy=${refreshing ? 'true' : 'false'}>
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
            aria-label=${`Delete note: ${note.text.length > 60 ? `${note.text.slice(0, 60)}…` : note.text}`}
            ?disabled=${this._saving}
            @click=${() => void this.#delete(note)}
          >
            Delete
          </button>
        </li>`,
      )}
    </ul>`;
  }

  #add = async (event: SubmitEvent) => {
    event.preventDefault();
    if (this._saving) return;
    const input = this.#input();
    const text = input.value.trim();
    if (text === '') {
      this._error = { title: 'Nothing to add', message: 'Write something first.' };
      input.focus();
      return;
    }
    if ([...text].length > NOTE_MAX_LENGTH) {
      this._error = { title: 'Note too long', message: `A note can have up to ${NOTE_MAX_LENGTH} characters.` };
      input.focus();
      return;
    }
    if (await this.#mutate(() => addNote(text))) input.value = '';
    // Re-enabled after the save: put the cursor back so the next note can be typed right away.
    await this.updateComplete;
    if (this.isConnected) this.#input().focus();
  };

  async #delete(note: Note) {
    if (this._saving) return;
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>('[data-testid="note-item"]')];
    const index = items.findIndex((item) => item.dataset.noteId === note.id);
    const ok = await this.#mutate(() => deleteNote(note.id));
    await this.updateComplete;
    if (!this.isConnected) return;
    // The pressed button is gone: focus the Delete button now in its place, else the input.
    const buttons = this.renderRoot.querySelectorAll<HTMLButtonElement>('[data-testid="note-delete"]');
    const next = ok ? buttons[Math.min(index, buttons.length - 1)] : buttons[index];
    (next ?? this.#input()).focus();
  }

  /** Runs an add or delete, then reloads the list. Resolves true when the change was saved. */
  async #mutate(action: () => Promise<unknown>): Promise<boolean> {
    this._saving = true;
    this._error = undefined;
    let saved = false;
    try {
      await action();
      saved = true;
      await this.#notes.run();
    } catch (error) {
      if (!isUnauthorized(error)) this._error = describeError(error, 'Could not save the change');
    } finally {
      this._saving = false;
    }
    return saved;
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
