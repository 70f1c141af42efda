/**
 * A clock port: code that needs "now" or a delay asks the clock, so tests can use a clock they
 * move by hand instead of fake timers.
 */
export interface Clock {
  now(): Date;
  /** Milliseconds since the epoch. */
  nowMs(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  nowMs: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(resolve, ms);
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          reject(signal.reason);
        },
        { once: true },
      );
    }),
};

/** A clock that only moves when told; `sleep` resolves once `advance` passes its deadline. */
export class ManualClock implements Clock {
  private waiting: { at: number; resolve: () => void }[] = [];
  constructor(private ms = Date.UTC(2026, 0, 1)) {}
  now(): Date {
    return new Date(this.ms);
  }
  nowMs(): number {
    return this.ms;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.waiting.push({ at: this.ms + ms, resolve }));
  }
  advance(ms: number): void {
    this.ms += ms;
    const due = this.waiting.filter((w) => w.at <= this.ms);
    this.waiting = this.waiting.filter((w) => w.at > this.ms);
    for (const w of due) w.resolve();
  }
}

let current: Clock = systemClock;
export const clock = (): Clock => current;
export function setClock(c: Clock): void {
  current = c;
}
