import type { Note } from '../../../shared/src/index.js';
import { request } from '../api/bff-client.js';
import { parseNote, parseNotes } from '../api/validate.js';

/** The demo API's notes, through the BFF's `/api` route. */
export const NOTES_PATH = '/api/notes';
/** The live notes WebSocket: needs the `/api` route to take upgrades (`#websocket=true`). */
export const LIVE_NOTES_PATH = '/api/notes/live';

/** The user's notes, newest first. */
export const listNotes = (signal?: AbortSignal): Promise<Note[]> => request(NOTES_PATH, { signal, parse: parseNotes });

/** Adds a note; the API trims the text and answers 201 with the new note. */
export const addNote = (text: string): Promise<Note> =>
  request(NOTES_PATH, { method: 'POST', body: JSON.stringify({ text }), parse: parseNote });

/** Deletes a note (204; any body is ignored). */
export async function deleteNote(id: string): Promise<void> {
  await request(`${NOTES_PATH}/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
