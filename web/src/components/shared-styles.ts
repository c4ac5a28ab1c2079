import { css } from 'lit';

/**
 * Styles every component shares (Lit adopts them as constructable stylesheets, so the strict
 * CSP `style-src 'self'` holds): block host, card surface, buttons, inputs, visible focus, alerts.
 */
export const baseStyles = css`
  :host {
    display: block;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .card {
    background: var(--surface);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    box-shadow: var(--shadow);
    padding: clamp(16px, 4vw, 24px);
    min-width: 0;
  }
  h2 {
    font-size: 1.125rem;
    line-height: 1.3;
    margin: 0 0 12px;
  }
  h3 {
    font-size: 0.8rem;
    font-weight: 600;
    letter-spacing: 0.04em;
    text-transform: uppercase;
    color: var(--muted);
    margin: 20px 0 8px;
  }
  /* Headings and messages that receive focus programmatically (tabindex=-1) need no ring. */
  [tabindex='-1']:focus {
    outline: none;
  }
  button,
  input {
    font: inherit;
    min-height: 40px;
    border-radius: var(--radius-sm);
    border: 1px solid var(--border);
    background: var(--surface);
    color: var(--text);
  }
  button {
    font-weight: 500;
    padding: 8px 16px;
    cursor: pointer;
    transition:
      background-color 120ms ease,
      border-color 120ms ease;
  }
  button:hover:not(:disabled) {
    background: var(--surface-muted);
  }
  button.primary {
    font-weight: 600;
    background: var(--accent);
    border-color: var(--accent);
    color: var(--accent-text);
  }
  button.primary:hover:not(:disabled) {
    background: var(--accent-hover);
    border-color: var(--accent-hover);
  }
  button.quiet {
    min-height: 36px;
    padding: 6px 12px;
    color: var(--muted);
  }
  button.quiet:hover:not(:disabled) {
    color: var(--danger);
    border-color: var(--danger);
    background: var(--danger-bg);
  }
  button:disabled {
    opacity: 0.6;
    cursor: not-allowed;
  }
  input {
    padding: 8px 12px;
  }
  input:disabled {
    opacity: 0.7;
  }
  button:focus-visible,
  input:focus-visible,
  a:focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  .muted {
    color: var(--muted);
  }
  /* A card's title row: the heading, and a count or action on the right. */
  .heading {
    display: flex;
    align-items: baseline;
    justify-content: space-between;
    gap: 8px;
  }
  .alert {
    border: 1px solid var(--danger);
    background: var(--danger-bg);
    color: var(--text);
    border-radius: var(--radius-sm);
    padding: 12px 16px;
    margin: 12px 0;
  }
  .alert strong {
    display: block;
    color: var(--danger);
  }
  .alert p {
    margin: 4px 0 0;
  }
  .alert button {
    margin-top: 12px;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
`;

/** A modal `<dialog>` (confirmations, the expiry warning): the card's look over a dimmed page. */
export const dialogStyles = css`
  dialog {
    max-width: min(440px, calc(100vw - 32px));
    border: 1px solid var(--border);
    border-radius: var(--radius);
    background: var(--surface);
    color: var(--text);
    padding: 20px 24px;
  }
  dialog::backdrop {
    background: rgb(16 18 26 / 45%);
  }
`;
