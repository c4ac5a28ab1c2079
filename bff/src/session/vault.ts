import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encrypts token sets at rest with AES-256-GCM. Each ciphertext names the key that made it
 * (`v1.<kid>.<iv>.<data+tag>`), so keys can rotate: the first key encrypts, every key decrypts.
 * Keys are derived from the configured secrets with HKDF so a secret is never used directly.
 */
export class TokenVault {
  readonly #keys = new Map<string, Buffer>();
  readonly #currentKid: string;

  constructor(secrets: string[]) {
    if (secrets.length === 0) throw new Error('TokenVault needs at least one secret');
    for (const secret of secrets) {
      const key = Buffer.from(hkdfSync('sha256', secret, 'bff-kit', 'token-vault/v1', 32));
      const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
      if (!this.#keys.has(kid)) this.#keys.set(kid, key);
    }
    this.#currentKid = this.#keys.keys().next().value as string;
  }

  /** Encrypts `plaintext`; the key id and a fresh 96-bit IV travel with the ciphertext. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#currentKid)!, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${this.#currentKid}.${iv.toString('base64url')}.${data.toString('base64url')}`;
  }

  /** Decrypts what {@link seal} made with any configured key; throws `VaultError` on tampering or an unknown key. */
  open(sealed: string): string {
    const [version, kid, iv, data] = sealed.split('.');
    const key = kid === undefined ? undefined : this.#keys.get(kid);
    if (version !== 'v1' || !key || !iv || !data) throw new VaultError('unknown key or format');
    const bytes = Buffer.from(data, 'base64url');
    if (bytes.length < 16) throw new VaultError('ciphertext too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new VaultError('authentication failed', { cause });
    }
  }
}

/** The ciphertext was altered, truncated, or made with a key no longer configured. */
export class VaultError extends Error {
  readonly code = 'ERR_VAULT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`token vault: ${message}`, options);
    this.name = 'VaultError';
  }
}
