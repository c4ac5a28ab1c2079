import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import { getConfig } from '../api/bff-client.js';

/**
 * The routes the SPA may call, from `GET /bff/config`, asked once when the host first connects.
 * Panels that call an API render only once this is known and only when their route exists, so a
 * kit configured with fewer routes makes no call that can only fail.
 */
export class ConfigController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  #routes: readonly RouteInfo[] | undefined;
  #asked = false;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    if (this.#asked) return;
    this.#asked = true;
    void this.#load();
  }

  /**
   * The routes; undefined until the answer came. A failed answer counts as no routes: the panels
   * that need none (the user card, Your sessions) still work, and nothing calls a route blindly.
   */
  get routes(): readonly RouteInfo[] | undefined {
    return this.#routes;
  }

  async #load(): Promise<void> {
    try {
      this.#routes = (await getConfig()).routes;
    } catch {
      this.#routes = [];
    }
    this.#host.requestUpdate();
  }
}
