import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { BffConfig, RouteInfo } from '../../../shared/src/index.js';
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
  #settle!: (config: BffConfig | undefined) => void;
  /** The answer once it came (undefined when it failed): the session controller's signed-in hint. */
  readonly ready = new Promise<BffConfig | undefined>((resolve) => (this.#settle = resolve));

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
    let config: BffConfig | undefined;
    try {
      config = await getConfig();
    } catch {
      config = undefined;
    }
    this.#routes = config?.routes ?? [];
    this.#settle(config);
    this.#host.requestUpdate();
  }
}
