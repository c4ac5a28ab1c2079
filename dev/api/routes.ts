import { Router } from '@koa/router';
import type { AuthState, OptionalAuthState } from './bearer-auth.js';
import { BodyError, readJsonBody } from './json-body.js';
import type { NotesStore } from './notes-store.js';

/** Length limits of a note's text, in characters (code points), after trimming. */
export const NOTE_TEXT = { min: 1, max: 500 } as const;

/** Paths under this prefix answer without a token too. */
export const PUBLIC_PREFIX = '/public/';

/** The note text of a `POST /notes` body, or an error message. */
function noteText(body: unknown): { text: string } | { error: string } {
  const text = (body as { text?: unknown } | null)?.text;
  if (typeof text !== 'string') return { error: 'text must be a string' };
  const trimmed = text.trim();
  const length = [...trimmed].length;
  if (length < NOTE_TEXT.min || length > NOTE_TEXT.max) return { error: `text must be ${NOTE_TEXT.min} to ${NOTE_TEXT.max} characters` };
  return { text: trimmed };
}

/**
 * The demo API's routes; every one runs after `bearerAuth`, so `ctx.state.auth.sub` is the user.
 *
 * - `GET /me`            `{ sub, scope, audience, clientId, jkt }` of the token (a client token's `sub` is the
 *                         client; `jkt` the thumbprint of the DPoP key it is bound to, if any)
 * - `GET /public/hello`  public: `{ greeting, signedIn }`, naming the user when the call carries a user's token
 * - `GET /notes`         the user's notes, newest first
 * - `POST /notes`        `{ text }` -> 201 with the new note
 * - `DELETE /notes/:id`  204, or 404 when the user has no such note
 */
export function createApiRouter(notes: NotesStore): Router<AuthState> {
  const router = new Router<AuthState>();

  router.get('/me', (ctx) => {
    const { sub, scope, audience, clientId, jkt } = ctx.state.auth;
    ctx.body = { sub, scope, audience, clientId, jkt };
  });

  router.get('/public/hello', (ctx) => {
    const auth = (ctx.state as OptionalAuthState).auth;
    // A client-credentials token speaks for the BFF itself: its subject is the client.
    const user = auth && auth.sub !== auth.clientId ? auth.sub : undefined;
    ctx.body = { greeting: user ? `Hello, ${user}!` : 'Hello, guest!', signedIn: user !== undefined };
  });

  router.get('/notes', (ctx) => {
    ctx.body = notes.list(ctx.state.auth.sub);
  });

  router.post('/notes', async (ctx) => {
    let body: unknown;
    try {
      body = await readJsonBody(ctx);
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      ctx.status = error.status;
      ctx.body = { error: 'bad_request', message: error.message };
      return;
    }
    const input = noteText(body);
    if ('error' in input) {
      ctx.status = 400;
      ctx.body = { error: 'bad_request', message: input.error };
      return;
    }
    ctx.status = 201;
    ctx.body = notes.add(ctx.state.auth.sub, input.text);
  });

  router.delete('/notes/:id', (ctx) => {
    if (notes.remove(ctx.state.auth.sub, ctx.params.id!)) {
      ctx.status = 204;
      return;
    }
    ctx.status = 404;
    ctx.body = { error: 'not_found', message: 'no such note' };
  });

  return router;
}
