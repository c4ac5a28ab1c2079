import { html } from 'lit';

/**
 * Every user-visible string of the SPA (text, labels, messages, titles), in one place: components,
 * controllers and API modules import from here and write no sentence of their own.
 *
 * Shaped so that @lit/localize can take over: a plain object whose entries are strings, or
 * functions of their parameters for sentences with values in them (`noteCount(3)`); entries that
 * place markup (`<time>`) in a sentence take it as a parameter and return an `html` template, as
 * `msg(html\`…\`)` does. To translate, wrap each value in `msg('…', { id: 'notes.count' })` (with
 * `str` for the functions) and run `lit-localize extract`; until then this object is the catalogue.
 *
 * The `notes`, `demoApis` and `protectedApis` groups belong to the demo (`npm run strip-demo` removes them).
 */
export const strings = {
  app: {
    /** The app's name in the header; rename it when you copy the kit (index.html's <title> too). */
    name: 'Notes',
    checkingSession: 'Checking your session…',
    signOut: 'Sign out',
    tryAgain: 'Try again',
  },

  signedOut: {
    title: 'Sign in to your notes',
    lead: 'You sign in with your identity provider; this app never sees your password.',
    signIn: 'Sign in',
    /** The button after a session ended: it tries a sign-in without a prompt first. */
    signInAgain: 'Sign in again',
    redirecting: 'Redirecting…',
  },

  user: {
    signedInAs: (name: string) => `Signed in as ${name}`,
    session: 'Session',
    idleEnd: 'Ends if idle at',
    absoluteEnd: 'Ends at the latest',
    claims: 'Claims',
  },

  /** Why the signed-out view shows: what the app knows about how the session ended. */
  session: {
    expired: 'Your session expired. Please sign in again.',
    ended: 'Your session ended. Please sign in again.',
    otherTab: 'You signed out in another tab.',
    /** The app cannot know who ended it (another device, the provider, an administrator): says so. */
    elsewhere: 'You were signed out on this device, possibly from another device. Please sign in again.',
  },

  /** Why the session ended, by the BFF's `reason` (SESSION_END_REASONS), in plain words. */
  endReasons: {
    no_session: 'Your session ended. Please sign in again.',
    idle_timeout: (idle: string | undefined) =>
      idle
        ? `Your session timed out after ${idle} without activity. Please sign in again.`
        : 'Your session timed out after a while without activity. Please sign in again.',
    absolute_timeout: 'Your session reached the longest time a session can last. Please sign in again.',
    signed_out: 'You signed out. Sign in again whenever you like.',
    ended_elsewhere: 'You were signed out on another device or by your sign-in provider. Please sign in again.',
    refresh_refused: 'Your sign-in could no longer be renewed, so you were signed out. Please sign in again.',
  },
  /** A duration in words: "30 minutes", "1 hour", "45 seconds". */
  duration: (seconds: number) => {
    const [value, unit] =
      seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : seconds % 60 === 0 ? [seconds / 60, 'minute'] : [seconds, 'second'];
    return `${value} ${unit}${value === 1 ? '' : 's'}`;
  },

  /** The warning before the session ends (an alert dialog with a countdown). */
  expiry: {
    idleTitle: 'Are you still there?',
    idleText: (idle: string) => `For your security, your session ends after ${idle} without activity.`,
    absoluteTitle: 'Your session ends soon',
    absoluteText: (endsAt: unknown) =>
      html`Your session ends at ${endsAt}, the longest a session can last. Sign in again to keep working; what you typed stays.`,
    countdown: (left: string) => `Ends in ${left}`,
    staySignedIn: 'Stay signed in',
    signInAgain: 'Sign in again',
    notNow: 'Not now',
    extendFailed: 'Could not keep your session. Please try again.',
  },

  /** Readable sentences for the `login_error` codes the BFF passes on (OAuth 2 / OpenID Connect error codes). */
  loginErrors: {
    access_denied: 'You declined to share your account with this app, so you are not signed in. Sign in again whenever you like.',
    login_required: 'You are not signed in at your identity provider. Please sign in.',
    consent_required: 'This app needs your consent before you can sign in.',
    interaction_required: 'Your identity provider needs you to finish signing in there. Please sign in again.',
    account_selection_required: 'Please choose an account at your identity provider to sign in.',
    invalid_request: 'Sign-in could not be started or completed. Please try again.',
    invalid_scope: 'This app asked for access your identity provider does not allow. Please contact the app team.',
    unauthorized_client: 'This app is not allowed to sign you in. Please contact the app team.',
    unsupported_response_type: 'This app is not set up correctly for your identity provider. Please contact the app team.',
    temporarily_unavailable: 'The sign-in service is temporarily unavailable. Please try again in a moment.',
    server_error: 'The sign-in service had a problem. Please try again in a moment.',
    step_up_failed: 'Your identity provider did not confirm it was you as asked, so nothing changed. Please try again.',
  } as Readonly<Record<string, string>>,
  loginErrorGeneric: 'Sign-in did not complete. Please try again.',

  /** The "Confirm it's you" prompt of a call that needs a step-up (RFC 9470). */
  stepUp: {
    title: "Confirm it's you",
    asks: (parts: string[]) => `To continue, ${parts.join(', and ')}. You will come back to this page.`,
    secondFactor: 'sign in again with your second factor (a one-time code)',
    strongerSignIn: 'sign in again with a stronger method',
    recentSignIn: (seconds: number) =>
      `sign in again (your last sign-in must be at most ${seconds >= 120 ? `${Math.floor(seconds / 60)} minutes` : `${seconds} seconds`} old)`,
    signInAgain: 'sign in again',
    confirm: 'Continue',
    notNow: 'Not now',
    failedTitle: 'Not confirmed',
    close: 'Close',
  },

  /** Failed calls: the messages and titles of the BFF client's errors. */
  errors: {
    sessionEnded: 'Your session ended. Please sign in again.',
    unavailable: 'The service is temporarily unavailable. Please try again in a moment.',
    network: 'The app could not reach the server. Check your connection and try again.',
    badResponse: 'The server sent an answer the app could not read.',
    requestFailed: (status: number) => `The request failed (${status}).`,
    unexpected: 'An unexpected error happened. Please try again.',
    titleUnexpected: 'Something went wrong',
    titleUnavailable: 'Service temporarily unavailable',
    titleOffline: 'You appear to be offline',
    titleTooMany: 'Too many requests',
    titleBadResponse: 'Unexpected answer from the server',
    titleRefused: 'Request refused',
  },

  sessions: {
    title: 'Your sessions',
    refresh: 'Refresh',
    lead: 'Everywhere you are signed in. Sign out any device you do not recognise or no longer use.',
    loading: 'Loading your sessions…',
    loadFailed: 'Could not load your sessions',
    listLabel: 'Sessions',
    thisDevice: 'This device',
    times: (signedIn: unknown, lastActive: unknown) => html`Signed in ${signedIn} · Last active ${lastActive}`,
    signOut: 'Sign out',
    signOutLabel: (device: string, signedIn: string) => `Sign out ${device}, signed in ${signedIn}`,
    signOutOthers: 'Sign out all other sessions',
    onlyThis: 'You are not signed in anywhere else.',
    others: (count: number) => (count === 1 ? '1 other session' : `${count} other sessions`),
    confirmOneTitle: (device: string) => `Sign out ${device}?`,
    confirmOneText: 'That device will have to sign in again. Anything open there stops working.',
    confirmOthersTitle: (others: string) => `Sign out ${others}?`,
    confirmOthersText: 'Every other device will have to sign in again. This device stays signed in.',
    cancel: 'Cancel',
    signedOutOne: (device: string) => `Signed out ${device}. It will have to sign in again.`,
    signedOutNone: 'There were no other sessions to sign out.',
    signedOutOthers: (others: string) => `Signed out ${others}.`,
    alreadyEnded: 'That session had already ended.',
    signOutFailed: 'Could not sign out',
  },

  /** The example call to your API (`GET /api/me`). */
  me: {
    title: 'Your API',
    lead: 'GET /api/me through the BFF, which adds your access token; the browser never sees it.',
    loading: 'Calling the API…',
    subject: 'Token for',
    audience: 'Audience',
    failed: 'The API refused the call',
  },

  // demo:start
  // Demo from here on (notes, live notes, the public and reports APIs): strip-demo removes it.
  notes: {
    title: 'Your notes',
    count: (count: number) => (count === 1 ? '1 note' : `${count} notes`),
    newNote: 'New note',
    add: 'Add',
    saving: 'Saving…',
    hint: (max: number) => `Up to ${max} characters.`,
    loading: 'Loading notes…',
    loadFailed: 'Could not load your notes',
    saveFailed: 'Could not save the change',
    empty: 'No notes yet. Write your first one above.',
    listLabel: 'Notes',
    delete: 'Delete',
    deleteLabel: (text: string) => `Delete note: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`,
    emptyTitle: 'Nothing to add',
    emptyMessage: 'Write something first.',
    tooLongTitle: 'Note too long',
    tooLongMessage: (max: number) => `A note can have up to ${max} characters.`,
  },

  demoApis: {
    title: 'Calls through the BFF',
    lead: 'Each API gets the token its route asks for; the browser never sees one.',
    publicApi: 'Public API',
    reportsApi: 'Reports API',
    tokenFor: (audience: string) => `token for ${audience}`,
    callReports: 'Call the reports API',
    reportsRefused: 'The reports API refused the call',
  },

  protectedApis: {
    title: 'Protected calls',
    lead: 'Routes with access rules: the Admin report needs a sign-in with a second factor, the other one a claim only Alice has.',
    admin: 'Admin report',
    alice: "Alice's report",
    answered: (sub: string) => `answered for ${sub}`,
    refused: 'The API refused the call',
  },

  providerSessions: {
    title: 'At the provider',
    lead: 'The dev provider tells the BFF about sessions it ends (OpenID Shared Signals, CAEP session-revoked).',
    endOthers: 'End my other sessions at the provider',
    ending: 'Ending…',
    ended: (count: number) =>
      count === 0
        ? 'You had no other sessions at the provider.'
        : `The provider ended ${count === 1 ? '1 other session' : `${count} other sessions`}.`,
    failed: 'The provider could not end your other sessions',
  },
  // demo:end
};
