import { ensureBuiltSpa } from './spa.js';

/** Before any test file runs: the SPA the browser tests serve, built from the current sources. */
export default async function setup() {
  await ensureBuiltSpa();
}
