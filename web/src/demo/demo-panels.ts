import { html, nothing } from 'lit';
import type { RouteInfo } from '../../../shared/src/index.js';
import { canCall, canOpenSocket } from '../config/api-routes.js';
import { LIVE_NOTES_PATH, NOTES_PATH } from '../notes/notes-api.js';
import { availableDemoApis } from './demo-apis-controller.js';
import '../components/notes-panel.js';
import './api-panel.js';
import { PROTECTED_APIS } from './protected-apis-controller.js';
import './protected-panel.js';
import { END_PROVIDER_SESSIONS_PATH } from './provider-sessions-panel.js';

/*
 * The demo's panels, and the one place that decides when each shows: only when `/bff/config`
 * lists the route it calls, so a kit configured with other routes makes no call that can only
 * fail. The app shell renders these two functions and nothing else of the demo.
 */

/** Signed out: the public greeting, when `/public` is a route. */
export function signedOutDemoPanels(routes: readonly RouteInfo[]) {
  return availableDemoApis({ routes, signedIn: false }).greeting ? html`<api-panel .routes=${routes}></api-panel>` : nothing;
}

/**
 * Signed in: the notes (live when the route takes WebSockets), the calls to the public and reports
 * APIs, and ending the user's other sessions at the dev provider (Shared Signals).
 */
export function signedInDemoPanels(routes: readonly RouteInfo[]) {
  const apis = availableDemoApis({ routes, signedIn: true });
  return html`${canCall(routes, NOTES_PATH) ? html`<notes-panel ?live=${canOpenSocket(routes, LIVE_NOTES_PATH)}></notes-panel>` : nothing}
  ${apis.greeting || apis.reports ? html`<api-panel signed-in .routes=${routes}></api-panel>` : nothing}
  ${Object.values(PROTECTED_APIS).some((path) => canCall(routes, path)) ? html`<protected-panel .routes=${routes}></protected-panel>` : nothing}
  ${canCall(routes, END_PROVIDER_SESSIONS_PATH) ? html`<provider-sessions-panel></provider-sessions-panel>` : nothing}`;
}
