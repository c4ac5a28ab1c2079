import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { SessionCache } from './session/session-cache.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30];

/** Prometheus metrics of one BFF instance, in a registry of its own (tests run several apps per process). */
export function createMetrics(cache?: SessionCache) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (cache) registerCacheMetrics(registry, cache);
  return {
    registry,
    requests: new LatencyHistogram(registry, 'bff_http_request_duration_seconds', 'BFF request latency by route class and status', [
      'route',
      'method',
      'status',
    ]),
    upstream: new LatencyHistogram(
      registry,
      'bff_upstream_duration_seconds',
      'Time to the upstream response headers, by API route prefix and outcome',
      ['route', 'outcome'],
    ),
    signIns: new Counter({
      name: 'bff_sign_ins_total',
      help: 'Completed sign-ins',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    refreshes: new Counter({
      name: 'bff_token_refreshes_total',
      help: 'Refresh grants',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    liveConnections: new Gauge({
      name: 'bff_live_connections',
      help: 'Open WebSockets and event streams through the proxy',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    liveConnectionsClosed: new Counter({
      name: 'bff_live_connections_closed_total',
      help: 'Closed WebSockets and event streams, by kind and reason (browser, upstream, session_ended, shutdown, error)',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    }),
    tokenExchanges: new Counter({
      name: 'bff_token_exchanges_total',
      help: 'Token exchanges (RFC 8693) for token=exchange routes: ok, forbidden (refused by policy), failed',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    clientTokens: new Counter({
      name: 'bff_client_token_grants_total',
      help: 'Client credentials grants',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    backchannelLogouts: new Counter({
      name: 'bff_backchannel_logouts_total',
      help: 'Back-channel logout requests',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    securityEvents: new Counter({
      name: 'bff_security_events_total',
      help: 'Security Event Tokens pushed to /bff/ssf (Shared Signals), by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * `bff_ready{check}`: what `/readyz` checks, as a gauge Prometheus can alert on (a load balancer
 * reads `/readyz`; Prometheus reads `/metrics`). `store` pings Redis on each scrape, `provider`
 * is 1 once discovery succeeded.
 */
export function registerReadiness(registry: Registry, store: { ping(): Promise<void> }, provider: { readonly ready: boolean }): void {
  new Gauge({
    name: 'bff_ready',
    help: 'Readiness checks (1 ok, 0 failing): store (Redis answers a ping), provider (metadata loaded)',
    labelNames: ['check'] as const,
    registers: [registry],
    async collect() {
      const storeUp = await store.ping().then(
        () => 1,
        () => 0,
      );
      this.set({ check: 'store' }, storeUp);
      this.set({ check: 'provider' }, provider.ready ? 1 : 0);
    },
  });
}

/**
 * The session cache's lookups and size, read from its plain counters when scraped: counting
 * through prom-client on every proxied call would cost more than the lookup itself.
 */
function registerCacheMetrics(registry: Registry, cache: SessionCache): void {
  new Counter({
    name: 'bff_session_cache_lookups_total',
    help: 'Session cache lookups on the proxy and /bff paths, by result',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'hit' }, cache.hits);
      this.inc({ result: 'miss' }, cache.misses);
    },
  });
  new Gauge({
    name: 'bff_session_cache_entries',
    help: 'Session records cached in this instance',
    registers: [registry],
    collect() {
      this.set(cache.size);
    },
  });
  new Gauge({
    name: 'bff_session_cache_live',
    help: '1 while session changes are heard through Redis pub/sub (the cache is used), 0 otherwise',
    registers: [registry],
    collect() {
      this.set(cache.live ? 1 : 0);
    },
  });
}

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative; summed up when scraped), the last one is +Inf. */
  counts: number[];
  sum: number;
}

/**
 * A Prometheus histogram made for the per-request path, registered into prom-client's registry
 * (which formats and serves it with everything else). Why not prom-client's Histogram: in the
 * proxy's profile each of its observations cost about 4 µs (label validation and hashing,
 * bucket objects keyed by float strings), the largest single item of the BFF's own code per call.
 * Here an observation is a Map lookup by label values and one array increment.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Series>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** Records one duration; `labelValues` in the order of `labelNames`. */
  observe(seconds: number, ...labelValues: string[]): void {
    const key = labelValues.join('\n');
    let series = this.#series.get(key);
    if (!series) {
      if (labelValues.length !== this.labelNames.length) throw new TypeError(`${this.name} takes ${this.labelNames.length} label values`);
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, labelValues[i]!]));
      series = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0 };
      this.#series.set(key, series);
    }
    let bucket = 0;
    while (bucket < this.buckets.length && seconds > this.buckets[bucket]!) bucket++;
    series.counts[bucket]!++;
    series.sum += seconds;
  }

  /** What prom-client's registry asks of a metric when it is scraped. */
  get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const { labels, counts, sum } of this.#series.values()) {
      let cumulative = 0;
      counts.forEach((count, i) => {
        cumulative += count;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le: i < this.buckets.length ? this.buckets[i]! : '+Inf' },
          value: cumulative,
        });
      });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#series.clear();
  }
}
