// The long-poll transport against real servers on 127.0.0.1: cursors, timeouts, hostile
// servers (holds forever, cuts at a constant time, 502 from a "proxy", empty replies).
import { afterEach, describe, expect, it } from 'vitest'
import { startHttpFixture, type HttpFixture } from '../fixtures/servers/http.ts'
import { run } from '../fixtures/engine.ts'

const fixtures: HttpFixture[] = []
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()))
})
async function fixture(): Promise<HttpFixture> {
  const f = await startHttpFixture()
  fixtures.push(f)
  return f
}

describe('long-poll', () => {
  it('carries the cursor from the JSON body into the next query, recording each cycle', async () => {
    const f = await fixture()
    const r = await run({
      url: `${f.url}/poll?hold=30`,
      transport: 'poll',
      poll: { cursorFrom: { json: '$.cursor' }, cursorTo: { query: 'cursor' }, initialCursor: '10', maxCycles: 4 },
    })
    expect(r.end.exitCode).toBe(0)
    const cycles = r.of('poll.cycle')
    expect(cycles.map((c) => c.cursor)).toEqual(['10', '11', '12', '13'])
    expect(cycles.map((c) => c.nextCursor)).toEqual(['11', '12', '13', '14'])
    for (const c of cycles) {
      expect(c.status).toBe(200)
      expect(c.outcome).toBe('data')
      expect(c.heldMs).toBeGreaterThanOrEqual(25)
      expect(c.body!.text).toContain('"cursor"')
    }
    expect(cycles[0]!.url).toContain('cursor=10')
    // one connection, reused (keep-alive): a single tcp event
    expect(r.of('tcp')).toHaveLength(1)
  })

  it('carries the cursor from a header into a header (on the wire: the server counts on from it)', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll?hold=5`, transport: 'poll', poll: { cursorFrom: { header: 'x-cursor' }, cursorTo: { header: 'X-After' }, initialCursor: '1', maxCycles: 3 } })
    expect(f.pollCursors).toEqual(['h:1', 'h:2', 'h:3'])
    expect(r.of('poll.cycle').map((c) => [c.cursor, c.nextCursor])).toEqual([['1', '2'], ['2', '3'], ['3', '4']])
  })

  it('an empty reply still moves the cursor when its header carries one', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll?hold=5&empty=1`, transport: 'poll', poll: { cursorFrom: { header: 'x-cursor' }, cursorTo: { header: 'X-After' }, initialCursor: '7', maxCycles: 3 } })
    expect(r.of('poll.cycle').map((c) => c.outcome)).toEqual(['empty', 'empty', 'empty'])
    expect(f.pollCursors).toEqual(['h:7', 'h:8', 'h:9'])
    // A JSON-path cursor has nothing to read in an empty body: the cursor stays, and that is not an error.
    const json = await run({ url: `${f.url}/poll?hold=5&empty=1`, transport: 'poll', poll: { cursorFrom: { json: '$.cursor' }, cursorTo: { query: 'cursor' }, initialCursor: '3', maxCycles: 2 } })
    expect(f.pollCursors.slice(3)).toEqual(['q:3', 'q:3'])
    expect(json.of('error').filter((e) => e.code === 'WT_POLL_CURSOR')).toEqual([])
  })

  it('waits delayMs between polls', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll?hold=1`, transport: 'poll', poll: { delayMs: 150, maxCycles: 3 } })
    const ts = r.of('poll.cycle').map((c) => c.ts)
    expect(ts).toHaveLength(3)
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(145)
  })

  it('maxMessages counts replies that carried data, not timeouts', async () => {
    const f = await fixture()
    const timeouts = await run({ url: `${f.url}/poll/forever`, transport: 'poll', maxMessages: 2, poll: { timeoutMs: 100, maxCycles: 3 }, reconnect: { initialDelayMs: 5, maxDelayMs: 10 } })
    expect(timeouts.of('poll.cycle').map((c) => c.outcome)).toEqual(['timeout', 'timeout', 'timeout'])
    expect(timeouts.end.msgsIn).toBe(0)
    const data = await run({ url: `${f.url}/poll?hold=1`, transport: 'poll', maxMessages: 2, poll: { maxCycles: 10 } })
    expect(data.of('poll.cycle')).toHaveLength(2)
    expect(data.end.msgsIn).toBe(2)
    expect(data.end.exitCode).toBe(0)
  })

  it('caps the recorded body and records the cap', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/stream/plain?kb=64`, transport: 'poll', poll: { maxCycles: 1 }, limits: { maxPollBodyBytes: 1000 } })
    const c = r.of('poll.cycle')[0]!
    expect(c.body!.size).toBe(65536)
    expect(c.body!.text!.length).toBe(1000)
    expect(c.body!.truncated).toBe(true)
    expect(c.bodyCap).toBe(1000)
  })

  it('a server that holds forever hits the client timeout, then backs off', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll/forever`, transport: 'poll', poll: { timeoutMs: 200, maxCycles: 2 }, reconnect: { initialDelayMs: 10 } })
    const cycles = r.of('poll.cycle')
    expect(cycles.map((c) => c.outcome)).toEqual(['timeout', 'timeout'])
    expect(cycles[0]!.heldMs).toBeGreaterThanOrEqual(190)
    expect(cycles[0]!.errorCode).toBe('WT_POLL_TIMEOUT')
    expect(r.of('conn.state').some((s) => s.state === 'reconnecting')).toBe(true)
    expect(r.end.exitCode).not.toBe(0)
  })

  it('names cuts at a constant hold time and empty replies', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll/cut?after=1100`, transport: 'poll', poll: { maxCycles: 3, backoff: false }, reconnect: { initialDelayMs: 1 } })
    const cycles = r.of('poll.cycle')
    expect(cycles).toHaveLength(3)
    expect(cycles.every((c) => c.outcome === 'error' && c.status === null)).toBe(true)
    const codes = r.of('diagnosis').map((d) => d.code)
    expect(codes).toContain('WT_POLL_EMPTY_REPLY')
    expect(codes).toContain('WT_POLL_HOLD_CUT')
  }, 15_000)

  it('names a 502 from an intermediary', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll/502?after=50`, transport: 'poll', poll: { maxCycles: 1 } })
    expect(r.of('poll.cycle')[0]).toMatchObject({ outcome: 'http-error', status: 502 })
    const d = r.of('diagnosis').find((x) => x.code === 'WT_POLL_INTERMEDIARY')!
    expect(d.explanation).toMatch(/evil-proxy/)
  })

  it('names empty replies answered at once', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll/empty`, transport: 'poll', poll: { maxCycles: 3 } })
    expect(r.of('poll.cycle').map((c) => c.outcome)).toEqual(['empty', 'empty', 'empty'])
    expect(r.of('diagnosis').map((d) => d.code)).toContain('WT_POLL_NOT_HELD')
  })

  it('stops cleanly on close while a request is held', async () => {
    const f = await fixture()
    const { start } = await import('../fixtures/engine.ts')
    const r = start({ url: `${f.url}/poll/forever`, transport: 'poll' })
    await new Promise((res) => setTimeout(res, 200))
    r.conn.close()
    const end = await r.conn.done
    expect(end.exitCode).toBe(0)
  })

  it('rejects a bad JSON path with a clear error', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/poll`, transport: 'poll', poll: { cursorFrom: { json: '$.a[x]' }, cursorTo: { query: 'c' } } })
    expect(r.of('error')[0]!.code).toBe('WT_OPTION_INVALID')
    expect(r.of('error')[0]!.message).toMatch(/bad bracket/)
  })
})
