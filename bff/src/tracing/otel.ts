import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
} from '@opentelemetry/semantic-conventions';
import { CLIENT_CLOSED } from '../errors.js';
import type { SpanAttributes, Tracing, TracingSettings, UpstreamSpan } from './tracing.js';

/** Methods named as they are; anything else is `_OTHER` (semantic conventions): a method must not make a new span name. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
const methodOf = (method: string | undefined) => (method !== undefined && KNOWN_METHODS.has(method) ? method : '_OTHER');
/** Error codes (`OAUTH_RESPONSE_BODY_ERROR`, the kit's own `unavailable`...) and OAuth `error` values are safe; messages may not be. */
const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The OpenTelemetry side of {@link Tracing}: a tracer provider of this BFF's own (nothing is
 * registered globally, so several apps in one process, traced or not, do not meet), spans
 * batched and sent over OTLP/HTTP, the W3C trace context read from and written to headers, and
 * the current span carried through a request's async work by AsyncLocalStorage.
 *
 * No instrumentation package: nothing is monkey-patched. Spans are made by explicit hooks at the
 * places that matter (the request, the provider calls, Redis, the upstream call), so what a span
 * may carry is decided here, not by a library that would record URLs and headers.
 */
export function createOtelTracing(settings: TracingSettings): Tracing {
  const exporter =
    settings.protocol === 'http/json' ? new JsonExporter({ url: settings.url }) : new ProtobufExporter({ url: settings.url });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    sampler: sampler(settings),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bff-kit');
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();

  return {
    endpoint: settings.url,

    serve(req: IncomingMessage, res: ServerResponse, route: string, handle: () => void): void {
      // The browser's (or an edge proxy's) traceparent is the parent; a malformed one is ignored.
      const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
      const method = methodOf(req.method);
      const span = tracer.startSpan(
        `${method} ${route}`,
        { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_HTTP_ROUTE]: route } },
        parent,
      );
      res.once('close', () => {
        const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED;
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500 && status !== CLIENT_CLOSED) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      contexts.with(trace.setSpan(parent, span), handle);
    },

    handshake(req: IncomingMessage, route: string, work: (end: (status: number) => void) => Promise<void>): Promise<void> {
      const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
      const span = tracer.startSpan(
        `GET ${route} websocket`,
        { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'GET', [ATTR_HTTP_ROUTE]: route } },
        parent,
      );
      let ended = false;
      const end = (status: number) => {
        if (ended) return;
        ended = true;
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      };
      return contexts.with(trace.setSpan(parent, span), () => work(end));
    },

    step<T>(name: string, work: () => Promise<T>, attributes?: SpanAttributes): Promise<T> {
      const current = contexts.active();
      if (!trace.getSpan(current)?.isRecording()) return work();
      const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, current);
      return contexts.with(trace.setSpan(current, span), work).then(
        (value) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          failed(span, error);
          span.end();
          throw error;
        },
      );
    },

    upstream(route: string, method: string, origin: URL): UpstreamSpan {
      const current = contexts.active();
      const port = Number(origin.port || (origin.protocol === 'https:' ? 443 : 80));
      const span = tracer.startSpan(
        `${methodOf(method)} ${route}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR_HTTP_REQUEST_METHOD]: methodOf(method),
            [ATTR_HTTP_ROUTE]: route,
            [ATTR_SERVER_ADDRESS]: origin.hostname,
            [ATTR_SERVER_PORT]: port,
          },
        },
        current,
      );
      // Unsampled spans are injected too (flags 00): the upstream learns the decision.
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(current, span), carrier, defaultTextMapSetter);
      return {
        traceparent: carrier.traceparent!,
        tracestate: carrier.tracestate,
        end(status: number | 'error') {
          if (status === 'error') {
            span.setAttribute(ATTR_ERROR_TYPE, 'no_response');
            span.setStatus({ code: SpanStatusCode.ERROR });
          } else {
            span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
            if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        },
      };
    },

    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      contexts.disable();
    },
  };
}

/** The sampler `OTEL_TRACES_SAMPLER` names; parent-based ones follow the incoming traceparent's sampled flag. */
function sampler({ sampler: name, samplerRatio }: TracingSettings): Sampler {
  const root = name.endsWith('always_off')
    ? new AlwaysOffSampler()
    : name.endsWith('traceidratio')
      ? new TraceIdRatioBasedSampler(samplerRatio)
      : new AlwaysOnSampler();
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

/** Marks a span failed with the error's class and code only: messages can quote what a provider or store sent. */
function failed(span: Span, error: unknown): void {
  const { name, code, error: oauthError } = (error ?? {}) as { name?: unknown; code?: unknown; error?: unknown };
  const type = [name, code].filter((part): part is string => typeof part === 'string' && SAFE_CODE.test(part)).join(' ');
  span.setAttribute(ATTR_ERROR_TYPE, type || 'error');
  if (typeof oauthError === 'string' && SAFE_CODE.test(oauthError)) span.setAttribute('oauth.error', oauthError);
  span.setStatus({ code: SpanStatusCode.ERROR });
}
