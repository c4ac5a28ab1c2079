import { Task, TaskStatus } from '@lit/task';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { describeError, isUnauthorized, type ErrorDescription } from '../api/bff-client.js';

/** A problem to show: a short title and a sentence. */
export type Problem = Pick<ErrorDescription, 'title' | 'message'>;

/** One template per state of a list; the element supplies them, the controller picks one. */
export interface ListRenderers<T, R> {
  /** Nothing loaded yet. */
  loading: () => R;
  /** The list; `refreshing` while it is being reloaded (after a change, or Try again). */
  list: (items: readonly T[], refreshing: boolean) => R;
  /** Loading failed; `reload()` tries again. */
  failed: (problem: Problem) => R;
}

export interface ListTaskOptions<T> {
  /** Loads the list (through an API module); aborted with `signal` when the host leaves the page. */
  load: (signal: AbortSignal) => Promise<readonly T[]>;
  /** Titles a refused load ("Could not load your notes"). */
  failedTitle: string;
}

/**
 * A list loaded by a @lit/task Task, the part the list controllers (notes, sessions) share: it
 * loads on the host's first update, keeps the last list while reloading, renders one template per
 * state, and aborts a load its host no longer shows (loading it again if the host comes back).
 * A 401 renders nothing: the app shows the signed-out view for it.
 */
export class ListTask<T> implements ReactiveController {
  readonly #task: Task<readonly [], readonly T[]>;
  readonly #failedTitle: string;
  /** A load was cut off by hostDisconnected and has to be made again on reconnect. */
  #loadAborted = false;

  constructor(host: ReactiveControllerHost, { load, failedTitle }: ListTaskOptions<T>) {
    host.addController(this);
    this.#failedTitle = failedTitle;
    // The Task is a controller of the host too: it loads on the host's first update.
    this.#task = new Task(host, {
      task: (_args: readonly [], { signal }) => load(signal),
      args: () => [] as const,
    });
  }

  hostConnected(): void {
    if (!this.#loadAborted) return;
    this.#loadAborted = false;
    void this.#task.run();
  }

  hostDisconnected(): void {
    // The element is gone (e.g. the app signed out): do not keep a request going for nobody.
    if (this.#task.status !== TaskStatus.PENDING) return;
    this.#loadAborted = true;
    this.#task.abort();
  }

  /** The last loaded list, kept while it reloads; undefined before the first load or after a failed one. */
  get items(): readonly T[] | undefined {
    return this.#task.value;
  }

  /** A load is on its way. */
  get loading(): boolean {
    return this.#task.status === TaskStatus.PENDING;
  }

  /** The last load failed (its failure is what the list shows). */
  get failed(): boolean {
    return this.#task.status === TaskStatus.ERROR;
  }

  /** Loads the list again (Try again, Refresh, after a change). */
  reload(): Promise<void> {
    return this.#task.run();
  }

  /** Renders the list's current state with the element's templates (undefined renders nothing). */
  render<R>(renderers: ListRenderers<T, R>): R | undefined {
    return this.#task.render({
      initial: renderers.loading,
      pending: () => (this.items ? renderers.list(this.items, true) : renderers.loading()),
      complete: (items) => renderers.list(items, false),
      error: (error) => (isUnauthorized(error) ? undefined : renderers.failed(describeError(error, this.#failedTitle))),
    });
  }
}
