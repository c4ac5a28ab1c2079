/**
 * `npm run bench:sign-in-profile`: where a sign-in's BFF CPU goes. Starts the bench stack, signs
 * in `SIGN_INS` times (PAR off unless OIDC_PAR=true) at one BFF worker running under --cpu-prof,
 * and prints the profile of the measured sign-ins only (the start-up and warm-up are cut off at an
 * idle gap): self time by package or kit file, inclusive time of the kit's files, and the top
 * functions. Run it under each runtime (`/path/to/node24 --import tsx bench/sign-in-profile.ts`).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { signInCost } from './sign-in.js';
import { startStack } from './stack.js';

const SIGN_INS = Number(process.env.SIGN_INS ?? 300);
/** The pause between warm-up and measurement: the profile is cut at the last idle run this long. */
const GAP_MS = 1500;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame belongs: a package, a kit file, a Node internal area, or a V8 pseudo-frame. */
function placeOf({ functionName, url }: ProfileNode['callFrame']): string {
  if (!url) return functionName; // (garbage collector), (program), (idle)
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const kit = /dist\/((?:bff|shared)\/src\/.+)\.js$/.exec(url);
  if (kit) return kit[1]!;
  const internal = /^node:(?:internal\/)?([^/]+)/.exec(url);
  return internal ? `node:${internal[1]}` : url;
}

/** Microseconds per place (self), per kit file (inclusive) and per function (self), after the gap. */
function summarize(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Cut where the last quiet stretch of GAP_MS ends (under 10% busy: the BFF's timers still tick
  // in it): what follows is the measured sign-ins.
  const times: number[] = [];
  const busy: number[] = [];
  let now = 0;
  let busyTotal = 0;
  profile.samples.forEach((id, i) => {
    times.push((now += profile.timeDeltas[i]!));
    if (byId.get(id)!.callFrame.functionName !== '(idle)') busyTotal += profile.timeDeltas[i]!;
    busy.push(busyTotal);
  });
  let start = 0;
  for (let i = 0, from = 0; i < times.length; i++) {
    while (times[i]! - times[from]! > GAP_MS * 1000) from++;
    if (times[i]! - times[from]! > GAP_MS * 900 && busy[i]! - busy[from]! < GAP_MS * 100) start = i + 1;
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const functions = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  let busyUs = 0;
  for (let i = start; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i]!; // a delta leads up to its sample
    if (node.callFrame.functionName === '(idle)') continue;
    busyUs += us;
    add(self, placeOf(node.callFrame), us);
    const { functionName, url, lineNumber } = node.callFrame;
    add(functions, `${functionName || '(anonymous)'} ${placeOf(node.callFrame)}${url ? `:${lineNumber + 1}` : ''}`, us);
    const files = new Set<string>();
    for (let at: number | undefined = node.id; at !== undefined; at = parent.get(at)) {
      const place = placeOf(byId.get(at)!.callFrame);
      if (place.startsWith('bff/') || place.startsWith('shared/')) files.add(place);
    }
    for (const file of files) add(inclusive, file, us);
  }
  return { busyUs, self, inclusive, functions };
}

/** CPU seconds (user, system) of each of the process's threads, by thread name. */
function threadCpu(pid: number): Map<string, { user: number; system: number }> {
  const threads = new Map<string, { user: number; system: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const sum = threads.get(name) ?? { user: 0, system: 0 };
      threads.set(name, { user: sum.user + Number(fields[11]) / 100, system: sum.system + Number(fields[12]) / 100 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

function table(title: string, map: Map<string, number>, perSignIn: (us: number) => string, rows: number) {
  console.log(`\n| ${title} | ms per sign-in |\n| --- | --- |`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`| ${key} | ${perSignIn(us)} |`);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const profileDir = mkdtempSync(join(tmpdir(), 'sign-in-profile-'));
const stack = await startStack(root, { ports: 1, workers: 1 });
try {
  const bff = await stack.startBff(
    { BFF_WORKERS: '1', OIDC_PAR: process.env.OIDC_PAR ?? 'false' },
    { nodeFlags: ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${profileDir}`] },
  );
  await signInCost(stack, stack.redis.client, bff, 30); // warm up: compiled paths, pooled connections, JWKS
  await sleep(GAP_MS + 500);
  const threadsBefore = threadCpu(bff.pid);
  const cost = await signInCost(stack, stack.redis.client, bff, SIGN_INS);
  const threadsAfter = threadCpu(bff.pid);
  await bff.stop();
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written to ${profileDir}`);
  const { busyUs, self, inclusive, functions } = summarize(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile);
  const perSignIn = (us: number) => (us / SIGN_INS / 1000).toFixed(3);
  console.log(
    `Sign-in profile - Node ${process.version}, ${SIGN_INS} sign-ins, PAR ${process.env.OIDC_PAR ?? 'false'}: ` +
      `${cost.bffCpuMs.toFixed(2)} ms BFF CPU per sign-in (/proc), ${perSignIn(busyUs)} ms in the profile, ` +
      `${cost.redisCommands.toFixed(1)} Redis commands`,
  );
  console.log('\n| thread (/proc) | user ms per sign-in | system ms per sign-in |\n| --- | --- | --- |');
  for (const [name, after] of threadsAfter) {
    const before = threadsBefore.get(name) ?? { user: 0, system: 0 };
    const ms = (seconds: number) => ((seconds * 1000) / SIGN_INS).toFixed(2);
    if (after.user + after.system > before.user + before.system)
      console.log(`| ${name} | ${ms(after.user - before.user)} | ${ms(after.system - before.system)} |`);
  }
  table('self time: package, kit file or V8', self, perSignIn, 25);
  table('inclusive time: kit file', inclusive, perSignIn, 25);
  table('self time: function', functions, perSignIn, 30);
  console.log(`\nprofile: ${join(profileDir, file)}`);
} finally {
  await stack.stop();
}
