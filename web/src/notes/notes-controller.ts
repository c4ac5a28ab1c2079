import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Note } from '../../../shared/src/index.js';
import { describeError, isUnauthorized } from '../api/bff-client.js';
import { ListTask, type ListRenderers, type Problem } from '../controllers/list-task.js';
import { strings } from '../strings.js';
import { LiveNotes } from './live-notes.js';
import { addNote, deleteNote, listNotes } from './notes-api.js';

export type { Problem } from '../controllers/list-task.js';

/** Longest note the demo API accepts, in characters (code points) after trimming. */
export const NOTE_MAX_LENGTH = 500;

/** One template per state of the list; the element supplies them, the controller picks one. */
export type NotesRenderers<R> = ListRenderers<Note, R>;

/**
 * The notes state of a host element: the list (a ListTask), add, delete, whether a change is
 * being saved and why the last one failed, and live updates when the route takes WebSockets.
 * The element renders from this and calls the actions; HTTP stays in the API module. A 401 is
 * handled app-wide (the signed-out view), so it shows nothing here.
 */
export class NotesController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #list: ListTask<Note>;
  #saving = false;
  #saveError: Problem | undefined;
  #connected = false;
  #live = false;

  /** Live updates from other tabs and devices (none where WebSocket is missing, e.g. unit tests). */
  readonly #updates = typeof WebSocket === 'undefined' ? undefined : new LiveNotes(() => void this.#reloadQuietly());

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
    this.#list = new ListTask(host, { load: listNotes, failedTitle: strings.notes.loadFailed });
  }

  hostConnected(): void {
    this.#connected = true;
    if (this.#live) this.#updates?.start();
  }

  hostDisconnected(): void {
    this.#connected = false;
    this.#updates?.stop();
  }

  /**
   * Whether to open the live updates WebSocket: only when the route takes upgrades (the element
   * passes what `/bff/config` says), since a refused handshake is an error in every console.
   */
  set live(on: boolean) {
    if (on === this.#live) return;
    this.#live = on;
    if (!this.#connected) return;
    if (on) this.#updates?.start();
    else this.#updates?.stop();
  }

  get live(): boolean {
    return this.#live;
  }

  /** The last loaded list, kept while it reloads; undefined before the first load or after a failed one. */
  get notes(): readonly Note[] | undefined {
    return this.#list.items;
  }

  /** An add or delete is on its way: the element disables the form and the buttons. */
  get saving(): boolean {
    return this.#saving;
  }

  /** Why the last add or delete failed, if it did; hidden while the list's own failure is shown. */
  get saveError(): Problem | undefined {
    return this.#list.failed ? undefined : this.#saveError;
  }

  /** Renders the list's current state with the element's templates (undefined renders nothing). */
  render<R>(renderers: NotesRenderers<R>): R | undefined {
    return this.#list.render(renderers);
  }

  /** A change elsewhere: reload, unless a change of ours is being saved (it reloads anyway). */
  #reloadQuietly(): Promise<void> | undefined {
    if (this.#saving || this.#list.loading) return undefined;
    return this.#list.reload();
  }

  /** Loads the list again (the Try again button). */
  reload(): Promise<void> {
    return this.#list.reload();
  }

  /** Checks and adds a note, then reloads the list. Resolves true when it was saved. */
  async add(input: string): Promise<boolean> {
    // One change at a time: the element disables its controls, this covers a submit in between.
    if (this.#saving) return false;
    const text = input.trim();
    if (text === '') return this.#refuse({ title: strings.notes.emptyTitle, message: strings.notes.emptyMessage });
    if ([...text].length > NOTE_MAX_LENGTH) {
      return this.#refuse({ title: strings.notes.tooLongTitle, message: strings.notes.tooLongMessage(NOTE_MAX_LENGTH) });
    }
    return this.#save(() => addNote(text));
  }

  /** Deletes a note, then reloads the list. Resolves true when it was deleted. */
  async remove(id: string): Promise<boolean> {
    if (this.#saving) return false;
    return this.#save(() => deleteNote(id));
  }

  #refuse(problem: Problem): false {
    this.#saveError = problem;
    this.#host.requestUpdate();
    return false;
  }

  async #save(action: () => Promise<unknown>): Promise<boolean> {
    this.#saving = true;
    this.#saveError = undefined;
    this.#host.requestUpdate();
    let saved = false;
    try {
      await action();
      saved = true;
      await this.#list.reload();
    } catch (error) {
      if (!isUnauthorized(error)) this.#saveError = describeError(error, strings.notes.saveFailed);
    } finally {
      this.#saving = false;
      this.#host.requestUpdate();
    }
    return saved;
  }
}
