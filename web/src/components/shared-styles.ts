import { css } from 'lit';

/** Styles every view shares: a block host, the card surface, buttons and visible focus. */
export const baseStyles = css`
  :host {
    display: block;
  }
  section {
    background: var(--surface);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    padding: 20px;
  }
  button {
    font: inherit;
    padding: 8px 16px;
    border-radius: var(--radius);
    border: 1px solid var(--border);
    background: var(--surface);
    color: var(--text);
    cursor: pointer;
  }
  button.primary {
    font-weight: 600;
    background: var(--accent);
    color: var(--accent-text);
    border-color: var(--accent);
  }
  button:disabled {
    opacity: 0.6;
    cursor: progress;
  }
  button:focus-visible,
  input:focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  [role='alert'] {
    color: var(--danger);
  }
`;
