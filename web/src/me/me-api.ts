import { request } from '../api/bff-client.js';

/**
 * The example call of the kit: `GET /api/me` through the BFF's `/api` route. The BFF adds the
 * user's access token; the API answers whom the token speaks for. Replace it with your API's calls.
 */

/** What the API saw in the token the BFF sent it. */
export interface Me {
  sub: string;
  audience?: string;
  scope?: string;
}

/** The path of the example call (under the `/api` route). */
export const ME_PATH = '/api/me';

/** The answer if it has the expected shape, undefined otherwise (request() then fails the call). */
function parseMe(body: unknown): Me | undefined {
  const { sub, audience, scope } = (body ?? {}) as Record<string, unknown>;
  if (typeof sub !== 'string') return undefined;
  if (audience !== undefined && typeof audience !== 'string') return undefined;
  if (scope !== undefined && typeof scope !== 'string') return undefined;
  return { sub, audience, scope };
}

/** Calls `GET /api/me`. */
export const getMe = (signal?: AbortSignal): Promise<Me> => request(ME_PATH, { signal, parse: parseMe });
