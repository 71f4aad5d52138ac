import type { ReconnectPolicy } from './spec/index.ts'

export const DEFAULT_RECONNECT: Readonly<ReconnectPolicy> = Object.freeze({
  enabled: false,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  maxAttempts: 10,
  multiplier: 2,
  jitter: 'full',
})

export function resolveReconnect(p?: Partial<ReconnectPolicy>): ReconnectPolicy {
  return { ...DEFAULT_RECONNECT, ...(p ?? {}) }
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential backoff capped at
 * maxDelayMs, with full jitter (a uniform draw in [0, cap]) when asked. `random` is
 * injected so the schedule is testable.
 */
export function backoffDelay(attempt: number, p: ReconnectPolicy, random: () => number = Math.random): number {
  const exp = p.initialDelayMs * Math.pow(p.multiplier, Math.max(0, attempt - 1))
  const cap = Math.min(p.maxDelayMs, exp)
  return Math.round(p.jitter === 'full' ? random() * cap : cap)
}

/** The smallest step backoffAbove grows by: a server's `retry: 0` must not become a reconnect storm. */
export const MIN_BACKOFF_UNIT_MS = 100

/**
 * Backoff on top of a floor (SSE's reconnection time `base`): attempt 1 waits `base`; attempt n
 * waits a draw in [base, cap], cap = min(max(base, maxDelayMs), unit x multiplier^(n-1)) with
 * unit = max(base, MIN_BACKOFF_UNIT_MS) (full jitter over what backoff adds; without jitter, the
 * cap). Never shorter than `base`.
 */
export function backoffAbove(attempt: number, base: number, p: ReconnectPolicy, random: () => number = Math.random): number {
  if (attempt <= 1) return base
  const unit = Math.max(base, MIN_BACKOFF_UNIT_MS)
  const cap = Math.max(base, Math.min(Math.max(base, p.maxDelayMs), unit * Math.pow(p.multiplier, attempt - 1)))
  return Math.round(p.jitter === 'full' ? base + random() * (cap - base) : cap)
}

/** Whether another attempt is allowed after `attempt` attempts have failed. */
export function mayRetry(attempt: number, p: ReconnectPolicy): boolean {
  return p.enabled && (p.maxAttempts === 0 || attempt <= p.maxAttempts)
}
