import { describe, expect, it } from 'vitest';
import { revocationAuthMethod } from './client.js';

describe('revocationAuthMethod', () => {
  it('keeps OIDC_CLIENT_AUTH when the provider lists no revocation auth methods', () => {
    expect(revocationAuthMethod('client_secret_post', undefined)).toBe('client_secret_post');
    expect(revocationAuthMethod('client_secret_post', [])).toBe('client_secret_post');
    expect(revocationAuthMethod('client_secret_basic', undefined)).toBe('client_secret_basic');
  });

  it('keeps OIDC_CLIENT_AUTH when the provider lists it', () => {
    expect(revocationAuthMethod('client_secret_post', ['client_secret_basic', 'client_secret_post'])).toBe('client_secret_post');
    expect(revocationAuthMethod('client_secret_basic', ['private_key_jwt', 'client_secret_basic'])).toBe('client_secret_basic');
  });

  it('switches to client_secret_basic when only that is listed (Glewlwyd)', () => {
    expect(revocationAuthMethod('client_secret_post', ['client_secret_basic'])).toBe('client_secret_basic');
    expect(revocationAuthMethod('client_secret_post', ['private_key_jwt', 'client_secret_basic'])).toBe('client_secret_basic');
  });

  it('switches to client_secret_post when only that is listed', () => {
    expect(revocationAuthMethod('client_secret_basic', ['client_secret_post'])).toBe('client_secret_post');
  });

  it('keeps OIDC_CLIENT_AUTH when nothing listed is a method the BFF can do', () => {
    expect(revocationAuthMethod('client_secret_basic', ['private_key_jwt', 'tls_client_auth'])).toBe('client_secret_basic');
    expect(revocationAuthMethod('client_secret_post', ['none'])).toBe('client_secret_post');
  });
});
