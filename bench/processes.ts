/**
 * The bench's child processes and what it reads about them from /proc: CPU seconds and resident
 * memory of a process tree (the BFF's cluster primary and its workers count as one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every process the bench starts, so that one `stopAll()` ends them however the run ends. */
export type Children = ReturnType<typeof children>;

/** A register of started processes, spawned with `cwd` and this process's environment plus `env`. */
export function children(cwd: string) {
  const started: ChildProcess[] = [];
  const stopAll = () => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
  };
  // Stopped from outside (the smoke test's timeout, Ctrl-C): the BFFs, yardsticks and helpers go too,
  // instead of living on as orphans that hold ports and CPU.
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      stopAll();
      process.exit(1);
    });
  return {
    spawn(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
      const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      started.push(child);
      return child;
    },
    adopt(child: ChildProcess) {
      started.push(child);
      return child;
    },
    stopAll,
  };
}

/** The first line a child prints, parsed as JSON (the bench's helpers announce their port so). */
export async function firstLine<T>(child: ChildProcess): Promise<T> {
  return JSON.parse((await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next()).value as string) as T;
}

/** Resolves once the child has exited, with its exit code. */
export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.on('exit', resolve));
}

/** Polls `url` until it answers 2xx. */
export async function waitFor(url: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

/** A process and its children (the BFF's cluster workers), from /proc. */
export function processTree(pid: number): number[] {
  let members: number[] = [];
  try {
    members = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // process gone
  }
  return [pid, ...members.flatMap(processTree)];
}

/** A /proc file of a process, or '' when the process has gone meanwhile (short-lived helpers). */
function procFile(pid: number, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return '';
  }
}

/** CPU seconds (user + system) a process tree has used. */
export function cpuSeconds(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    const fields = procFile(member, 'stat').split(') ')[1]?.split(' ');
    if (fields) total += (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  }
  return total;
}

/** Resident memory of the largest single process in the tree (what one instance needs). */
export function rssMiB(pid: number): number {
  let largest = 0;
  for (const member of processTree(pid)) {
    const match = /VmRSS:\s+(\d+) kB/.exec(procFile(member, 'status'));
    largest = Math.max(largest, match ? Number(match[1]) / 1024 : 0);
  }
  return largest;
}
