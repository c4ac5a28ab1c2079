import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { UserSession } from '../../../shared/src/index.js';
import { ApiError, describeError, endOtherSessions, endSession, isUnauthorized, listSessions } from '../api/bff-client.js';
import { ListTask, type ListRenderers, type Problem } from '../controllers/list-task.js';
import { strings } from '../strings.js';

export type { Problem } from '../controllers/list-task.js';

/** What the user is asked to confirm: ending one other session, or all of them. */
export type Confirmation = { kind: 'one'; session: UserSession } | { kind: 'others'; count: number };

/** One template per state of the list; the element supplies them, the controller picks one. */
export type SessionsRenderers<R> = ListRenderers<UserSession, R>;

/** Any part of the app that ended sessions elsewhere dispatches a `changed` event here: "Your sessions" loads again. */
export const sessionsChanged = new EventTarget();

/** "1 other session", "3 other sessions". */
export const otherSessions = (count: number): string => strings.sessions.others(count);

/**
 * The state of "Your sessions": the list (a ListTask), the confirmation being asked, an
 * action in progress, and the outcome of the last one (a sentence for the live region, or a
 * problem). Nothing ends without `confirm()` after `ask()`. A 401 is handled app-wide (the
 * signed-out view), so it shows nothing here. HTTP stays in the API module.
 */
export class SessionsController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #list: ListTask<UserSession>;
  #confirming: Confirmation | undefined;
  #busy = false;
  #outcome: string | undefined;
  #problem: Problem | undefined;

  constructor(host: ReactiveControllerHost) {
    this.#host = host; // the ListTask hooks itself into the host's lifecycle; this only asks for updates
    this.#list = new ListTask(host, {
      load: async (signal) => (await listSessions(signal)).sessions,
      failedTitle: strings.sessions.loadFailed,
    });
    host.addController(this);
  }

  readonly #changed = () => void this.reload();

  hostConnected(): void {
    sessionsChanged.addEventListener('changed', this.#changed);
  }

  hostDisconnected(): void {
    sessionsChanged.removeEventListener('changed', this.#changed);
  }

  /** The last loaded sessions (kept while reloading), newest first. */
  get sessions(): readonly UserSession[] | undefined {
    return this.#list.items;
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

  /** Renders the list's current state with the element's templates (undefined renders nothing). */
  render<R>(renderers: SessionsRenderers<R>): R | undefined {
    return this.#list.render(renderers);
  }

  /** Loads the list again (Refresh, Try again). */
  reload(): Promise<void> {
    return this.#list.reload();
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
        this.#outcome = strings.sessions.signedOutOne(asked.session.device);
      } else {
        const { ended } = await endOtherSessions();
        this.#outcome = ended === 0 ? strings.sessions.signedOutNone : strings.sessions.signedOutOthers(otherSessions(ended));
      }
      done = true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.#outcome = strings.sessions.alreadyEnded; // elsewhere, or it expired: the list shows the truth
      } else if (!isUnauthorized(error)) {
        const { title, message } = describeError(error, strings.sessions.signOutFailed);
        this.#problem = { title, message };
      }
    } finally {
      this.#busy = false;
      this.#host.requestUpdate();
    }
    await this.#list.reload();
    return done;
  }
}
