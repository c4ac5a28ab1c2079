import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { onStepUpRequired, stepUpLoginUrl, takeStepUpFailed, type StepUpAsk } from './step-up.js';

/**
 * The state of the "Confirm it's you" prompt: what the last refused call asked for (undefined:
 * no prompt), and the two ways out; or that the last step-up failed (the page came back with
 * `login_error=step_up_failed`). Listens while its element is connected; the element renders.
 */
export class StepUpController implements ReactiveController {
  #ask: StepUpAsk | undefined;
  #failed = takeStepUpFailed();
  #leaving = false;
  #stop: (() => void) | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    /** Where the browser is (tests pass their own). */
    private readonly location: Pick<Location, 'pathname' | 'search' | 'hash' | 'assign'> = window.location,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.#stop = onStepUpRequired((ask) => {
      this.#ask = ask; // a failed step-up stays said until the user acts: the view's calls ask again at once
      this.host.requestUpdate();
    });
  }

  hostDisconnected(): void {
    this.#stop?.();
  }

  /** What is asked, while the prompt shows. */
  get ask(): StepUpAsk | undefined {
    return this.#ask;
  }

  /** The last step-up did not bring what was asked (the session is as it was). */
  get failed(): boolean {
    return this.#failed;
  }

  /** The sign-in navigation has started. */
  get leaving(): boolean {
    return this.#leaving;
  }

  /** Signs in with what is asked, back to this very view. */
  confirm(): void {
    if (!this.#ask || this.#leaving) return;
    this.#leaving = true;
    const { pathname, search, hash } = this.location;
    this.location.assign(stepUpLoginUrl(this.#ask, `${pathname}${search}${hash}`));
    this.host.requestUpdate();
  }

  /** Not now: the prompt goes, the session stays as it is. */
  dismiss(): void {
    this.#ask = undefined;
    this.#failed = false;
    this.host.requestUpdate();
  }
}
