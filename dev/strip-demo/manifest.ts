/**
 * What `npm run strip-demo` removes. Whole files and folders that belong only to the demo are
 * listed here; demo lines inside shared files are marked where they are instead, between a line
 * `// demo:start` and a line `// demo:end` (`<!-- demo:start -->` / `<!-- demo:end -->` in
 * Markdown, HTML and Lit templates). The minimal app that stays (sign-in, the user card, Your
 * sessions, `GET /api/me` on the tiny API of dev/me-api) is already in place and needs nothing added.
 *
 * dev/api stays: it is the resource server the integration tests (test/support) put behind the
 * BFF to check what reaches an API (tokens, audiences, DPoP, WebSockets), and dev/me-api
 * validates tokens with its code.
 */
export const DEMO_PATHS: readonly string[] = [
  // The SPA's demo: notes (live too), the public greeting and the reports call, and their tests.
  'web/src/demo',
  'web/src/notes',
  'web/src/components/notes-panel.ts',
  // The dev provider's "end my other sessions at the provider" (Shared Signals) and its test.
  'dev/idp/end-other-sessions.ts',
  'test/shared-signals-demo.test.ts',
  // The test of this script: after the strip there is nothing left for it to strip.
  'test/strip-demo.test.ts',
];

/** Where marked regions are looked for: these file endings, outside these folders. */
export const MARKED_FILE_ENDINGS: readonly string[] = ['.ts', '.js', '.md', '.html', '.css', '.yml', '.yaml'];
export const SKIPPED_FOLDERS: readonly string[] = ['node_modules', '.git', 'dist', 'artifacts'];
