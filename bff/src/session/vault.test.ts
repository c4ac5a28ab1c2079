import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TokenVault, VaultError } from './vault.js';

const oldKey = 'old-key-0123456789-0123456789-0123456789';
const newKey = 'new-key-0123456789-0123456789-0123456789';

describe('token vault', () => {
  it('round-trips and never repeats a ciphertext', () => {
    const vault = new TokenVault([newKey]);
    const a = vault.seal('{"accessToken":"abc"}');
    const b = vault.seal('{"accessToken":"abc"}');
    expect(a).not.toBe(b);
    expect(a).not.toContain('abc');
    expect(vault.open(a)).toBe('{"accessToken":"abc"}');
  });

  it('detects tampering with the ciphertext, the tag or the IV', () => {
    const vault = new TokenVault([newKey]);
    const sealed = vault.seal('secret tokens');
    const [version, kid, iv, data] = sealed.split('.') as [string, string, string, string];
    const flip = (text: string, at: number) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[at] = bytes[at]! ^ 1;
      return bytes.toString('base64url');
    };
    expect(() => vault.open([version, kid, iv, flip(data, 0)].join('.'))).toThrow(VaultError);
    expect(() => vault.open([version, kid, iv, flip(data, Buffer.from(data, 'base64url').length - 1)].join('.'))).toThrow(VaultError);
    expect(() => vault.open([version, kid, flip(iv, 0), data].join('.'))).toThrow(VaultError);
    expect(() => vault.open(sealed.slice(0, -4))).toThrow(VaultError);
    expect(() => vault.open('garbage')).toThrow(VaultError);
  });

  it('rotates keys: the new first key encrypts, the old key still decrypts', () => {
    const before = new TokenVault([oldKey]);
    const sealedBefore = before.seal('made with the old key');
    const rotated = new TokenVault([newKey, oldKey]);
    expect(rotated.open(sealedBefore)).toBe('made with the old key');
    const sealedAfter = rotated.seal('made with the new key');
    expect(sealedAfter.split('.')[1]).not.toBe(sealedBefore.split('.')[1]);
    expect(() => before.open(sealedAfter)).toThrow(VaultError);
    expect(new TokenVault([newKey]).open(sealedAfter)).toBe('made with the new key');
  });

  it('refuses a ciphertext once its key is retired', () => {
    const sealed = new TokenVault([oldKey]).seal('x');
    expect(() => new TokenVault([newKey]).open(sealed)).toThrow(/unknown key/);
  });

  it('deflates before it encrypts: a token set of JWTs costs about three quarters of its size', () => {
    const jwt = () =>
      [
        '{"alg":"RS256"}',
        JSON.stringify({ sub: 'user-1001', scope: 'openid profile email', jti: randomBytes(16).toString('hex') }),
        randomBytes(256),
      ]
        .map((part) => Buffer.from(part).toString('base64url'))
        .join('.');
    const tokens = JSON.stringify({ accessToken: jwt(), refreshToken: randomBytes(32).toString('base64url'), idToken: jwt() });
    const sealed = new TokenVault([oldKey]).seal(tokens);
    expect(sealed.startsWith('v2.')).toBe(true);
    expect(new TokenVault([oldKey]).open(sealed)).toBe(tokens);
    const ciphertextChars = sealed.split('.')[3]!.length;
    expect(ciphertextChars).toBeLessThan(Buffer.from(tokens).toString('base64url').length * 0.85);
  });

  it('still opens v1 ciphertexts (sealed before deflating, by this key derivation)', () => {
    // A v1 ciphertext made exactly as the previous release made it: plaintext not deflated.
    const key = Buffer.from(hkdfSync('sha256', oldKey, 'bff-kit', 'token-vault/v1', 32));
    const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const data = Buffer.concat([cipher.update('{"accessToken":"from 1.0"}', 'utf8'), cipher.final(), cipher.getAuthTag()]);
    const v1 = `v1.${kid}.${iv.toString('base64url')}.${data.toString('base64url')}`;
    expect(new TokenVault([oldKey]).open(v1)).toBe('{"accessToken":"from 1.0"}');
  });

  it('seals under the HKDF-derived key itself (its KeyObject holds exactly those bytes)', () => {
    const [, kid, iv, data] = new TokenVault([oldKey]).seal('{"accessToken":"kept"}').split('.') as [string, string, string, string];
    const key = Buffer.from(hkdfSync('sha256', oldKey, 'bff-kit', 'token-vault/v1', 32));
    expect(kid).toBe(createHash('sha256').update(key).digest('base64url').slice(0, 8));
    const bytes = Buffer.from(data, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
    expect(inflateRawSync(plain).toString('utf8')).toBe('{"accessToken":"kept"}');
  });
});
