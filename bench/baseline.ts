import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `BENCH_BASELINE=<git ref>`: the BFF as it was at that commit, built in a temporary worktree
 * (sharing this checkout's node_modules), so a change's cost is measured before and after in
 * the same run, on the same machine, against the same upstream and Redis. Returns the
 * baseline's entry point (the last word of its own `start:bff` script), and how to remove it.
 */
export function buildBaseline(root: string, ref: string): { entry: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bff-baseline-'));
  execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { cwd: root, stdio: 'ignore' });
  const remove = () => execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: root, stdio: 'ignore' });
  try {
    if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: dir,
      stdio: 'inherit',
    });
    const script = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[
      'start:bff'
    ]!;
    return { entry: join(dir, script.split(/\s+/).at(-1)!), remove };
  } catch (error) {
    remove();
    throw error;
  }
}
