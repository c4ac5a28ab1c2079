import { z } from 'zod';

/**
 * The tracing part of the configuration: OpenTelemetry's own `OTEL_*` variables, read as its
 * exporters read them (see docs/observability.md).
 */

/** The OTLP settings from the configuration (`OTEL_*` variables). */
export interface TracingSettings {
  /** The full OTLP/HTTP traces URL (…/v1/traces). */
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
  sampler: 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
  /** The ratio of the `traceidratio` samplers (0 to 1). */
  samplerRatio: number;
}

const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export const otlpProtocol = (name: string) =>
  z
    .enum(OTLP_PROTOCOLS, { error: `${name} must be http/protobuf or http/json (the BFF exports over OTLP/HTTP; grpc is not supported)` })
    .optional();
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * The OTLP/HTTP traces URL, as OpenTelemetry's exporters read these variables: the signal's own
 * endpoint as given, or the general one with `/v1/traces` appended. Undefined: tracing is off.
 */
function tracesUrl(env: { OTEL_EXPORTER_OTLP_ENDPOINT?: string; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string }): string | undefined {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export function tracingSettings(env: {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_PROTOCOL?: TracingSettings['protocol'];
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: TracingSettings['protocol'];
  OTEL_SERVICE_NAME: string;
  OTEL_TRACES_SAMPLER: TracingSettings['sampler'];
  OTEL_TRACES_SAMPLER_ARG: number;
  OTEL_SDK_DISABLED: 'true' | 'false';
}): TracingSettings | undefined {
  const url = tracesUrl(env);
  if (!url || env.OTEL_SDK_DISABLED === 'true') return undefined;
  return {
    url,
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    serviceName: env.OTEL_SERVICE_NAME,
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG,
  };
}
