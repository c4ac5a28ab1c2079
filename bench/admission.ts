import { randomBytes } from 'node:crypto';
import { Budget } from '../bff/src/proxy/budget.js';

/**
 * The admission step alone, in this process: a slot taken and released per call, for 1,000
 * sessions round robin (the proxy does exactly this per call, plus one owner object). ns per call.
 */
export function admissionNs(): number {
  const budget = new Budget({ session: { each: 32, total: 2048 }, address: { each: 32, total: 2048 } });
  const owners = Array.from({ length: 1000 }, () => randomBytes(32).toString('base64url'));
  const calls = 2_000_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) budget.take({ kind: 'session', key: owners[i % owners.length]! })!.release();
  return Number(process.hrtime.bigint() - started) / calls;
}
