// `wiretrace record` with --transport sse, poll, h2 and stream: the real CLI entry (main) against
// real servers on 127.0.0.1, each flag proved by what the recording file holds.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { main } from '../../shared/node/cli/main.ts'
import { readRecording } from '../../shared/common/recording/reader.ts'
import type { EventOf, EventType, WiretraceEvent } from '../../shared/common/events/index.ts'
import type { RecordingHeader } from '../../shared/common/recording/format.ts'
import { startHttpFixture } from '../fixtures/servers/http.ts'
import { startH2Fixture } from '../fixtures/servers/http2.ts'
import { makeCa } from '../fixtures/certs.ts'

let dir = ''
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-cli-transports-'))
})
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()))
})
async function keep<T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const f = await p
  closers.push(() => f.close())
  return f
}

interface Recorded {
  code: number
  stderr: string
  header: RecordingHeader | null
  events: WiretraceEvent[]
  of<T extends EventType>(type: T): Array<EventOf<T>>
}

let n = 0
/** Runs `wiretrace record <args> --out FILE --quiet` in-process and reads FILE back. */
async function record(...args: string[]): Promise<Recorded> {
  const out = path.join(dir, `rec-${++n}.jsonl`)
  let stdout = ''
  let stderr = ''
  const io = {
    stdout: { write: (c: string | Buffer) => ((stdout += String(c)), true) } as unknown as NodeJS.WritableStream,
    stderr: { write: (c: string | Buffer) => ((stderr += String(c)), true) } as unknown as NodeJS.WritableStream,
  }
  const code = await main(['record', ...args, '--out', out, '--quiet'], io)
  expect(stdout).toBe('')
  const rec = readRecording(fs.readFileSync(out))
  expect(rec.issues).toEqual([])
  const of = <T extends EventType>(type: T): Array<EventOf<T>> => rec.events.filter((e) => e.type === type) as Array<EventOf<T>>
  return { code, stderr, header: rec.header, events: rec.events, of }
}

describe('record --transport sse', () => {
  it('--max-messages N stops cleanly after N events on a stream that stays open', async () => {
    const f = await keep(startHttpFixture())
    const r = await record(`${f.url}/sse/events?n=3&close=0`, '--transport', 'sse', '--max-messages', '2')
    expect(r.code, r.stderr).toBe(0)
    const evs = r.of('sse.event')
    expect(evs.slice(0, 2).map((e) => [e.id, e.data])).toEqual([['1', 'event 1'], ['2', 'event 2']])
    expect(r.of('note').some((e) => /received 2 messages \(maxMessages\)/.test(e.text))).toBe(true)
    expect(r.of('end')[0]).toMatchObject({ exitCode: 0 })
    expect(r.header?.connections[0]).toMatchObject({ transport: 'sse', maxMessages: 2 })
    expect(f.hits.get('/sse/events')).toBe(1)
  })

  it('--no-reconnect: a server that ends the stream ends the recording, with no second request', async () => {
    const f = await keep(startHttpFixture())
    const r = await record(`${f.url}/sse/events?n=2&retry=20`, '-t', 'sse', '--no-reconnect')
    expect(r.code, r.stderr).toBe(0)
    expect(r.of('sse.event').map((e) => e.data)).toEqual(['event 1', 'event 2'])
    expect(r.of('conn.state').filter((s) => s.state === 'reconnecting')).toEqual([])
    expect(r.of('http.request')).toHaveLength(1)
    expect(f.hits.get('/sse/events')).toBe(1)
    expect(r.header?.connections[0]).toMatchObject({ sse: { reconnect: false } })
  })

  it('without it the same server is reconnected (the server\'s retry:, --reconnect-max attempts), resuming with Last-Event-ID', async () => {
    const f = await keep(startHttpFixture())
    const r = await record(`${f.url}/sse/events?n=2&retry=20`, '-t', 'sse', '--reconnect-max', '1')
    expect(r.code, r.stderr).toBe(0)
    const again = r.of('conn.state').filter((s) => s.state === 'reconnecting')
    expect(again.map((s) => s.delayMs)).toEqual([20])
    expect(f.hits.get('/sse/events')).toBe(2)
    expect(f.lastEventIds.map((b) => b?.toString('utf8') ?? null)).toEqual([null, '2'])
  })
})

/**
 * A long-poll server whose reply i carries the next cursor "j<i>" in its JSON body, and also
 * "h<i>" in an X-Next header on odd replies only: with both cursor sources the header wins and
 * the JSON path stands in when it is missing. Records the cursor each request carried, by query
 * and by header.
 */
async function cursorServer(): Promise<{ url: string; seen: Array<{ query: string | null; header: string | null }>; close(): Promise<void> }> {
  const seen: Array<{ query: string | null; header: string | null }> = []
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x')
    const h = req.headers['x-after']
    seen.push({ query: u.searchParams.get('after'), header: typeof h === 'string' ? h : null })
    const i = seen.length - 1
    res.writeHead(200, { 'Content-Type': 'application/json', ...(i % 2 === 1 ? { 'X-Next': `h${i}` } : {}) })
    res.end(JSON.stringify({ page: { next: `j${i}` }, items: [i] }))
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/updates`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

describe('record --transport poll', () => {
  it('--cursor-json: the cursor read from each body goes into the next query; --max-messages counts replies', async () => {
    const f = await keep(startHttpFixture())
    const r = await record(`${f.url}/poll?hold=5`, '-t', 'poll', '--cursor-json', '$.cursor', '--cursor-query', 'cursor', '--initial-cursor', '10', '--max-messages', '3')
    expect(r.code, r.stderr).toBe(0)
    const cycles = r.of('poll.cycle')
    expect(cycles.slice(0, 3).map((c) => [c.cursor, c.nextCursor, c.outcome])).toEqual([['10', '11', 'data'], ['11', '12', 'data'], ['12', '13', 'data']])
    expect(cycles[2]!.url).toContain('cursor=12')
    expect(r.of('end')[0]!.msgsIn).toBeGreaterThanOrEqual(3)
  })

  it('--cursor-header with --cursor-json: the header first, the JSON path when it is missing; --cursor-query with --cursor-to-header: sent in both', async () => {
    const s = await keep(cursorServer())
    const r = await record(
      s.url, '-t', 'poll',
      '--cursor-header', 'x-next', '--cursor-json', '$.page.next',
      '--cursor-query', 'after', '--cursor-to-header', 'X-After',
      '--initial-cursor', 'start', '--max-messages', '4',
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.of('error')).toEqual([])
    const cycles = r.of('poll.cycle').slice(0, 4)
    expect(cycles.map((c) => c.cursor)).toEqual(['start', 'j0', 'h1', 'j2'])
    expect(cycles.map((c) => c.nextCursor)).toEqual(['j0', 'h1', 'j2', 'h3'])
    expect(s.seen.slice(0, 4)).toEqual(['start', 'j0', 'h1', 'j2'].map((c) => ({ query: c, header: c })))
    expect(r.header?.connections[0]).toMatchObject({ poll: { cursorFrom: { header: 'x-next', json: '$.page.next' }, cursorTo: { query: 'after', header: 'X-After' } } })
  })

  it('--reconnect-delay and --reconnect-max-delay set the backoff after failed cycles, with no other reconnect flag', async () => {
    const f = await keep(startHttpFixture())
    const r = await record(`${f.url}/poll/502?after=0`, '-t', 'poll', '--reconnect-delay', '40', '--reconnect-max-delay', '60', '--no-backoff', '--max-cycles', '3')
    // With backoff (the default): the second wait is a draw up to 80, capped at 60.
    const b = await record(`${f.url}/poll/502?after=0`, '-t', 'poll', '--reconnect-delay', '40', '--reconnect-max-delay', '60', '--max-cycles', '3')
    const waits = b.of('conn.state').filter((s) => s.state === 'reconnecting').map((s) => s.delayMs!)
    expect(waits).toHaveLength(2)
    expect(waits[0]!).toBeLessThanOrEqual(40)
    expect(waits[1]!).toBeLessThanOrEqual(60)
    expect(r.code, r.stderr).toBe(6)
    expect(r.stderr).toMatch(/WT_POLL_INTERMEDIARY: 502 Bad Gateway/)
    expect(r.of('poll.cycle').map((c) => c.status)).toEqual([502, 502, 502])
    // --no-backoff: every retry waits --reconnect-delay (no growth, no jitter).
    expect(r.of('conn.state').filter((s) => s.state === 'reconnecting').map((s) => s.delayMs)).toEqual([40, 40])
    expect(r.header?.connections[0]).toMatchObject({ reconnect: { initialDelayMs: 40, maxDelayMs: 60 } })
  })
})

describe('record --transport h2', () => {
  it('h2c with --prior-knowledge: --concurrency N streams on one session', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = await record(`${f.url}/small`, '-t', 'h2', '--prior-knowledge', '--concurrency', '3')
    expect(r.code, r.stderr).toBe(0)
    expect(f.sessions).toBe(1)
    const streams = r.of('h2.stream')
    const ids = [...new Set(streams.map((s) => s.streamId))].sort((a, b) => a - b)
    expect(ids).toEqual([1, 3, 5])
    expect(streams.filter((s) => s.phase === 'response').map((s) => s.status)).toEqual([200, 200, 200])
    expect(streams.filter((s) => s.phase === 'data').reduce((a, s) => a + s.size!, 0)).toBe(6)
    expect(streams.filter((s) => s.phase === 'end').map((s) => s.streamId).sort((a, b) => a - b)).toEqual([1, 3, 5])
    expect(r.of('tls')).toEqual([])
  })

  it('TLS (ALPN h2) trusting a test CA through --ca, two concurrent streams', async () => {
    const ca = makeCa('CLI h2 CA')
    const leaf = ca.issue(['127.0.0.1'])
    const f = await keep(startH2Fixture({ secure: true, cert: leaf.cert, key: leaf.key }))
    const r = await record(`${f.url}/chunks?n=2&gap=5`, '-t', 'h2', '--ca', ca.caCertPath, '--concurrency', '2')
    expect(r.code, r.stderr).toBe(0)
    expect(r.of('tls')[0]).toMatchObject({ alpn: 'h2', authorized: true })
    const streams = r.of('h2.stream')
    expect([...new Set(streams.map((s) => s.streamId))].sort((a, b) => a - b)).toEqual([1, 3])
    for (const id of [1, 3]) expect(streams.filter((s) => s.streamId === id && s.phase === 'data').reduce((a, s) => a + s.size!, 0)).toBe('chunk 1\nchunk 2\n'.length)
  })
})

describe('record --transport stream', () => {
  it('--lines splits the body into lines; --max-messages N stops after N of them', async () => {
    const f = await keep(startHttpFixture())
    const r = await record(`${f.url}/stream/ndjson?n=50&gap=5`, '-t', 'stream', '--lines', '--max-messages', '3')
    expect(r.code, r.stderr).toBe(0)
    const lines = r.of('stream.line')
    expect(lines.slice(0, 3).map((l) => [l.index, l.text])).toEqual([[0, '{"i":1}'], [1, '{"i":2}'], [2, '{"i":3}']])
    expect(lines.length).toBeLessThan(50)
    expect(r.of('stream.data')).toEqual([])
  })

  it('--lines joins lines cut across chunks; without it each chunk is recorded as it came', async () => {
    const f = await keep(startHttpFixture())
    const split = await record(`${f.url}/stream/split`, '-t', 'stream', '--lines')
    expect(split.code, split.stderr).toBe(0)
    expect(split.of('stream.line').map((l) => l.text)).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}'])
    const raw = await record(`${f.url}/stream/split`, '-t', 'stream')
    expect(raw.code, raw.stderr).toBe(0)
    expect(raw.of('stream.line')).toEqual([])
    expect(raw.of('stream.data').map((d) => d.text).join('')).toBe('{"a":1}\n{"b":2}\r\n{"c":3}\n{"d":4}')
  })

  it('a reconnect flag is refused before anything is opened (WT_USAGE, exit 2)', async () => {
    let stderr = ''
    const io = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: { write: (c: string) => ((stderr += c), true) } as unknown as NodeJS.WritableStream }
    const out = path.join(dir, 'refused.jsonl')
    expect(await main(['record', 'http://127.0.0.1:9/', '-t', 'stream', '--reconnect-delay', '100', '--out', out], io)).toBe(2)
    expect(stderr).toMatch(/^wiretrace: WT_USAGE: --reconnect-delay does not apply to stream/)
    expect(fs.existsSync(out)).toBe(false)
  })
})
