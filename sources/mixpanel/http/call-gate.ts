/**
 * The per-family call gate: at most `maxConcurrent` calls at once, starts at least `minTime` ms apart, in arrival
 * order. A call that may start now starts synchronously, inside `run()`, so its request is handed to undici before
 * the caller's next line runs (undici then writes it on a reused keep-alive socket after one check phase, which the
 * Engage scan lets pass before it maps a page).
 *
 * Why not bottleneck (which the client used before): bottleneck starts every job from a `setTimeout`, even with
 * nothing queued, so a request made ahead of time (the next Engage page, asked for before this page's rows are
 * mapped) left only when the thread was next idle, after the mapping it was meant to overlap. Measured on the
 * bench's 1M-profile engage scan: 25.7–27.7 s with bottleneck, 16.1–20.6 s with this gate and the check phase.
 */

export interface CallGateSettings {
  readonly maxConcurrent: number;
  /** Least time between two starts (ms). */
  readonly minTime: number;
}

export class CallGate {
  readonly #settings: CallGateSettings;
  readonly #now: () => number;
  readonly #queue: (() => void)[] = [];
  #active = 0;
  #lastStart = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(settings: CallGateSettings, now: () => number = () => performance.now()) {
    if (!(settings.maxConcurrent >= 1)) throw new RangeError(`maxConcurrent must be at least 1, got ${settings.maxConcurrent}`);
    if (!(settings.minTime >= 0)) throw new RangeError(`minTime must be 0 or more, got ${settings.minTime}`);
    this.#settings = settings;
    this.#now = now;
  }

  /** Calls running now. */
  get running(): number {
    return this.#active;
  }

  /** Calls waiting for a slot or for `minTime`. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Run `job` when the gate allows (now, synchronously, if it does); settles as the job does. */
  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#active++;
        this.#lastStart = this.#now();
        let result: Promise<T>;
        try {
          result = job();
        } catch (error) {
          result = Promise.reject(error);
        }
        result.then(
          (value) => {
            this.#release();
            resolve(value);
          },
          (error: unknown) => {
            this.#release();
            reject(error);
          },
        );
      };
      if (this.#queue.length === 0 && this.#active < this.#settings.maxConcurrent && this.#waitMs() <= 0) start();
      else {
        this.#queue.push(start);
        this.#pump();
      }
    });
  }

  #waitMs(): number {
    return this.#lastStart + this.#settings.minTime - this.#now();
  }

  #release(): void {
    this.#active--;
    this.#pump();
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#active < this.#settings.maxConcurrent) {
      const wait = this.#waitMs();
      if (wait > 0) {
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, Math.ceil(wait));
        return;
      }
      this.#queue.shift()!();
    }
  }
}
