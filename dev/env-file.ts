import { existsSync } from 'node:fs';

/**
 * Reads `path` (default `.env` in the working directory, the checkout's root under npm) into
 * `process.env` when the file exists, with Node's own parser (`process.loadEnvFile`, no
 * dependency). A variable already in the real environment wins over the file, so
 * `PORT=3001 npm start` still means port 3001. Returns whether a file was read.
 */
export function loadEnvFile(path = '.env'): boolean {
  if (!existsSync(path)) return false;
  process.loadEnvFile(path);
  return true;
}
