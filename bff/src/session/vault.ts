import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * Encrypts token sets at rest with AES-256-GCM. Each ciphertext names the key that made it
 * (`v2.<kid>.<iv>.<data+tag>`), so keys can rotate: the first key encrypts, every key decrypts.
 * Keys are derived from the configured secrets with HKDF so a secret is never used directly.
 *
 * `v2` deflates the plaintext first: token sets are mostly base64url JWTs (6 bits a character),
 * which deflate to about three quarters, and they are most of a session's bytes in Redis. Nobody
 * who can see a ciphertext's length can choose any of its plaintext (the provider issues the
 * tokens), so compressing before encrypting leaks nothing a length did not. `v1` (not deflated)
 * still opens: sessions sealed before the upgrade live on.
 */
/** A token set larger than this does not inflate (a guard; real ones are a few KiB). */
const MAX_PLAINTEXT_BYTES = 1024 * 1024;

export class TokenVault {
  /**
   * KeyObjects, made once: a cipher made from raw key bytes imports them anew every time, which
   * cost more than the decryption itself (35-60 µs against 8 µs a cipher on Node 20 and 24), once
   * per session read that misses the session cache.
   */
  readonly #keys = new Map<string, KeyObject>();
  readonly #currentKid: string;

  constructor(secrets: string[]) {
    if (secrets.length === 0) throw new Error('TokenVault needs at least one secret');
    for (const secret of secrets) {
      const key = Buffer.from(hkdfSync('sha256', secret, 'bff-kit', 'token-vault/v1', 32));
      const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
      if (!this.#keys.has(kid)) this.#keys.set(kid, createSecretKey(key));
    }
    this.#currentKid = this.#keys.keys().next().value as string;
  }

  /** Encrypts `plaintext`; the key id and a fresh 96-bit IV travel with the ciphertext. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#currentKid)!, iv);
    const data = Buffer.concat([cipher.update(deflateRawSync(plaintext)), cipher.final(), cipher.getAuthTag()]);
    return `v2.${this.#currentKid}.${iv.toString('base64url')}.${data.toString('base64url')}`;
  }

  /** Decrypts what {@link seal} made with any configured key; throws `VaultError` on tampering or an unknown key. */
  open(sealed: string): string {
    const [version, kid, iv, data] = sealed.split('.');
    const key = kid === undefined ? undefined : this.#keys.get(kid);
    if ((version !== 'v1' && version !== 'v2') || !key || !iv || !data) throw new VaultError('unknown key or format');
    const bytes = Buffer.from(data, 'base64url');
    if (bytes.length < 16) throw new VaultError('ciphertext too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
      return (version === 'v2' ? inflateRawSync(plain, { maxOutputLength: MAX_PLAINTEXT_BYTES }) : plain).toString('utf8');
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
