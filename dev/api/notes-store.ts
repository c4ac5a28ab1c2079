import { randomUUID } from 'node:crypto';
import type { Note } from '../../shared/src/index.js';

/** Per-user notes, in memory. */
export interface NotesStore {
  /** The user's notes, newest first. */
  list(sub: string): Note[];
  add(sub: string, text: string): Note;
  /** False when the user has no note with this id. */
  remove(sub: string, id: string): boolean;
}

/**
 * Notes kept in memory, keyed by the token's `sub`: one user never sees another's notes, and
 * everything is gone on restart, which suits a demo API.
 */
export function createNotesStore(): NotesStore {
  const byUser = new Map<string, Note[]>();
  return {
    list(sub) {
      return [...(byUser.get(sub) ?? [])];
    },
    add(sub, text) {
      const note: Note = { id: randomUUID(), text, createdAt: Date.now() };
      // Newest first by insertion, so notes made in the same millisecond keep their order.
      byUser.set(sub, [note, ...(byUser.get(sub) ?? [])]);
      return note;
    },
    remove(sub, id) {
      const notes = byUser.get(sub) ?? [];
      const kept = notes.filter((note) => note.id !== id);
      if (kept.length === notes.length) return false;
      byUser.set(sub, kept);
      return true;
    },
  };
}
