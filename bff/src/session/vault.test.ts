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
});
