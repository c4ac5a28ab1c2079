import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `moduleUrl` (its `import.meta.url`) is the script Node was started with.
 * Both sides are turned into real file paths before they are compared: `import.meta.url` is
 * percent-encoded (a space is `%20`) and names the file after symlinks are resolved, while
 * `process.argv[1]` is the path as typed, through any symlink, with Windows drive letters and
 * backslashes. Comparing `file://${argv[1]}` by hand fails on all three, and the process then
 * exits 0 without doing anything.
 */
export function isEntryPoint(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(resolve(argv1));
  } catch {
    // A path that does not exist (e.g. `node -e`) is not this module.
    return false;
  }
}
