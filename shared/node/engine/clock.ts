import { performance } from 'node:perf_hooks'

/** Wall-clock origin of the monotonic clock, ms since the epoch. */
export const TIME_ORIGIN = performance.timeOrigin

/**
 * Wall-clock ms since the epoch with microsecond precision, from a monotonic clock (never
 * goes back). Rounded to the microsecond so the value prints the same everywhere.
 */
export function nowTs(): number {
  return Math.round((TIME_ORIGIN + performance.now()) * 1000) / 1000
}

/** Monotonic ms (for durations). */
export function mono(): number {
  return performance.now()
}

/** Rounds a duration to microseconds for readable recordings. */
export function ms(n: number): number {
  return Math.round(n * 1000) / 1000
}
