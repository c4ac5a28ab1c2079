import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.js';

const request = (forwardedFor: string | undefined, remoteAddress = '10.0.0.9') =>
  ({
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    socket: { remoteAddress },
  }) as unknown as IncomingMessage;

describe('client address', () => {
  it('is the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress(request('1.2.3.4'), 0)).toBe('10.0.0.9');
  });

  it('counts trusted hops from the right: entries the client wrote are never the answer', () => {
    expect(clientAddress(request('6.6.6.6, 1.2.3.4'), 1)).toBe('1.2.3.4');
    expect(clientAddress(request('6.6.6.6, 7.7.7.7, 1.2.3.4, 10.0.0.2'), 2)).toBe('1.2.3.4');
    expect(clientAddress(request('1.2.3.4'), 1)).toBe('1.2.3.4');
  });

  it('falls back to the socket without a header, and to the leftmost entry when there are fewer than hops', () => {
    expect(clientAddress(request(undefined), 1)).toBe('10.0.0.9');
    expect(clientAddress(request(' , '), 1)).toBe('10.0.0.9');
    expect(clientAddress(request('1.2.3.4'), 3)).toBe('1.2.3.4');
  });
});
