import { Task, TaskStatus } from '@lit/task';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { UserSession, UserSessions } from '../../../shared/src/index.js';
import { ApiError, describeError, endOtherSessions, endSession, isUnauthorized, listSessions, type ErrorDescription } from '../api/bff-client.js';

/** What the user is asked to confirm: ending one other session, or all of them. */
export type Confirmation = { kind: 'one'; session: UserSession } | { kind: 'others'; count: number };

/** A problem to show: a short title and a sentence. */
export type Problem = Pick<ErrorDescription, 'title' | 'message'>;

/** One template per state of the list; the element supplies them, the controller picks one. */
export interface SessionsRenderers<R> {
  loading: () => R;
  /** The list; `refreshing` while it is being reloaded (after an action, or Refresh). */
  list: (sessions: readonly UserSession[], refreshing: boolean) => R;
  failed: (problem: Problem) => R;
}

/** "1 other session", "3 other sessions". */
export function otherSessions(count: number): string {
  return count === 1 ? '1 other session' : `${count} other sessions`;
}

/**
 * The state of "Your sessions": the list (a @lit/task Task), the confirmation being asked, an
 * action in progress, and the outcome of the last one (a sentence for the live region, or a
 * problem). Nothing ends without `confirm()` after `ask()`. A 401 is handled app-wide (the
 * signed-out view), so it shows nothing here. HTTP stays in the API module.
 */
export class SessionsController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #list: Task<readonly [], UserSessions>;
  #confirming: Confirmation | undefined;
  #busy = false;
  #outcome: string | undefined;
  #problem: Problem | undefined;
  #loadAborted = false;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
    this.#list = new Task(host, {
      task: (_args: readonly [], { signal }) => listSessions(signal),
      args: () => [] as const,
    });
  }

  hostConnected(): void {
    if (!this.#loadAborted) return;
    this.#loadAborted = false;
    void this.#list.run();
  }

  hostDisconnected(): void {
    if (this.#list.status !== TaskStatus.PENDING) return;
    this.#loadAborted = true;
    this.#list.abort();
  }

  /** The last loaded sessions (kept while reloading), newest first. */
  get sessions(): readonly UserSession[] | undefined {
    return this.#list.value?.sessions;
  }

  /** Sessions other than this browser's. */
  get others(): readonly UserSession[] {
    return (this.sessions ?? []).filter((session) => !session.current);
  }

  get confirming(): Confirmation | undefined {
    return this.#confirming;
  }

  /** An action is on its way: the element disables its buttons. */
  get busy(): boolean {
    return this.#busy;
  }

  /** What the last action did, as a sentence for the live region. */
  get outcome(): string | undefined {
    return this.#outcome;
  }

  /** Why the last action failed, if it did. */
  get problem(): Problem | undefined {
    return this.#problem;
  }

  render<R>(renderers: SessionsRenderers<R>): R | undefined {
    return this.#list.render({
      initial: renderers.loading,
      pending: () => (this.sessions ? renderers.list(this.sessions, true) : renderers.loading()),
      complete: ({ sessions }) => renderers.list(sessions, false),
      error: (error) => (isUnauthorized(error) ? undefined : renderers.failed(describeError(error, 'Could not load your sessions'))),
    });
  }

  reload(): Promise<void> {
    return this.#list.run();
  }

  /** Asks before ending: one other session, or (without an argument) every other one. */
  ask(session?: UserSession): void {
    if (this.#busy) return;
    this.#confirming = session ? { kind: 'one', session } : { kind: 'others', count: this.others.length };
    this.#outcome = undefined;
    this.#problem = undefined;
    this.#host.requestUpdate();
  }

  cancel(): void {
    if (!this.#confirming) return;
    this.#confirming = undefined;
    this.#host.requestUpdate();
  }

  /** Does what was asked, then reloads the list. Resolves true when it was done. */
  async confirm(): Promise<boolean> {
    const asked = this.#confirming;
    if (!asked || this.#busy) return false;
    this.#confirming = undefined;
    this.#busy = true;
    this.#host.requestUpdate();
    let done = false;
    try {
      if (asked.kind === 'one') {
        await endSession(asked.session.handle);
        this.#outcome = `Signed out ${asked.session.device}. It will have to sign in again.`;
      } else {
        const { ended } = await endOtherSessions();
        this.#outcome = ended === 0 ? 'There were no other sessions to sign out.' : `Signed out ${otherSessions(ended)}.`;
      }
      done = true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.#outcome = 'That session had already ended.'; // elsewhere, or it expired: the list shows the truth
      } else if (!isUnauthorized(error)) {
        const { title, message } = describeError(error, 'Could not sign out');
        this.#problem = { title, message };
      }
    } finally {
      this.#busy = false;
      this.#host.requestUpdate();
    }
    await this.#list.run();
    return done;
  }
}
