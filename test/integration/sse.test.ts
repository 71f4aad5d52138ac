// The SSE transport against real servers on 127.0.0.1: events, chunks, spec failures,
// reconnect with Last-Event-ID (non-ASCII too), resume checks, limits, hostile servers.
import { afterEach, describe, expect, it } from 'vitest'
import { startHttpFixture, type HttpFixture } from '../fixtures/servers/http.ts'
import { run, start, readBack } from '../fixtures/engine.ts'
import { makeCa } from '../fixtures/certs.ts'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'

const fixtures: HttpFixture[] = []
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()))
})
async function fixture(): Promise<HttpFixture> {
  const f = await startHttpFixture()
  fixtures.push(f)
  return f
}

describe('SSE: events and recording', () => {
  it('records request, response, chunks and each event, and stops after maxMessages', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/events?n=5&close=0`, transport: 'sse', maxMessages: 5 })
    expect(r.end.exitCode).toBe(0)
    const evs = r.of('sse.event')
    expect(evs.map((e) => e.data)).toEqual(['event 1', 'event 2', 'event 3', 'event 4', 'event 5'])
    expect(evs.map((e) => e.lastEventId)).toEqual(['1', '2', '3', '4', '5'])
    expect(evs[0]!.id).toBe('1')
    expect(evs[0]!.event).toBe('message')
    expect(evs[0]!.size).toBe('id: 1\ndata: event 1\n\n'.length)
    const req = r.of('http.request')[0]!
    expect(req.method).toBe('GET')
    expect(req.headers.find(([k]) => k.toLowerCase() === 'accept')?.[1]).toBe('text/event-stream')
    const res = r.of('http.response')[0]!
    expect(res.status).toBe(200)
    expect(res.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1]).toMatch(/text\/event-stream/)
    const chunks = r.of('chunk')
    expect(chunks.length).toBeGreaterThan(0)
    expect(chunks.reduce((a, c) => a + c.size, 0)).toBeGreaterThanOrEqual(5 * 21)
    expect(r.of('open')).toHaveLength(1)
    // The recording has them too.
    const rec = readBack(r.file)
    expect(rec.events.filter((e) => e.type === 'sse.event')).toHaveLength(5)
  })

  it('records the HTTP version the server answered with (1.0 behind old proxies)', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/http10`, transport: 'sse', maxMessages: 1 })
    expect(r.of('http.response')[0]!.httpVersion).toBe('1.0')
    expect(r.of('sse.event')[0]!.data).toBe('old')
    const ok = await run({ url: `${f.url}/sse/events?n=1`, transport: 'sse', maxMessages: 1 })
    expect(ok.of('http.response')[0]!.httpVersion).toBe('1.1')
  })

  it('sends POST with a body and custom headers (LLM-style streams)', async () => {
    const f = await fixture()
    const r = await run({
      url: `${f.url}/sse/echo`,
      transport: 'sse',
      method: 'POST',
      body: { text: '{"stream":true}' },
      headers: [['X-Custom', 'yes']],
      maxMessages: 1,
    })
    const echo = JSON.parse(r.of('sse.event')[0]!.data) as { method: string; body: string; headers: string[] }
    expect(echo.method).toBe('POST')
    expect(echo.body).toBe('{"stream":true}')
    expect(echo.headers).toContain('X-Custom')
    expect(r.of('http.request')[0]!.bodySize).toBe(15)
  })

  it('shows a buffering intermediary: a late first chunk carrying a burst of events', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/burst`, transport: 'sse', maxMessages: 10 })
    const chunks = r.of('chunk')
    expect(chunks[0]!.gapMs).toBeGreaterThanOrEqual(250)
    expect(r.of('sse.event')).toHaveLength(10)
    expect(chunks.length).toBeLessThan(10)
    // 300 ms is under the diagnosis threshold (1 s)
    expect(r.of('diagnosis').filter((d) => d.code === 'WT_SSE_BUFFERED')).toHaveLength(0)
  })

  it('diagnoses first bytes held back then a burst of events', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/burst?delay=1100`, transport: 'sse', maxMessages: 10 })
    const d = r.of('diagnosis').find((x) => x.code === 'WT_SSE_BUFFERED')!
    expect(d.title).toMatch(/held back 1\.\d s, then 10 events/)
  })
})

describe('SSE over TLS', () => {
  it('streams over https with a CA made in the test; TLS recorded with ALPN http/1.1', async () => {
    const ca = makeCa()
    const leaf = ca.issue(['127.0.0.1'])
    const server = https.createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' })
      res.end('id: 1\ndata: secure\n\n')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as AddressInfo).port
      const r = await run({ url: `https://127.0.0.1:${port}/`, transport: 'sse', tls: { ca: [ca.caCert] }, maxMessages: 1 })
      expect(r.of('sse.event')[0]!.data).toBe('secure')
      expect(r.of('tls')[0]!.alpn).toBe('http/1.1')
      expect(r.end.exitCode).toBe(0)
      // Reconnect is on by default, but an untrusted certificate is not retried.
      const untrusted = await run({ url: `https://127.0.0.1:${port}/`, transport: 'sse', sse: { retryMs: 10 } })
      expect(untrusted.of('error').map((e) => e.code)).toEqual(['WT_TLS_UNTRUSTED'])
      expect(untrusted.of('conn.state').some((s) => s.state === 'reconnecting')).toBe(false)
      expect(untrusted.end.exitCode).toBe(3)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})

describe('SSE: failing the connection as the spec says', () => {
  it.each([
    ['/sse/status?code=204', 'WT_SSE_NO_CONTENT'],
    ['/sse/status?code=500', 'WT_HTTP_STATUS'],
    ['/sse/status?code=200&type=text/html', 'WT_SSE_CONTENT_TYPE'],
    ['/sse/status?code=200&type=application/json', 'WT_SSE_CONTENT_TYPE'],
  ])('%s fails with %s, a diagnosis, and no reconnect', async (path, code) => {
    const f = await fixture()
    const r = await run({ url: `${f.url}${path}`, transport: 'sse', sse: { retryMs: 10 } })
    const errs = r.of('error')
    expect(errs.map((e) => e.code)).toEqual([code])
    expect(errs[0]!.fatal).toBe(true)
    expect(r.of('diagnosis')[0]!.code).toBe(code)
    expect(r.end.exitCode).toBe(6)
    expect(f.hits.get('/sse/status')).toBe(1)
    if (!path.includes('204')) expect(r.of('http.response')[0]!.bodyPreview).toMatch(/status/)
  })
})

describe('SSE: reconnect and resume', () => {
  it('reconnects after the server retry time and sends Last-Event-ID; resume is clean', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/resume?mode=ok`, transport: 'sse', maxMessages: 6 })
    expect(r.of('sse.event').map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6'])
    expect(f.lastEventIds[0]).toBeNull()
    expect(f.lastEventIds[1]!.toString()).toBe('3')
    const rc = r.of('conn.state').find((s) => s.state === 'reconnecting')!
    expect(rc.delayMs).toBe(50)
    const resume = r.of('sse.resume')[0]!
    expect(resume).toMatchObject({ lastEventId: '3', firstId: '4', duplicates: 0, gap: 0 })
  })

  it('flags duplicates and gaps after a resume', async () => {
    const f = await fixture()
    const dup = await run({ url: `${f.url}/sse/resume?mode=dup`, transport: 'sse', maxMessages: 6 })
    expect(dup.of('sse.resume')[0]).toMatchObject({ lastEventId: '3', firstId: '2', duplicates: 2, gap: 0 })
    expect(dup.of('diagnosis').some((d) => d.code === 'WT_SSE_RESUME')).toBe(true)
    const gap = await run({ url: `${f.url}/sse/resume?mode=gap`, transport: 'sse', maxMessages: 6 })
    expect(gap.of('sse.resume')[0]).toMatchObject({ lastEventId: '3', firstId: '6', duplicates: 0, gap: 2 })
  })

  it('a Last-Event-ID header the user set starts the stream; a reconnect sends the last id received instead', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/resume`, transport: 'sse', headers: [['Last-Event-ID', '10']], maxMessages: 6 })
    expect(r.of('sse.event').map((e) => e.id)).toEqual(['11', '12', '13', '14', '15', '16'])
    expect(f.lastEventIds.map((b) => b?.toString())).toEqual(['10', '13'])
    expect(r.of('sse.resume')[0]).toMatchObject({ lastEventId: '13', firstId: '14', duplicates: 0, gap: 0 })
  })

  it('after the stream reset the id to "", a reconnect sends no Last-Event-ID, not the user\'s header again', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/id-reset`, transport: 'sse', headers: [['Last-Event-ID', '1']], maxMessages: 3 })
    expect(r.of('sse.event').map((e) => e.lastEventId).slice(0, 3)).toEqual(['5', '', '5'])
    expect(f.lastEventIds.map((b) => b?.toString() ?? null)).toEqual(['1', null])
  })

  it('sends a non-ASCII last event id as its UTF-8 bytes', async () => {
    const f = await fixture()
    const r = start({ url: `${f.url}/sse/unicode-id`, transport: 'sse', maxMessages: 2 })
    await r.conn.done
    expect(r.of('sse.event')[0]!.lastEventId).toBe('é-日本-😀')
    expect(f.lastEventIds[1]!.equals(Buffer.from('é-日本-😀', 'utf8'))).toBe(true)
  })

  it('an id with a control character: reconnects without Last-Event-ID and says why', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/ctrl-id`, transport: 'sse', maxMessages: 2 })
    expect(r.of('sse.event').map((e) => e.lastEventId)).toEqual(['a\u0001b', 'a\u0001b'])
    expect(f.lastEventIds[1]).toBeNull()
    expect(r.of('note').some((n) => /control characters/.test(n.text))).toBe(true)
  })

  it('starts from a given last event id and does not reconnect with reconnect off', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/resume?mode=ok`, transport: 'sse', sse: { reconnect: false, lastEventId: '10' } })
    expect(f.lastEventIds[0]!.toString()).toBe('10')
    expect(r.of('sse.event').map((e) => e.id)).toEqual(['11', '12', '13'])
    expect(r.of('conn.state').some((s) => s.state === 'reconnecting')).toBe(false)
    expect(r.end.exitCode).toBe(0)
  })

  it('reconnects after a refused connection with backoff and jitter, then gives up at maxAttempts', async () => {
    const r = await run({ url: 'http://127.0.0.1:9/sse', transport: 'sse', sse: { retryMs: 20, backoff: true }, reconnect: { maxAttempts: 2 } })
    const states = r.of('conn.state').filter((s) => s.state === 'reconnecting')
    expect(states).toHaveLength(2)
    // On top of the retry time: the first wait is the retry time, the next within [retry, 2 x max(retry, 100 ms)].
    expect(states[0]!.delayMs).toBe(20)
    expect(states[1]!.delayMs!).toBeGreaterThanOrEqual(20)
    expect(states[1]!.delayMs!).toBeLessThanOrEqual(200)
    expect(r.of('error')[0]!.code).toBe('WT_TCP_REFUSED')
    expect(r.end.exitCode).not.toBe(0)
  })

  it('backoff never waits less than the retry time, grows while attempts deliver no event, and starts over after one that does', async () => {
    const f = await fixture()
    // The stream opens, sets retry: 30 and ends without an event: each attempt is as good as a failure.
    const empty = await run({ url: `${f.url}/sse/events?n=0&retry=30`, transport: 'sse', sse: { backoff: true }, reconnect: { maxAttempts: 5, maxDelayMs: 10_000 } })
    const d = empty.of('conn.state').filter((s) => s.state === 'reconnecting').map((s) => s.delayMs!)
    expect(d).toHaveLength(5)
    expect(d[0]).toBe(30)
    d.forEach((x, i) => {
      expect(x).toBeGreaterThanOrEqual(30)
      // Grows from max(retry, 100 ms): MIN_BACKOFF_UNIT_MS.
      expect(x).toBeLessThanOrEqual(i === 0 ? 30 : 100 * 2 ** i)
    })
    expect(d.slice(1).some((x) => x > 30)).toBe(true)
    // Every attempt delivers events: the wait stays the retry time.
    const busy = await run({ url: `${f.url}/sse/events?n=2&retry=30`, transport: 'sse', sse: { backoff: true }, reconnect: { maxAttempts: 3, maxDelayMs: 10_000 } })
    expect(busy.of('conn.state').filter((s) => s.state === 'reconnecting').map((s) => s.delayMs)).toEqual([30, 30, 30])
  })
})

describe('SSE: hostile servers', () => {
  it('a 100 MB line without newline hits maxSseLineBytes instead of exhausting memory', async () => {
    const f = await fixture()
    const before = process.memoryUsage().rss
    const r = await run({ url: `${f.url}/sse/long-line?mb=100`, transport: 'sse', limits: { maxSseLineBytes: 4 * 1024 * 1024 } })
    const err = r.of('error')[0]!
    expect(err.code).toBe('WT_SSE_LINE_TOO_LONG')
    expect(err.fatal).toBe(true)
    expect(r.end.bytesIn).toBeLessThan(20 * 1024 * 1024)
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024)
    expect(f.hits.get('/sse/long-line')).toBe(1)
  })

  it('headers then nothing: the heartbeat warning fires', async () => {
    const f = await fixture()
    const r = start({ url: `${f.url}/sse/headers-only`, transport: 'sse', sse: { expectHeartbeatMs: 200 } })
    const err = await r.waitFor('error', (e) => e.code === 'WT_SSE_HEARTBEAT_MISSED', 3000)
    expect(err.fatal).toBe(false)
    expect(r.of('diagnosis').some((d) => d.code === 'WT_SSE_HEARTBEAT_MISSED')).toBe(true)
    r.conn.close()
    const end = await r.conn.done
    expect(end.exitCode).toBe(0)
  })

  it('comments as heartbeats keep the warning away and are recorded', async () => {
    const f = await fixture()
    const r = start({ url: `${f.url}/sse/heartbeat?ms=40`, transport: 'sse', sse: { expectHeartbeatMs: 300 } })
    await new Promise((res) => setTimeout(res, 700))
    r.conn.close()
    await r.conn.done
    expect(r.of('sse.comment').length).toBeGreaterThan(5)
    expect(r.of('sse.comment')[0]!.text).toBe('hb')
    expect(r.of('error').filter((e) => e.code === 'WT_SSE_HEARTBEAT_MISSED')).toHaveLength(0)
  })

  it('a 100 KB response header fails with WT_HTTP_HEADERS_TOO_LARGE', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/big-header?kb=100`, transport: 'sse' })
    expect(r.of('error')[0]!.code).toBe('WT_HTTP_HEADERS_TOO_LARGE')
    expect(r.end.exitCode).toBe(1)
    expect(f.hits.get('/sse/big-header')).toBe(1)
  })
})

describe('SSE buffering warning, edge cases', () => {
  async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
    const srv = http.createServer(handler)
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    return { url: `http://127.0.0.1:${(srv.address() as { port: number }).port}/`, close: () => new Promise((r) => srv.close(() => r())) }
  }

  it('counts a delivery that keeps coming in chunks a few ms apart as one burst, with its whole count', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      // Held 1.1 s, then 12 events written about 1 ms apart (a chunk each): a delivery longer
      // than the 5 ms join window as a whole, with no gap in it over the window.
      setTimeout(() => {
        let i = 0
        const next = (): void => {
          res.write(`data: e${i}\n\n`)
          if (++i === 12) setTimeout(() => res.end(), 50)
          else setTimeout(next, 1)
        }
        next()
      }, 1100)
    })
    try {
      const r = await run({ url: s.url, transport: 'sse', sse: { reconnect: false } })
      expect(r.of('sse.event')).toHaveLength(12)
      // The delivery as the chunk events show it: from the held first chunk up to the first gap
      // over 5 ms (a loaded machine may space the writes further apart).
      const chunks = r.of('chunk')
      let end = 1
      while (end < chunks.length && chunks[end]!.gapMs <= 5) end++
      // An event carries the arrival time of the chunk it was parsed from.
      const delivered = r.of('sse.event').filter((e) => e.ts <= chunks[end - 1]!.ts).length
      expect(delivered).toBeGreaterThanOrEqual(3)
      const d = r.of('diagnosis').filter((x) => x.code === 'WT_SSE_BUFFERED')
      expect(d).toHaveLength(1)
      expect(d[0]!.title).toBe(`First bytes held back ${d[0]!.title.match(/back (\d\.\d) s/)![1]} s, then ${delivered} events at once`)
    } finally {
      await s.close()
    }
  })

  it('does not join attempts: one late event, a reconnect, then an event with the response head is no burst', async () => {
    let hits = 0
    const s = await serve((_req, res) => {
      hits++
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      if (hits === 1) setTimeout(() => res.end('data: one\n\n'), 1200)
      else res.end('data: two\n\n')
    })
    try {
      const r = await run({ url: s.url, transport: 'sse', sse: { retryMs: 50 }, reconnect: { enabled: true, maxAttempts: 1 } })
      expect(r.of('sse.event').map((e) => e.data)).toEqual(['one', 'two'])
      expect(r.of('diagnosis').filter((x) => x.code === 'WT_SSE_BUFFERED')).toHaveLength(0)
    } finally {
      await s.close()
    }
  })

  it('tells nothing after the end: a burst in the chunk that hits a parser limit', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      setTimeout(() => res.write('data: a\n\n'.repeat(6) + 'data: ' + 'x'.repeat(5000) + '\n\n'), 1100)
    })
    try {
      const r = await run({ url: s.url, transport: 'sse', sse: { reconnect: false }, limits: { maxSseLineBytes: 1024 } })
      await new Promise((res) => setTimeout(res, 50))
      const types = r.events.map((e) => e.type)
      expect(types.lastIndexOf('end')).toBe(types.length - 1)
      expect(r.of('error').map((e) => e.code)).toContain('WT_SSE_LINE_TOO_LONG')
    } finally {
      await s.close()
    }
  })
})
