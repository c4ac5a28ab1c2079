import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { vi } from 'vitest';

/** A JSON answer as the BFF gives it. */
export const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A stand-in for the element: it keeps its controllers and lets the test run their hooks. */
export function fakeHost() {
  const controllers: ReactiveController[] = [];
  const host: ReactiveControllerHost & { connect(): void; disconnect(): void; update(): void } = {
    addController: (controller) => void controllers.push(controller),
    removeController: vi.fn(),
    requestUpdate: vi.fn(),
    updateComplete: Promise.resolve(true),
    connect: () => controllers.forEach((c) => c.hostConnected?.()),
    disconnect: () => controllers.forEach((c) => c.hostDisconnected?.()),
    update: () => controllers.forEach((c) => c.hostUpdate?.()),
  };
  return host;
}

/** Answers fetch calls by "METHOD path" (a list answers in turn, repeating its last); records every call. */
export function stubApi(routes: Record<string, (() => Response) | Array<() => Response>>) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const route = routes[`${init?.method ?? 'GET'} ${String(input)}`];
    if (!route) throw new Error(`unexpected call ${init?.method ?? 'GET'} ${String(input)}`);
    return (Array.isArray(route) ? (route.length > 1 ? route.shift()! : route[0]!) : route)();
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}
