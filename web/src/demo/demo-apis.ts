import { request } from '../api/bff-client.js';

/**
 * The demo's calls that show route policies (docs/route-policies.md): each goes through the BFF,
 * which decides the token, so the SPA code is the same for every policy.
 */

/** `GET /public/hello` on a `token=user-or-none` route: answers signed in or not. */
export interface Greeting {
  greeting: string;
  signedIn: boolean;
}

/** What the reports API saw in the token the BFF sent it. */
export interface TokenView {
  sub: string;
  audience: string;
  scope: string;
}

function parseGreeting(body: unknown): Greeting | undefined {
  const { greeting, signedIn } = (body ?? {}) as Partial<Greeting>;
  return typeof greeting === 'string' && typeof signedIn === 'boolean' ? { greeting, signedIn } : undefined;
}

function parseTokenView(body: unknown): TokenView | undefined {
  const { sub, audience, scope } = (body ?? {}) as Partial<TokenView>;
  return typeof sub === 'string' && typeof audience === 'string' && typeof scope === 'string' ? { sub, audience, scope } : undefined;
}

/** The public greeting on a `token=user-or-none` route (`/public`). */
export const GREETING_PATH = '/public/hello';
/** The reports API on a route with its own audience (`/reports`). */
export const REPORTS_PATH = '/reports/me';

/** The public greeting: the user's token when signed in, no token otherwise. */
export const getGreeting = (signal?: AbortSignal): Promise<Greeting> => request(GREETING_PATH, { signal, parse: parseGreeting });

/** The reports API, called with the user's token for its own audience (obtained by the BFF on first use). */
export const getReportsToken = (signal?: AbortSignal): Promise<TokenView> => request(REPORTS_PATH, { signal, parse: parseTokenView });
