// Reconnect schedules: pure functions with an injected random, so every bound is checked exactly.
import { describe, expect, it } from 'vitest'
import { backoffAbove, backoffDelay, resolveReconnect } from '../../shared/common/backoff.ts'

const policy = resolveReconnect({ enabled: true, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 'full' })

describe('backoffDelay', () => {
  it('grows by the multiplier up to the cap; full jitter draws in [0, cap]', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000])
    expect(backoffDelay(3, policy, () => 0)).toBe(0)
    expect(backoffDelay(3, { ...policy, jitter: 'none' }, () => 0)).toBe(400)
  })
})

describe('backoffAbove (SSE: on top of the reconnection time)', () => {
  it('waits the retry time first, then a draw in [retry, cap]; never less than the retry time', () => {
    expect(backoffAbove(1, 300, policy, () => 0.99)).toBe(300)
    expect(backoffAbove(2, 300, policy, () => 0)).toBe(300)
    expect(backoffAbove(2, 300, policy, () => 1)).toBe(600)
    expect(backoffAbove(3, 300, policy, () => 0.5)).toBe(650)
    // Capped at maxDelayMs, but a retry time above it wins: the server's retry is a floor.
    expect(backoffAbove(9, 300, policy, () => 1)).toBe(1000)
    expect(backoffAbove(9, 5000, policy, () => 1)).toBe(5000)
    expect(backoffAbove(4, 300, { ...policy, jitter: 'none' })).toBe(1000)
    for (let n = 1; n < 20; n++) expect(backoffAbove(n, 300, policy)).toBeGreaterThanOrEqual(300)
  })

  it('a tiny or zero retry time still backs off: growth starts from 100 ms (retry: 0 was a reconnect storm)', () => {
    expect([1, 2, 3, 4].map((n) => backoffAbove(n, 0, policy, () => 1))).toEqual([0, 200, 400, 800])
    expect(backoffAbove(2, 0, policy, () => 0)).toBe(0)
    expect(backoffAbove(3, 30, policy, () => 1)).toBe(400)
    expect(backoffAbove(1, 30, policy, () => 1)).toBe(30)
  })
})
