import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TracingSettings } from '../config-tracing.js';
import type { Logger } from '../logger.js';

export type { TracingSettings };

/**
 * The tracing hooks the BFF calls, without a single OpenTelemetry import: the SDK lives in
 * `otel.ts`, which {@link startTracing} loads only when an OTLP endpoint is configured. Without
 * one, `deps.tracing` is undefined, every hook is skipped by one `undefined` check, and no
 * OpenTelemetry module is ever loaded (test/tracing.test.ts walks the static imports to prove it).
 *
 * What may go into a span: route classes and prefixes, methods, status codes, the upstream's and
 * provider's host, Redis command names, the request id. Never a raw path, query, cookie, token,
 * code or key: span names and attributes are built only from those fixed or configured values.
 */
export interface Tracing {
  /** Where spans are sent (the OTLP/HTTP traces URL), for the start-up log. */
  readonly endpoint: string;
  /**
   * Runs `handle` inside the server span of one request, named `<method> <route>`; its parent is
   * the incoming `traceparent` when there is one. The span ends when the response closes.
   */
  serve(req: IncomingMessage, res: ServerResponse, route: string, handle: () => void): void;
  /**
   * Runs a WebSocket handshake (`work`) inside a server span named `GET <route> websocket`, ended
   * with `status` once the handshake is decided (101, or the refusal's status).
   */
  handshake(req: IncomingMessage, route: string, work: (end: (status: number) => void) => Promise<void>): Promise<void>;
  /**
   * Runs `work` in a child span of the current request's span. Without a current, sampled span
   * (background work such as pub/sub heartbeats) it runs `work` alone: no orphan traces.
   */
  step<T>(name: string, work: () => Promise<T>, attributes?: SpanAttributes): Promise<T>;
  /** Starts the client span of one upstream call (a child of the current request's span). */
  upstream(route: string, method: string, origin: URL): UpstreamSpan;
  /** Exports every ended span now (tests, shutdown). */
  flush(): Promise<void>;
  /** Flushes, then stops exporting. */
  shutdown(): Promise<void>;
}

export type SpanAttributes = Record<string, string | number | boolean>;

/** The client span of one upstream call. */
export interface UpstreamSpan {
  /** The W3C `traceparent` naming this span: sent upstream instead of the browser's. */
  readonly traceparent: string;
  /** The W3C `tracestate` carried along (the browser's, when it sent one). */
  readonly tracestate: string | undefined;
  /** Ends the span with the upstream's status code, or as failed when no answer came. */
  end(status: number | 'error'): void;
}

/**
 * Loads the OpenTelemetry SDK and starts exporting, when `settings` are given; undefined
 * otherwise. The dynamic import is the point: a BFF without tracing never loads the SDK.
 */
export async function startTracing(settings: TracingSettings | undefined, log: Logger): Promise<Tracing | undefined> {
  if (!settings) return undefined;
  const { createOtelTracing } = await import('./otel.js');
  const tracing = createOtelTracing(settings);
  log.info(
    { endpoint: tracing.endpoint, protocol: settings.protocol, service: settings.serviceName, sampler: settings.sampler },
    'exporting traces over OTLP/HTTP',
  );
  return tracing;
}

/** `work` in a child span when tracing is on; just `work` otherwise. For calls off the hot path (provider calls). */
export function traced<T>(tracing: Tracing | undefined, name: string, work: () => Promise<T>, attributes?: SpanAttributes): Promise<T> {
  return tracing ? tracing.step(name, work, attributes) : work();
}
