import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startStack, type Stack } from './support/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const DASHBOARD = join(root, 'docker/observability/grafana/dashboards/bff.json');
const ALERTS = join(root, 'docker/observability/alerts.yml');

/** PromQL words that are not metric names. Functions are recognised by their `(`. */
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers left once label matchers, grouping
 * clauses, strings, range selectors, Grafana variables, numbers and function calls are removed.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\()(?![A-Za-z0-9_:])/g)].map((match) => match[0]);
  return [...new Set(names.filter((name) => !PROMQL_WORDS.has(name.toLowerCase())))];
}

/** Every series name a `/metrics` text can hold: histogram and summary families with their suffixes. */
function scrapedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; legendFormat?: string }[];
}
interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const dashboard = () =>
  JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: { name: string; query: unknown }[] };
  };
const rules = () =>
  (parse(readFileSync(ALERTS, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((group) => group.rules);

describe('PromQL metric names (the checker the dashboard tests rely on)', () => {
  it('finds metric names and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(bff_upstream_duration_seconds_bucket{instance=~"$instance",outcome="error"}[$__rate_interval])))',
      ),
    ).toEqual(['bff_upstream_duration_seconds_bucket']);
    expect(metricNames('sum(rate(a_total[5m])) / sum without (x) (b) > 0.05 and on (instance) up == 0')).toEqual(['a_total', 'b', 'up']);
  });
});

describe('the Grafana dashboard and the Prometheus alert rules', () => {
  it('the dashboard is a Grafana dashboard: uid, title, schema version, panels on the 24-column grid without overlap, one Prometheus query per target', () => {
    const board = dashboard();
    expect(board.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(board.title).toBe('BFF kit');
    expect(board.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(board.templating.list.map((variable) => variable.name)).toEqual(['datasource', 'instance']);
    const ids = board.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Set<string>();
    for (const panel of board.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${panel.title} fits the grid`).toBe(true);
      for (let col = x; col < x + w; col++)
        for (let row = y; row < y + h; row++) {
          expect(taken.has(`${col},${row}`), `${panel.title} overlaps another panel`).toBe(false);
          taken.add(`${col},${row}`);
        }
      if (panel.type === 'row') continue;
      expect(['timeseries', 'stat'], panel.title).toContain(panel.type);
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(new Set(panel.targets!.map((target) => target.refId)).size).toBe(panel.targets!.length);
    }
  });

  it('the alert rules cover error rate, refresh failures and readiness, each with a duration, a severity and a summary', () => {
    const all = rules();
    expect(all.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining(['BffHighErrorRate', 'BffRefreshFailures', 'BffNotReady', 'BffDown']),
    );
    expect(new Set(all.map((rule) => rule.alert)).size).toBe(all.length);
    for (const rule of all) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(10);
      expect(metricNames(rule.expr).length, rule.alert).toBeGreaterThan(0);
    }
    expect(metricNames(all.find((rule) => rule.alert === 'BffNotReady')!.expr)).toEqual(['bff_ready']);
    expect(metricNames(all.find((rule) => rule.alert === 'BffRefreshFailures')!.expr)).toEqual(['bff_token_refreshes_total']);
  });

  describe('against a real /metrics scrape', () => {
    let redis: RunningRedis;
    let stack: Stack;
    let scraped: string;
    beforeAll(async () => {
      redis = await startRedis();
      stack = await startStack({ redisUrl: redis.url });
      const browser = await stack.signIn();
      expect((await browser.api(`${stack.bff.url}/api/notes`)).status).toBe(200);
      scraped = await (await fetch(`${stack.bff.url}/metrics`)).text();
    });
    afterAll(async () => {
      await stack?.close();
      await redis?.stop();
    });

    it('names only metrics the BFF exports (or Prometheus’s own `up`), in every panel and every rule', () => {
      const exported = scrapedNames(scraped);
      expect(exported.has('bff_http_request_duration_seconds_bucket')).toBe(true);
      expect(exported.has('bff_nope_total')).toBe(false);
      const named = [
        ...dashboard().panels.flatMap((panel) =>
          (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr })),
        ),
        ...rules().map((rule) => ({ where: `rule ${rule.alert}`, expr: rule.expr })),
      ];
      const used = new Set<string>();
      for (const { where, expr } of named) {
        for (const name of metricNames(expr)) {
          used.add(name);
          if (name !== 'up') expect(exported.has(name), `${where} names ${name}, which /metrics does not export`).toBe(true);
        }
      }
      // The board covers what the issue lists.
      for (const family of [
        'bff_http_request_duration_seconds_bucket',
        'bff_upstream_duration_seconds_count',
        'bff_sign_ins_total',
        'bff_token_refreshes_total',
        'bff_live_connections',
        'bff_live_connections_closed_total',
        'bff_session_cache_lookups_total',
        'bff_session_cache_entries',
        'bff_session_cache_live',
        'bff_ready',
      ]) {
        expect(used.has(family), family).toBe(true);
      }
    });

    it('bff_ready follows readiness: store and provider 1, store 0 once Redis is gone', async () => {
      expect(scraped).toMatch(/^bff_ready\{check="store"\} 1$/m);
      expect(scraped).toMatch(/^bff_ready\{check="provider"\} 1$/m);
      await redis.kill();
      const down = await (await fetch(`${stack.bff.url}/metrics`)).text();
      expect(down).toMatch(/^bff_ready\{check="store"\} 0$/m);
      expect((await fetch(`${stack.bff.url}/readyz`)).status).toBe(503);
    });
  });
});
