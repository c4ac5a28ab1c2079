import { Task, TaskStatus } from '@lit/task';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Note } from '../../../shared/src/index.js';
import { addNote, deleteNote, describeError, isUnauthorized, listNotes } from '../api/bff-client.js';
import { LiveNotes } from './live-notes.js';

/** Longest note the demo API accepts, in characters (code points) after trimming. */
export const NOTE_MAX_LENGTH = 500;

/** A problem to show: a short title and a sentence. */
export interface Problem {
  title: string;
  message: string;
}

/** One template per state of the list; the element supplies them, the controller picks one. */
export interface NotesRenderers<R> {
  /** Nothing loaded yet. */
  loading: () => R;
  /** The list; `refreshing` while it is being reloaded (after an add or delete, or Try again). */
  list: (notes: readonly Note[], refreshing: boolean) => R;
  /** Loading failed; `reload()` tries again. */
  failed: (problem: Problem) => R;
}

/**
 * The notes state of a host element: the list (a @lit/task Task), add, delete, whether a change
 * is being saved and why the last one failed. The element renders from this and calls the
 * actions; HTTP stays in the API module. A 401 is handled app-wide (the signed-out view), so it
 * shows nothing here.
 */
export class NotesController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #list: Task<readonly [], Note[]>;
  #saving = false;
  #saveError: Problem | undefined;
  /** A load was cut off by hostDisconnected and has to be made again on reconnect. */
  #loadAborted = false;

  /** Live updates from other tabs and devices (none where WebSocket is missing, e.g. unit tests). */
  readonly #live = typeof WebSocket === 'undefined' ? undefined : new LiveNotes(() => void this.#reloadQuietly());

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
    // The Task is a controller of the host too: it loads on the host's first update.
    this.#list = new Task(host, {
      task: (_args: readonly [], { signal }) => listNotes(signal),
      args: () => [] as const,
    });
  }

  hostConnected(): void {
    this.#live?.start();
    if (!this.#loadAborted) return;
    this.#loadAborted = false;
    void this.#list.run();
  }

  hostDisconnected(): void {
    this.#live?.stop();
    // The element is gone (e.g. the app signed out): do not keep a request going for nobody.
    if (this.#list.status !== TaskStatus.PENDING) return;
    this.#loadAborted = true;
    this.#list.abort();
  }

  /** The last loaded list, kept while it reloads; undefined before the first load or after a failed one. */
  get notes(): readonly Note[] | undefined {
    return this.#list.value;
  }

  /** An add or delete is on its way: the element disables the form and the buttons. */
  get saving(): boolean {
    return this.#saving;
  }

  /** Why the last add or delete failed, if it did; hidden while the list's own failure is shown. */
  get saveError(): Problem | undefined {
    return this.#list.status === TaskStatus.ERROR ? undefined : this.#saveError;
  }

  /** Renders the list's current state with the element's templates (undefined renders nothing). */
  render<R>(renderers: NotesRenderers<R>): R | undefined {
    return this.#list.render({
      initial: renderers.loading,
      pending: () => (this.notes ? renderers.list(this.notes, true) : renderers.loading()),
      complete: (notes) => renderers.list(notes, false),
      error: (error) => (isUnauthorized(error) ? undefined : renderers.failed(describeError(error, 'Could not load your notes'))),
    });
  }

  /** A change elsewhere: reload, unless a change of ours is being saved (it reloads anyway). */
  #reloadQuietly(): Promise<void> | undefined {
    if (this.#saving || this.#list.status === TaskStatus.PENDING) return undefined;
    return this.#list.run();
  }

  /** Loads the list again (the Try again button). */
  reload(): Promise<void> {
    return this.#list.run();
  }

  /** Checks and adds a note, then reloads the list. Resolves true when it was saved. */
  async add(input: string): Promise<boolean> {
    // One change at a time: the element disables its controls, this covers a submit in between.
    if (this.#saving) return false;
    const text = input.trim();
    if (text === '') return this.#refuse({ title: 'Nothing to add', message: 'Write something first.' });
    if ([...text].length > NOTE_MAX_LENGTH) {
      return this.#refuse({ title: 'Note too long', message: `A note can have up to ${NOTE_MAX_LENGTH} characters.` });
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
      await this.#list.run();
    } catch (error) {
      if (!isUnauthorized(error)) this.#saveError = describeError(error, 'Could not save the change');
    } finally {
      this.#saving = false;
      this.#host.requestUpdate();
    }
    return saved;
  }
}
