/**
 * The short device text of "Your sessions": `<browser> on <OS>` from the User-Agent at sign-in.
 * Only this text is stored, never the User-Agent itself (it is a fingerprinting aid, and a user
 * only needs to recognise their devices). A small mapping of the major browsers and systems, no
 * parser dependency: anything it does not recognise is "Unknown device", which is honest.
 */

export const UNKNOWN_DEVICE = 'Unknown device';

/**
 * Browsers, most specific first: Edge, Opera, Samsung Internet and others claim "Chrome" too,
 * Chrome claims "Safari", and iOS browsers carry their own token (CriOS, FxiOS, EdgiOS).
 */
const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|CriOS|Chromium|HeadlessChrome)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

/** Systems, most specific first: Android says "Linux", iPadOS and iOS say "like Mac OS X". */
const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bAndroid\b/, 'Android'],
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/** Longest User-Agent looked at: real ones are a few hundred characters, and this bounds regex work. */
const MAX_LENGTH = 512;

function first(table: ReadonlyArray<readonly [RegExp, string]>, userAgent: string): string | undefined {
  return table.find(([pattern]) => pattern.test(userAgent))?.[1];
}

/** "Chrome on Linux", "Safari on iOS", "Firefox" (system unknown), or "Unknown device". */
export function describeDevice(userAgent: string | undefined): string {
  if (!userAgent) return UNKNOWN_DEVICE;
  const text = userAgent.slice(0, MAX_LENGTH);
  const browser = first(BROWSERS, text);
  const system = first(SYSTEMS, text);
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `Browser on ${system}`;
  return UNKNOWN_DEVICE;
}
