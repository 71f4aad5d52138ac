import { describe, it, expect } from 'vitest'
import { PollDoctor, PollScheduler, applyCursor, extractCursor, parseJsonPath, readJsonPath } from '../../shared/common/parsers/poll.ts'

describe('poll: JSON path and cursor', () => {
  it('parses paths with dots, indexes and quoted keys', () => {
    expect(parseJsonPath('$.a.b')).toEqual(['a', 'b'])
    expect(parseJsonPath('data.next')).toEqual(['data', 'next'])
    expect(parseJsonPath('$.items[-1].id')).toEqual(['items', -1, 'id'])
    expect(parseJsonPath("$['x.y'][\"z\"]")).toEqual(['x.y', 'z'])
    expect(() => parseJsonPath('$.a[x]')).toThrow(/bad bracket at position 3/)
    expect(() => parseJsonPath('')).toThrow(/empty/)
  })

  it('reads strings, numbers and objects, and says why it could not', () => {
    const doc = { a: { n: 5, s: 'x', o: { k: 1 } }, items: [{ id: 'first' }, { id: 'last' }], z: null }
    expect(readJsonPath(doc, ['a', 'n'])).toEqual({ ok: true, value: '5' })
    expect(readJsonPath(doc, ['a', 's'])).toEqual({ ok: true, value: 'x' })
    expect(readJsonPath(doc, ['a', 'o'])).toEqual({ ok: true, value: '{"k":1}' })
    expect(readJsonPath(doc, ['items', -1, 'id'])).toEqual({ ok: true, value: 'last' })
    expect(readJsonPath(doc, ['items', 5])).toEqual({ ok: false, reason: 'index 5 out of range (length 2)' })
    expect(readJsonPath(doc, ['nope'])).toEqual({ ok: false, reason: 'no key "nope"' })
    expect(readJsonPath(doc, ['z'])).toEqual({ ok: false, reason: 'the value is null' })
  })

  it('takes the cursor from a header (case-insensitive) or the body', () => {
    expect(extractCursor({ header: 'x-cursor' }, [['X-Cursor', '42']], null)).toEqual({ ok: true, value: '42' })
    expect(extractCursor({ json: '$.next' }, [], '{"next":"abc"}')).toEqual({ ok: true, value: 'abc' })
    const bad = extractCursor({ json: '$.next' }, [], '<html>')
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.reason).toMatch(/not JSON/)
  })

  it('puts the cursor in a query parameter (replacing) or a header', () => {
    expect(applyCursor('http://h/p?a=1&cursor=old#f', [], { query: 'cursor' }, 'n w').url).toBe('http://h/p?a=1&cursor=n%20w')
    const h = applyCursor('http://h/p', [['X-Cursor', 'old'], ['A', 'b']], { header: 'x-cursor' }, '9').headers
    expect(h).toEqual([['A', 'b'], ['x-cursor', '9']])
    expect(applyCursor('http://h/p', [], { query: 'c' }, undefined).url).toBe('http://h/p')
  })
})

describe('poll: scheduler', () => {
  const base = { delayMs: 100, initialDelayMs: 200, maxDelayMs: 1000, multiplier: 2, jitter: 'none' as const, maxCycles: 0, maxConsecutiveErrors: 4 }
  it('waits the delay after success and backs off exponentially after errors, capped', () => {
    const s = new PollScheduler(base)
    expect(s.next('data')).toEqual({ action: 'poll', delayMs: 100, backoff: false })
    expect(s.next('error')).toEqual({ action: 'poll', delayMs: 200, backoff: true })
    expect(s.next('timeout')).toEqual({ action: 'poll', delayMs: 400, backoff: true })
    expect(s.next('http-error')).toEqual({ action: 'poll', delayMs: 800, backoff: true })
    expect(s.next('empty')).toEqual({ action: 'poll', delayMs: 100, backoff: false })
  })
  it('applies full jitter with the injected random', () => {
    const s = new PollScheduler({ ...base, jitter: 'full', delayMs: 0 }, () => 0.5)
    s.next('error')
    expect(s.next('error')).toEqual({ action: 'poll', delayMs: 200, backoff: true })
  })
  it('stops after maxConsecutiveErrors and after maxCycles', () => {
    const s = new PollScheduler(base)
    for (let i = 0; i < 3; i++) expect(s.next('error').action).toBe('poll')
    expect(s.next('error')).toMatchObject({ action: 'stop', clean: false })
    const t = new PollScheduler({ ...base, maxCycles: 2 })
    expect(t.next('data').action).toBe('poll')
    expect(t.next('data')).toMatchObject({ action: 'stop', clean: true })
  })
})

describe('poll: doctor', () => {
  it('names cuts at a constant hold time, once', () => {
    const d = new PollDoctor()
    const found = [30_010, 30_002, 29_990, 30_005].flatMap((held) => d.observe({ outcome: 'error', status: null, heldMs: held, bodySize: 0, noResponse: true }))
    const cuts = found.filter((x) => x.code === 'WT_POLL_HOLD_CUT')
    expect(cuts).toHaveLength(1)
    expect(cuts[0]!.title).toMatch(/30 s/)
    expect(found.filter((x) => x.code === 'WT_POLL_EMPTY_REPLY')).toHaveLength(1)
  })
  it('does not call varied failure times a constant cut', () => {
    const d = new PollDoctor()
    const found = [5000, 12_000, 30_000, 2000].flatMap((held) => d.observe({ outcome: 'error', status: null, heldMs: held, bodySize: 0 }))
    expect(found.filter((x) => x.code === 'WT_POLL_HOLD_CUT')).toHaveLength(0)
  })
  it('names a 504 from an intermediary with its Via header', () => {
    const d = new PollDoctor()
    const out = d.observe({ outcome: 'http-error', status: 504, heldMs: 60_000, bodySize: 10, headers: [['Via', '1.1 squid']] })
    expect(out[0]!.code).toBe('WT_POLL_INTERMEDIARY')
    expect(out[0]!.explanation).toMatch(/squid/)
  })
  it('names empty replies answered at once', () => {
    const d = new PollDoctor()
    const out = [1, 2, 3].flatMap(() => d.observe({ outcome: 'empty', status: 200, heldMs: 3, bodySize: 0 }))
    expect(out.map((x) => x.code)).toEqual(['WT_POLL_NOT_HELD'])
  })
})
