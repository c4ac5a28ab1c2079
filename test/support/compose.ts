/**
 * Reading a compose file without Docker: the YAML parsed as Compose parses it, then validated
 * against the Compose Specification's JSON schema (vendored: test/fixtures/compose-spec.json, its
 * source in compose-spec.md beside it). Plus the Compose CLI, for the check that runs where one is
 * installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

export const COMPOSE_SCHEMA_PATH = fileURLToPath(new URL('../fixtures/compose-spec.json', import.meta.url));

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: unknown[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  user?: string;
  /** Started only when one of these profiles is activated (`--profile`). */
  profiles?: string[];
  volumes?: (string | { source?: string; target?: string })[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, unknown>;
}

let validator: ValidateFunction | undefined;

function compileSchema(): ValidateFunction {
  const schema = JSON.parse(readFileSync(COMPOSE_SCHEMA_PATH, 'utf8')) as { $schema?: string };
  // strictTypes off: the spec's schema is written for every validator, not to Ajv's stricter
  // typing rules. Unknown keywords and formats still fail compilation (strict).
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  // The spec names draft-07 by its https URL; Ajv knows the draft-07 meta-schema by the http one.
  // Register it under both so the schema itself is still checked against draft-07.
  const draft07 = 'https://json-schema.org/draft-07/schema';
  if (schema.$schema === draft07) {
    const meta = ajv.getSchema('http://json-schema.org/draft-07/schema')?.schema;
    if (typeof meta !== 'object') throw new Error('Ajv has no draft-07 meta-schema');
    ajv.addMetaSchema({ ...meta, $id: draft07 });
  }
  return ajv.compile(schema);
}

/** Every way `document` breaks the Compose Specification, one line each; empty when it follows it. */
export function composeSchemaErrors(document: unknown): string[] {
  validator ??= compileSchema();
  if (validator(document)) return [];
  return (validator.errors ?? []).map(
    (error) => `${error.instancePath || '(top level)'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`,
  );
}

/**
 * Parses compose YAML as Compose does (duplicate keys are an error, `<<` merge keys work) and
 * validates it against the specification; throws listing every violation.
 */
export function parseCompose(text: string, source = 'compose document'): ComposeFile {
  const document: unknown = parse(text, { merge: true, uniqueKeys: true });
  const errors = composeSchemaErrors(document);
  if (errors.length > 0) throw new Error(`${source} does not follow the Compose Specification:\n  ${errors.join('\n  ')}`);
  return document as ComposeFile;
}

/**
 * Where Compose would substitute variables (`$VAR`, `${VAR}`, `$$`): the paths of every string
 * value containing `$`. Without any, the file as written is the file as Compose resolves it.
 */
export function interpolatedValues(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return value.includes('$') ? [path || '/'] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => interpolatedValues(item, `${path}/${index}`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => interpolatedValues(item, `${path}/${key}`));
  return [];
}

/**
 * The Compose CLI installed on this machine, if any: `docker-compose` (v1 or the v2 standalone
 * binary) or the `docker compose` plugin. A `docker` without the plugin does not count.
 */
export function composeCli(): string[] | undefined {
  for (const command of [['docker-compose'], ['docker', 'compose']]) {
    const [program, ...args] = command as [string, ...string[]];
    const result = spawnSync(program, [...args, 'version'], { encoding: 'utf8', timeout: 20_000 });
    if (!result.error && result.status === 0) return command;
  }
  return undefined;
}
