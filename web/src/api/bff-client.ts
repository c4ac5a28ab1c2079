import { BFF_PATHS, CSRF_HEADER, CSRF_HEADER_VALUE, type ErrorBody, type Note, type UserInfo } from '../../../shared/src/index.js';

/** A failed call: HTTP status, the BFF's error code and a message safe to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = (error: ApiError) => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever any call answers 401: the session ended, the app must show the signed-out view. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * The one fetch helper: same-origin only, always `X-CSRF: 1`, JSON errors turned into ApiError.
 * The browser attaches the HttpOnly session cookie; this code never sees it.
 */
export async function request<T>(path: string, init: RequestInit = {}, fetchImpl: typeof fetch = globalThis.fetch): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set(CSRF_HEADER, CSRF_HEADER_VALUE);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetchImpl(path, { ...init, headers, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'The app could not reach the server. Check your connection and try again.');
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (error.status === 401) for (const listener of unauthorizedListeners) listener(error);
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

async function toApiError(response: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> = {};
  try {
    body = (await response.json()) as Partial<ErrorBody>;
  } catch {
    // not JSON (e.g. a proxy's HTML error page): fall back to the status
  }
  const fallback =
    response.status === 401
      ? 'Your session ended. Please sign in again.'
      : response.status === 503
        ? 'Service temporarily unavailable. Please try again shortly.'
        : `The request failed (${response.status}).`;
  return new ApiError(response.status, typeof body.error === 'string' ? body.error : 'http_error', typeof body.message === 'string' ? body.message : fallback);
}

/** The signed-in user, or an ApiError with status 401 when signed out. */
export const getUser = () => request<UserInfo>(BFF_PATHS.user);
export const listNotes = () => request<Note[]>('/api/notes');
export const addNote = (text: string) => request<Note>('/api/notes', { method: 'POST', body: JSON.stringify({ text }) });
export const deleteNote = (id: string) => request<void>(`/api/notes/${encodeURIComponent(id)}`, { method: 'DELETE' });

/** Where the Sign in button goes: a full-page navigation, so the BFF can redirect to the provider. */
export function loginUrl(returnTo: string): string {
  return `${BFF_PATHS.login}?returnTo=${encodeURIComponent(returnTo)}`;
}
