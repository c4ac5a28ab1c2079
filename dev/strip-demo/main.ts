/**
 * `npm run strip-demo [-- --force]`: removes the demo (the notes, reports and public APIs, live
 * notes, their panels and tests, marked README parts) and leaves the minimal app. Deletes files,
 * so it refuses to run with uncommitted changes unless `--force`. A second run has nothing to do.
 */
import { fileURLToPath } from 'node:url';
import { apply, dirtyReason, MarkerError, plan } from './strip.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const force = process.argv.includes('--force');

try {
  const todo = plan(root);
  if (todo.remove.length === 0 && todo.rewrite.size === 0) {
    console.log('strip-demo: nothing to strip (the demo is already gone).');
    process.exit(0);
  }
  const dirty = dirtyReason(root);
  if (dirty && !force) {
    console.error(`strip-demo: refusing to run: ${dirty}. Commit first (the strip deletes files), or pass --force.`);
    process.exit(1);
  }
  apply(root, todo);
  for (const path of todo.remove) console.log(`removed   ${path}`);
  for (const file of todo.rewrite.keys()) console.log(`stripped  ${file}`);
  console.log('strip-demo: done. `npm test` and `npm start` run the minimal app (GET /api/me on dev/me-api).');
} catch (error) {
  if (!(error instanceof MarkerError)) throw error;
  console.error(`strip-demo: nothing changed: ${error.message}`);
  process.exit(1);
}
