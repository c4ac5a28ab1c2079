import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One exported span, the same whichever encoding carried it. Ids are lower-case hex. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  /** How it arrived. */
  encoding: 'protobuf' | 'json';
}

/**
 * A real OTLP/HTTP trace receiver on a free loopback port, as a collector or Jaeger would be:
 * `POST /v1/traces` with `application/x-protobuf` or `application/json`, answered 200 with an
 * empty ExportTraceServiceResponse in the same encoding. Every span is decoded and kept, along
 * with the raw bodies (a leak scan reads those too, not only what the decoder understood).
 */
export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const bodies: Buffer[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`);
      const body = Buffer.concat(chunks);
      bodies.push(body);
      const json = (req.headers['content-type'] ?? '').startsWith('application/json');
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      try {
        spans.push(...(json ? fromJson(JSON.parse(body.toString('utf8')) as JsonRequest) : fromProtobuf(body)));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
        return;
      }
      if (json) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    /** Method and path of every request received. */
    paths,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export type OtlpReceiver = Awaited<ReturnType<typeof startOtlpReceiver>>;

// --- OTLP/JSON (opentelemetry-proto's JSON mapping: ids as hex strings) ---

interface JsonValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value: JsonValue;
}
interface JsonRequest {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: JsonKeyValue[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

function jsonAttributes(list: JsonKeyValue[] = []): ReceivedSpan['attributes'] {
  const attributes: ReceivedSpan['attributes'] = {};
  for (const { key, value } of list) {
    attributes[key] =
      value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? ''));
  }
  return attributes;
}

function fromJson(request: JsonRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const service = String(jsonAttributes(resourceSpans.resource?.attributes)['service.name'] ?? '');
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        service,
        traceId: span.traceId.toLowerCase(),
        spanId: span.spanId.toLowerCase(),
        parentSpanId: (span.parentSpanId ?? '').toLowerCase(),
        name: span.name,
        kind: span.kind,
        attributes: jsonAttributes(span.attributes),
        statusCode: span.status?.code ?? 0,
        statusMessage: span.status?.message ?? '',
        encoding: 'json' as const,
      })),
    );
  });
}

// --- OTLP/protobuf: the few messages of opentelemetry-proto's trace service, read off the wire format ---

type Field = { no: number; varint?: bigint; bytes?: Buffer };

/** The fields of one protobuf message (wire types 0, 1, 2 and 5). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, varint: varint() });
    else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      out.push({ no, bytes: buf.subarray(pos, pos + size) });
      pos += size;
    } else if (wire === 2) {
      const length = Number(varint());
      if (pos + length > buf.length) throw new Error('truncated field');
      out.push({ no, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const all = (list: Field[], no: number) => list.filter((field) => field.no === no);
const one = (list: Field[], no: number) => list.find((field) => field.no === no);

/** KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string = 1; bool = 2; int = 3; double = 4 }. */
function protoAttributes(list: Field[]): ReceivedSpan['attributes'] {
  const attributes: ReceivedSpan['attributes'] = {};
  for (const kv of list) {
    const pair = fields(kv.bytes!);
    const key = one(pair, 1)?.bytes?.toString('utf8') ?? '';
    const value = fields(one(pair, 2)?.bytes ?? Buffer.alloc(0));
    const string = one(value, 1);
    const bool = one(value, 2);
    const int = one(value, 3);
    const double = one(value, 4);
    attributes[key] = string
      ? string.bytes!.toString('utf8')
      : bool
        ? bool.varint === 1n
        : int
          ? Number(BigInt.asIntN(64, int.varint!))
          : double
            ? double.bytes!.readDoubleLE(0)
            : '';
  }
  return attributes;
}

/**
 * ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1 }
 * ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2 }, Resource { repeated KeyValue attributes = 1 }
 * ScopeSpans { repeated Span spans = 2 }
 * Span { trace_id = 1; span_id = 2; parent_span_id = 4; name = 5; kind = 6; attributes = 9; Status status = 15 }
 * Status { message = 2; code = 3 }
 */
function fromProtobuf(body: Buffer): ReceivedSpan[] {
  return all(fields(body), 1).flatMap((resourceSpans) => {
    const rs = fields(resourceSpans.bytes!);
    const resource = fields(one(rs, 1)?.bytes ?? Buffer.alloc(0));
    const service = String(protoAttributes(all(resource, 1))['service.name'] ?? '');
    return all(rs, 2).flatMap((scopeSpans) =>
      all(fields(scopeSpans.bytes!), 2).map((spanField) => {
        const span = fields(spanField.bytes!);
        const status = fields(one(span, 15)?.bytes ?? Buffer.alloc(0));
        return {
          service,
          traceId: one(span, 1)!.bytes!.toString('hex'),
          spanId: one(span, 2)!.bytes!.toString('hex'),
          parentSpanId: one(span, 4)?.bytes?.toString('hex') ?? '',
          name: one(span, 5)?.bytes?.toString('utf8') ?? '',
          kind: Number(one(span, 6)?.varint ?? 0n),
          attributes: protoAttributes(all(span, 9)),
          statusCode: Number(one(status, 3)?.varint ?? 0n),
          statusMessage: one(status, 2)?.bytes?.toString('utf8') ?? '',
          encoding: 'protobuf' as const,
        };
      }),
    );
  });
}
