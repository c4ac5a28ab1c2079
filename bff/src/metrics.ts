import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one BFF instance, in a registry of its own (tests run several apps per process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Histogram({
      name: 'bff_http_request_duration_seconds',
      help: 'BFF request latency by route class and status',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    upstream: new Histogram({
      name: 'bff_upstream_duration_seconds',
      help: 'Time to the upstream response headers, by API route prefix and outcome',
      labelNames: ['route', 'outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
      registers: [registry],
    }),
    signIns: new Counter({ name: 'bff_sign_ins_total', help: 'Completed sign-ins', labelNames: ['result'] as const, registers: [registry] }),
    refreshes: new Counter({ name: 'bff_token_refreshes_total', help: 'Refresh grants', labelNames: ['result'] as const, registers: [registry] }),
    backchannelLogouts: new Counter({
      name: 'bff_backchannel_logouts_total',
      help: 'Back-channel logout requests',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
