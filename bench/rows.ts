/**
 * The rows of `npm run bench`, declared as data: what is loaded, with which headers, whose CPU
 * is measured and what makes the row invalid. bench/measure.ts measures any of them.
 */
import type { Row } from './measure.js';

/** A process serving a row: where to load it and which process tree to measure. */
export interface Target {
  url: string;
  pid: number;
}

/** What the main rows are declared from. */
export interface MainTargets {
  upstreamUrl: string;
  floor: Target;
  nginx: Target | undefined;
  bff: Target;
  dpop: Target;
  baseline: Target | undefined;
  /** A session signed in at `baseline` itself: an older build may not read this build's records. */
  baselineHeaders: Record<string, string> | undefined;
  /** A signed-in call's headers at `bff`. */
  headers: Record<string, string>;
  /** A signed-in call's headers at `dpop`. */
  dpopHeaders: Record<string, string>;
}

/**
 * The rows measured in interleaved rounds: the upstream directly, the two yardsticks (the bare
 * Node proxy and nginx), the BFF, the BFF at BENCH_BASELINE, and the BFF with DPoP (a proof
 * signed per call). Order is the order of every round.
 */
export function mainRows(t: MainTargets): Row[] {
  const rows: (Row | false)[] = [
    { name: 'direct', url: `${t.upstreamUrl}/items`, headers: {}, yardstick: true },
    { name: 'floor', url: t.floor.url, headers: {}, pid: t.floor.pid, yardstick: true },
    t.nginx !== undefined && { name: 'nginx', url: t.nginx.url, headers: {}, pid: t.nginx.pid, yardstick: true },
    {
      name: 'proxied',
      url: `${t.bff.url}/api/items`,
      headers: t.headers,
      pid: t.bff.pid,
      sampleRss: true,
      countRedis: true,
      forwardedAs: 'withBearer',
    },
    t.baseline !== undefined && {
      name: 'baseline',
      url: `${t.baseline.url}/api/items`,
      headers: t.baselineHeaders!,
      pid: t.baseline.pid,
      forwardedAs: 'withBearer',
    },
    { name: 'dpop', url: `${t.dpop.url}/api/items`, headers: t.dpopHeaders, pid: t.dpop.pid, forwardedAs: 'withDpop' },
  ];
  return rows.filter((row): row is Row => row !== false);
}

/** The BFF with a full session cache, loaded once more for its memory. */
export function fullCacheRow(bff: Target, headers: Record<string, string>): Row {
  return {
    name: 'proxied with a full cache',
    url: `${bff.url}/api/items`,
    headers,
    pid: bff.pid,
    sampleRss: true,
    forwardedAs: 'withBearer',
  };
}

/**
 * The BFF again with tracing on (docs/observability.md): every request sampled, and sampled
 * never unless the caller's traceparent says so (autocannon sends none): the SDK still makes a
 * span context and a traceparent per call, but records and exports nothing.
 */
export const TRACED = {
  sampled: { OTEL_TRACES_SAMPLER: 'always_on' },
  unsampled: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
} as const;
export type TracedVariant = keyof typeof TRACED;

/** A traced BFF's row; `exports()` counts the OTLP exports it made (checked once it has stopped). */
export function tracedRow(variant: TracedVariant, bff: Target, headers: Record<string, string>, exports: () => number): Row {
  return {
    name: `traced ${variant}`,
    url: `${bff.url}/api/items`,
    headers,
    pid: bff.pid,
    forwardedAs: 'withBearer',
    invalidWhen: () => {
      if (variant === 'sampled' && exports() === 0) return 'every call sampled, yet nothing was exported';
      if (variant === 'unsampled' && exports() > 0) return `nothing sampled, yet ${exports()} exports`;
      return undefined;
    },
  };
}
