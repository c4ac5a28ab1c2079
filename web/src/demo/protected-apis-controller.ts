import type { ReactiveControllerHost } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import { describeError, isUnauthorized, request } from '../api/bff-client.js';
import { canCall } from '../config/api-routes.js';
import type { Problem } from '../controllers/list-task.js';
import { strings } from '../strings.js';

/** The demo's routes with access rules (docs/step-up.md): each answers who the API saw. */
export const PROTECTED_APIS = {
  /** `acr=urn:bff-kit:acr:mfa`: a call needs a sign-in with the second factor (step-up). */
  admin: '/admin/me',
  /** `require=preferred_username:alice`: only Alice's calls pass (403 for everyone else). */
  alice: '/alice/me',
} as const;
export type ProtectedApi = keyof typeof PROTECTED_APIS;

function parseSeen(body: unknown): { sub: string } | undefined {
  const { sub } = (body ?? {}) as { sub?: unknown };
  return typeof sub === 'string' ? { sub } : undefined;
}

/**
 * The state of "Protected calls": which of the routes exist, and for each call the user starts:
 * busy, answered (the `sub` the API saw) or why it failed. A step-up request is not a failure
 * here: the step-up prompt handles it.
 */
export class ProtectedApisController {
  readonly #answers = new Map<ProtectedApi, string>();
  #busy: ProtectedApi | undefined;
  #problem: Problem | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly routes: () => readonly RouteInfo[],
  ) {}

  /** The calls whose routes exist. */
  get available(): ProtectedApi[] {
    return (Object.keys(PROTECTED_APIS) as ProtectedApi[]).filter((api) => canCall(this.routes(), PROTECTED_APIS[api]));
  }

  answer(api: ProtectedApi): string | undefined {
    return this.#answers.get(api);
  }

  get busy(): ProtectedApi | undefined {
    return this.#busy;
  }

  get problem(): Problem | undefined {
    return this.#problem;
  }

  async call(api: ProtectedApi): Promise<void> {
    if (this.#busy) return;
    this.#busy = api;
    this.#problem = undefined;
    this.host.requestUpdate();
    try {
      const seen = await request(PROTECTED_APIS[api], { parse: parseSeen });
      this.#answers.set(api, seen.sub);
    } catch (error) {
      const stepUp = error instanceof Error && 'stepUp' in error && error.stepUp !== undefined;
      if (!isUnauthorized(error) && !stepUp) this.#problem = describeError(error, strings.protectedApis.refused);
    } finally {
      this.#busy = undefined;
      this.host.requestUpdate();
    }
  }
}
