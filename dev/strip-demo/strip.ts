import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { DEMO_PATHS, MARKED_FILE_ENDINGS, SKIPPED_FOLDERS } from './manifest.js';

/** A marker line: nothing else on it, in a code comment or an HTML/Markdown comment. */
const MARKER = /^\s*(?:\/\/ demo:(start|end)|<!-- demo:(start|end) -->)\s*$/;

/** A file whose markers do not pair up: stripping it would cut the wrong lines. */
export class MarkerError extends Error {}

/**
 * `text` without its marked regions (marker lines included), or undefined when it has none.
 * Regions do not nest; an unpaired marker throws MarkerError naming the line.
 */
function stripMarkedRegions(text: string, name: string): string | undefined {
  const lines = text.split('\n');
  const kept: string[] = [];
  let openedAt: number | undefined;
  let found = false;
  for (const [i, line] of lines.entries()) {
    const match = MARKER.exec(line);
    const kind = match ? (match[1] ?? match[2]) : undefined;
    if (kind === 'start') {
      if (openedAt !== undefined) throw new MarkerError(`${name}:${i + 1}: demo:start inside the region opened on line ${openedAt + 1}`);
      openedAt = i;
      found = true;
    } else if (kind === 'end') {
      if (openedAt === undefined) throw new MarkerError(`${name}:${i + 1}: demo:end without demo:start`);
      openedAt = undefined;
    } else if (openedAt === undefined) {
      kept.push(line);
    }
  }
  if (openedAt !== undefined) throw new MarkerError(`${name}:${openedAt + 1}: demo:start without demo:end`);
  return found ? kept.join('\n') : undefined;
}

/** Every file under `root` that may hold markers (relative paths). */
export function markedCandidates(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_FOLDERS.includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...markedCandidates(root, path));
    else if (entry.isFile() && MARKED_FILE_ENDINGS.includes(extname(entry.name))) files.push(relative(root, path));
  }
  return files;
}

/** What a run would change: demo paths that exist, and files with marked regions (new text). */
export function plan(root: string): { remove: string[]; rewrite: Map<string, string> } {
  const remove = DEMO_PATHS.filter((path) => existsSync(join(root, path)));
  const rewrite = new Map<string, string>();
  for (const file of markedCandidates(root)) {
    if (remove.some((path) => file === path || file.startsWith(`${path}/`))) continue;
    const stripped = stripMarkedRegions(readFileSync(join(root, file), 'utf8'), file);
    if (stripped !== undefined) rewrite.set(file, stripped);
  }
  return { remove, rewrite };
}

/**
 * Why the run must not go ahead without --force: uncommitted changes (they could not be told
 * apart from what the strip does, nor got back), or no git to ask. Undefined: clean.
 */
export function dirtyReason(root: string): string | undefined {
  let status: string;
  try {
    status = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return 'this is not a git checkout, so nothing could be restored';
  }
  return status.trim() ? 'the working tree has uncommitted changes' : undefined;
}

/** Applies a plan. */
export function apply(root: string, { remove, rewrite }: ReturnType<typeof plan>): void {
  for (const path of remove) rmSync(join(root, path), { recursive: true, force: true });
  for (const [file, text] of rewrite) writeFileSync(join(root, file), text);
}
