import { performance } from 'node:perf_hooks'

/** Wall-clock origin of the monotonic clock, ms since the epoch. */
export const TIME_ORIGIN = performance.timeOrigin

/** Wall-clock ms since the epoch with sub-millisecond precision, from a monotonic clock (never goes back). */
export function nowTs(): number {
  return TIME_ORIGIN + performance.now()
}

/** Monotonic ms (for durations). */
export function mono(): number {
  return performance.now()
}

/** Rounds a duration to microseconds for readable recordings. */
export function ms(n: number): number {
  return Math.round(n * 1000) / 1000
}
