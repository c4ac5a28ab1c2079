import { Task, initialState } from '@lit/task';
import type { ReactiveControllerHost } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import { describeError, isUnauthorized } from '../api/bff-client.js';
import { canCall } from '../config/api-routes.js';
import type { Problem } from '../controllers/list-task.js';
import { strings } from '../strings.js';
import { ME_PATH, getMe, type Me } from './me-api.js';

/** One template per state of the call; the element supplies them, the controller picks one. */
export interface MeRenderers<R> {
  loading: () => R;
  me: (me: Me) => R;
  failed: (problem: Problem) => R;
}

/**
 * The state of the example call: a Task that calls `GET /api/me` once the `/api` route exists
 * (and again when it appears). HTTP stays in the API module; the element only renders. A 401
 * renders nothing: the app shows the signed-out view for it.
 */
export class MeController {
  readonly #routes: () => readonly RouteInfo[];
  readonly #task: Task<readonly [boolean], Me>;

  constructor(host: ReactiveControllerHost, routes: () => readonly RouteInfo[]) {
    this.#routes = routes;
    this.#task = new Task(host, {
      task: ([available], { signal }) => (available ? getMe(signal) : initialState),
      args: () => [this.available] as const,
    });
  }

  /** A route serves `GET /api/me`. */
  get available(): boolean {
    return canCall(this.#routes(), ME_PATH);
  }

  /** Calls the API again (Try again). */
  reload(): Promise<void> {
    return this.#task.run();
  }

  /** Renders the call's state; undefined (nothing) when no route serves it or the session ended. */
  render<R>(renderers: MeRenderers<R>): R | undefined {
    if (!this.available) return undefined;
    return this.#task.render({
      initial: renderers.loading,
      pending: renderers.loading,
      complete: renderers.me,
      error: (error) => (isUnauthorized(error) ? undefined : renderers.failed(describeError(error, strings.me.failed))),
    });
  }
}
