import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, fakeHost } from '../test-support/controller-host.js';
import { request } from '../api/bff-client.js';
import { ListTask, type ListRenderers } from './list-task.js';

const asText: ListRenderers<string, string> = {
  loading: () => 'loading',
  list: (items, refreshing) => `${refreshing ? 'refreshing ' : ''}[${items.join(', ')}]`,
  failed: (problem) => `failed: ${problem.title}`,
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

/** A list on a connected host that has had its first update, loading from `answers` in turn. */
function started(answers: Array<() => Response | Promise<Response>>) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => (answers.length > 1 ? answers.shift()! : answers[0]!)()),
  );
  const host = fakeHost();
  const list = new ListTask<string>(host, {
    load: (signal) => request('/api/items', { signal, parse: (body) => (Array.isArray(body) ? (body as string[]) : undefined) }),
    failedTitle: 'Could not load the items',
  });
  host.connect();
  host.update();
  return { host, list };
}

describe('ListTask (the list part of the notes and sessions controllers)', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('loads on the first update and keeps the last list while it reloads', async () => {
    let release!: () => void;
    const later = new Promise<void>((resolve) => (release = resolve));
    const { list } = started([() => json(200, ['a']), async () => (await later, json(200, ['a', 'b']))]);
    expect(list.render(asText)).toBe('loading');
    await settle();
    expect(list.render(asText)).toBe('[a]');
    const reloaded = list.reload();
    expect(list.loading).toBe(true);
    expect(list.render(asText)).toBe('refreshing [a]');
    release();
    await reloaded;
    expect(list.render(asText)).toBe('[a, b]');
  });

  it('titles a refused load with its own title, and renders nothing for a 401', async () => {
    const { list } = started([() => json(403, { error: 'forbidden', message: 'No.' })]);
    await settle();
    expect(list.failed).toBe(true);
    expect(list.render(asText)).toBe('failed: Could not load the items');
    const signedOut = started([() => json(401, { error: 'unauthenticated', message: 'Sign in.' })]).list;
    await settle();
    expect(signedOut.render(asText)).toBeUndefined();
  });

  it('aborts a load when its host leaves and loads again when it comes back', async () => {
    let aborts = 0;
    const { host, list } = started([
      () =>
        new Promise<Response>((_resolve, reject) =>
          vi
            .mocked(fetch)
            .mock.lastCall![1]!.signal!.addEventListener('abort', () => (aborts++, reject(new DOMException('gone', 'AbortError')))),
        ),
      () => json(200, ['back']),
    ]);
    host.disconnect();
    expect(aborts).toBe(1);
    host.connect();
    await settle();
    expect(list.render(asText)).toBe('[back]');
  });
});
