import { Task, initialState } from '@lit/task';
import type { ReactiveControllerHost } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import { describeError, isUnauthorized } from '../api/bff-client.js';
import { canCall } from '../config/api-routes.js';
import type { Problem } from '../controllers/list-task.js';
import { strings } from '../strings.js';
import { GREETING_PATH, REPORTS_PATH, getGreeting, getReportsToken, type Greeting, type TokenView } from './demo-apis.js';

/** What the panel is shown for: the routes that exist and whether the user is signed in. */
export interface DemoApisInputs {
  routes: readonly RouteInfo[];
  signedIn: boolean;
}

/** One template per state of the greeting; the element supplies them. */
export interface GreetingRenderers<R> {
  loading: () => R;
  greeting: (greeting: Greeting) => R;
  failed: (problem: Problem) => R;
}

/** The demo APIs this panel can show with these routes (`/public`, and `/reports` once signed in). */
export function availableDemoApis({ routes, signedIn }: DemoApisInputs): { greeting: boolean; reports: boolean } {
  return { greeting: canCall(routes, GREETING_PATH), reports: signedIn && canCall(routes, REPORTS_PATH) };
}

/**
 * The state of "Calls through the BFF": the public greeting (a Task, loaded when its route
 * exists and again when the user signs in or out) and the reports call the user starts (busy,
 * its answer, why it failed). HTTP stays in the API module; the element only renders.
 */
export class DemoApisController {
  readonly #host: ReactiveControllerHost;
  readonly #inputs: () => DemoApisInputs;
  readonly #greeting: Task<readonly [boolean, boolean], Greeting>;
  #reports: TokenView | undefined;
  #busy = false;
  #problem: Problem | undefined;

  constructor(host: ReactiveControllerHost, inputs: () => DemoApisInputs) {
    this.#host = host;
    this.#inputs = inputs;
    this.#greeting = new Task(host, {
      task: ([available], { signal }) => (available ? getGreeting(signal) : initialState),
      args: () => [this.available.greeting, this.#inputs().signedIn] as const,
    });
  }

  /** Which of the demo's APIs have a route (and, for reports, a signed-in user). */
  get available(): { greeting: boolean; reports: boolean } {
    return availableDemoApis(this.#inputs());
  }

  /** Renders the greeting's state; nothing when its route does not exist. */
  renderGreeting<R>(renderers: GreetingRenderers<R>): R | undefined {
    if (!this.available.greeting) return undefined;
    return this.#greeting.render({
      initial: renderers.loading,
      pending: renderers.loading,
      complete: renderers.greeting,
      error: (error) => renderers.failed(describeError(error)),
    });
  }

  /** What the reports API saw in the token the BFF sent it, after a successful call. */
  get reports(): TokenView | undefined {
    return this.#reports;
  }

  /** The reports call is on its way: the element disables its button. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Why the last reports call failed, if it did (a 401 shows the signed-out view instead). */
  get problem(): Problem | undefined {
    return this.#problem;
  }

  /** Calls the reports API once. */
  async callReports(): Promise<void> {
    if (this.#busy || !this.available.reports) return;
    this.#busy = true;
    this.#problem = undefined;
    this.#host.requestUpdate();
    try {
      this.#reports = await getReportsToken();
    } catch (error) {
      if (!isUnauthorized(error)) {
        const { title, message } = describeError(error, strings.demoApis.reportsRefused);
        this.#problem = { title, message };
      }
    } finally {
      this.#busy = false;
      this.#host.requestUpdate();
    }
  }
}
