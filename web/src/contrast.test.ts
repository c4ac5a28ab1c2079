import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { baseStyles } from './components/shared-styles.js';

/*
 * WCAG 2.2, 1.4.11 Non-text Contrast: the focus ring and the borders that show where a control
 * or a card is need 3:1 against the colours next to them. Read from the style source, in both
 * colour schemes, so a changed token cannot slip below it.
 */
const css = readFileSync(new URL('./styles.css', import.meta.url), 'utf8');

/** The custom properties of the first block after `marker` (`:root {` and the dark scheme's). */
function tokens(marker: string): Record<string, string> {
  const start = css.indexOf('{', css.indexOf(marker));
  const block = css.slice(start, css.indexOf('}', start));
  return Object.fromEntries(
    [...block.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})\s*;/gi)].map(([, name, value]) => [name!, value!.toLowerCase()]),
  );
}

const light = tokens(':root {');
const dark = { ...light, ...tokens('@media (prefers-color-scheme: dark)') };

/** Relative luminance (WCAG 2.2, "relative luminance") of `#rrggbb`. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const channel = parseInt(hex.slice(at, at + 2), 16) / 255;
    return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/** Contrast ratio (L1 + 0.05) / (L2 + 0.05), the lighter colour first. */
function contrast(a: string, b: string): number {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (high! + 0.05) / (low! + 0.05);
}

/** Every background a control, a card or a focus ring sits on: the page, cards, hovered buttons, alerts, notices. */
const BACKGROUNDS = ['bg', 'surface', 'surface-muted', 'danger-bg', 'info-bg'];

describe('non-text contrast of the SPA (WCAG 2.2, 3:1)', () => {
  it('computes ratios as WCAG does', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#f08c00', '#ffffff')).toBeCloseTo(2.48, 2); // the old focus ring
    expect(contrast('#dadfeb', '#ffffff')).toBeCloseTo(1.33, 2); // the old borders
  });

  for (const [scheme, colours] of [
    ['light', light],
    ['dark', dark],
  ] as const) {
    it(`keeps the focus ring and the control and card borders at 3:1 or more on every background (${scheme})`, () => {
      const low: string[] = [];
      for (const token of ['focus', 'border']) {
        for (const background of BACKGROUNDS) {
          const ratio = contrast(colours[token]!, colours[background]!);
          if (!(ratio >= 3)) low.push(`--${token} ${colours[token]} on --${background} ${colours[background]}: ${ratio.toFixed(2)}:1`);
        }
      }
      expect(low).toEqual([]);
    });
  }

  it('draws the focus ring, the controls and the cards with those tokens', () => {
    const shared = baseStyles.cssText.replace(/\s+/g, ' ');
    expect(shared).toMatch(/\.card \{[^}]*border: 1px solid var\(--border\)/);
    expect(shared).toMatch(/button, input \{[^}]*border: 1px solid var\(--border\)/);
    expect(shared).toMatch(/:focus-visible \{ outline: 3px solid var\(--focus\)/);
  });
});
