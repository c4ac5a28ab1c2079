import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './metrics.js';

describe('LatencyHistogram', () => {
  it('is served by the prom-client registry in the Prometheus text format, with cumulative buckets', async () => {
    const registry = new Registry();
    const histogram = new LatencyHistogram(registry, 'test_seconds', 'A test histogram', ['route', 'status'], [0.01, 0.1]);
    histogram.observe(0.005, 'proxy', '200');
    histogram.observe(0.01, 'proxy', '200'); // on a bound: counts in that bucket (le = less or equal)
    histogram.observe(0.05, 'proxy', '200');
    histogram.observe(3, 'proxy', '502');
    const text = await registry.metrics();
    expect(text).toContain('# HELP test_seconds A test histogram');
    expect(text).toContain('# TYPE test_seconds histogram');
    expect(text).toContain('test_seconds_bucket{route="proxy",status="200",le="0.01"} 2');
    expect(text).toContain('test_seconds_bucket{route="proxy",status="200",le="0.1"} 3');
    expect(text).toContain('test_seconds_bucket{route="proxy",status="200",le="+Inf"} 3');
    expect(text).toContain('test_seconds_sum{route="proxy",status="200"} 0.065');
    expect(text).toContain('test_seconds_count{route="proxy",status="200"} 3');
    expect(text).toContain('test_seconds_bucket{route="proxy",status="502",le="0.1"} 0');
    expect(text).toContain('test_seconds_count{route="proxy",status="502"} 1');
    histogram.reset();
    expect(await registry.metrics()).not.toContain('test_seconds_count');
  });

  it('refuses a series with the wrong number of label values', () => {
    const histogram = new LatencyHistogram(new Registry(), 'test_seconds', 'help', ['route', 'status']);
    expect(() => histogram.observe(1, 'proxy')).toThrow(/takes 2 label values/);
  });
});
