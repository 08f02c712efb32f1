/**
 * A source of time. Pure code takes a Clock (or a timestamp) instead of reading the system
 * clock, so tests and simulations can drive it with a virtual clock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The system clock: `Date.now()`. */
export const systemClock: Clock = { now: () => Date.now() };
