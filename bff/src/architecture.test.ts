import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The shape of bff/src, checked: imports run downhill (entry -> composition -> handlers ->
 * services -> configuration -> leaves), and no file grows past 300 lines. Type-only imports are
 * erased at compile time and may name a higher layer's types (handlers take `Pick<Deps, ...>`).
 */

const root = dirname(fileURLToPath(import.meta.url));

/** Layers from the top; a file may import its own layer and those below, never one above. */
const LAYERS: Array<[string, RegExp]> = [
  ['entry', /^(main|entry-point)\.ts$|^tools\//],
  ['composition', /^(start|listen|shutdown|deps|app)\.ts$/],
  [
    'handlers',
    /^(routes|middleware|proxy)\/|^your-sessions\/routes\.ts$|^ssf\/receiver\.ts$|^oidc\/(login|callback|logout|backchannel|end-session)\.ts$/,
  ],
  ['services', /^(oidc|session|tracing|your-sessions|ssf)\/|^(metrics|identity-assertions)\.ts$/],
  [
    'configuration',
    /^(config|config-cookies|config-fapi|config-ssf|config-tracing|config-assertion|api-routes|route-access|signing-keys|logger)\.ts$/,
  ],
  ['leaves', /^http\/|^(errors|tokens)\.ts$/],
];

function layerOf(file: string): number {
  const index = LAYERS.findIndex(([, pattern]) => pattern.test(file));
  if (index === -1) throw new Error(`${file} belongs to no layer: add it to LAYERS in architecture.test.ts`);
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

/** Relative imports that stay at run time (not `import type`), as paths under bff/src. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) {
    if (match[1]) continue;
    const target = relative(root, resolve(dirname(join(root, file)), match[2]!.replace(/\.js$/, '.ts')));
    if (!target.startsWith('..')) found.push(target);
  }
  return found;
}

describe('the shape of bff/src', () => {
  const files = sources(root);

  it('puts every file in a layer', () => {
    for (const file of files) expect(() => layerOf(file)).not.toThrow();
  });

  it('has no import running uphill', () => {
    const uphill = files.flatMap((file) =>
      runtimeImports(file)
        .filter((target) => layerOf(target) < layerOf(file))
        .map((target) => `${file} (${LAYERS[layerOf(file)]![0]}) imports ${target} (${LAYERS[layerOf(target)]![0]})`),
    );
    expect(uphill).toEqual([]);
  });

  it('has no file over 300 lines', () => {
    const long = files
      .map((file) => [file, readFileSync(join(root, file), 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > 300);
    expect(long).toEqual([]);
  });
});
