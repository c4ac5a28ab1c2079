import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Note } from '../../shared/src/index.js';

/** Per-user notes, in memory. */
export interface NotesStore {
  /** The user's notes, newest first. */
  list(sub: string): Note[];
  add(sub: string, text: string): Note;
  /** False when the user has no note with this id. */
  remove(sub: string, id: string): boolean;
  /** Calls `listener` after each change to this user's notes; returns the unsubscribe function. */
  watch(sub: string, listener: () => void): () => void;
}

/**
 * Notes kept in memory, keyed by the token's `sub`: one user never sees another's notes, and
 * everything is gone on restart, which suits a demo API.
 */
export function createNotesStore(): NotesStore {
  const byUser = new Map<string, Note[]>();
  const changes = new EventEmitter().setMaxListeners(0);
  return {
    list(sub) {
      return [...(byUser.get(sub) ?? [])];
    },
    add(sub, text) {
      const note: Note = { id: randomUUID(), text, createdAt: Date.now() };
      // Newest first by insertion, so notes made in the same millisecond keep their order.
      byUser.set(sub, [note, ...(byUser.get(sub) ?? [])]);
      changes.emit(sub);
      return note;
    },
    remove(sub, id) {
      const notes = byUser.get(sub) ?? [];
      const kept = notes.filter((note) => note.id !== id);
      if (kept.length === notes.length) return false;
      byUser.set(sub, kept);
      changes.emit(sub);
      return true;
    },
    watch(sub, listener) {
      changes.on(sub, listener);
      return () => void changes.off(sub, listener);
    },
  };
}
