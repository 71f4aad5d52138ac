// The raw stream transport against real servers on 127.0.0.1: chunk arrivals, bytes, line splitting.
import { afterEach, describe, expect, it } from 'vitest'
import { startHttpFixture, type HttpFixture } from '../fixtures/servers/http.ts'
import { run } from '../fixtures/engine.ts'
import { LineSplitter } from '../../shared/common/parsers/lines.ts'

const fixtures: HttpFixture[] = []
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()))
})
async function fixture(): Promise<HttpFixture> {
  const f = await startHttpFixture()
  fixtures.push(f)
  return f
}

describe('raw streams', () => {
  it('records each chunk of a chunked NDJSON stream with its bytes and gap', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/stream/ndjson?n=5&gap=30`, transport: 'stream' })
    expect(r.end.exitCode).toBe(0)
    const data = r.of('stream.data')
    expect(data.map((d) => d.text).join('')).toBe([1, 2, 3, 4, 5].map((i) => `{"i":${i}}\n`).join(''))
    const chunks = r.of('chunk')
    expect(chunks).toHaveLength(data.length)
    expect(chunks.slice(1).some((c) => c.gapMs >= 20)).toBe(true)
  })

  it('splits lines across odd chunk boundaries, CRLF and a last line without newline', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/stream/split`, transport: 'stream', stream: { lines: true } })
    expect(r.of('stream.line').map((l) => l.text)).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}'])
    expect(r.of('stream.line').map((l) => l.index)).toEqual([0, 1, 2, 3])
  })

  it('stops after maxMessages lines', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/stream/ndjson?n=50&gap=5`, transport: 'stream', stream: { lines: true }, maxMessages: 3 })
    expect(r.end.exitCode).toBe(0)
    expect(r.of('stream.line').length).toBeGreaterThanOrEqual(3)
    expect(r.of('stream.line').length).toBeLessThan(50)
  })

  it('a plain Content-Length body is recorded too, and an error status is flagged', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/stream/plain?kb=64`, transport: 'stream' })
    expect(r.of('stream.data').reduce((a, d) => a + d.size, 0)).toBe(65536)
    const bad = await run({ url: `${f.url}/nope`, transport: 'stream' })
    expect(bad.of('error')[0]!.code).toBe('WT_HTTP_STATUS')
    expect(bad.of('stream.data')[0]!.text).toBe('not found')
    expect(bad.end.exitCode).toBe(6)
  })

  it('a long line over the limit fails cleanly', async () => {
    const f = await fixture()
    const r = await run({ url: `${f.url}/sse/long-line?mb=20`, transport: 'stream', stream: { lines: true, maxLineBytes: 1024 * 1024 } })
    expect(r.of('error')[0]!.code).toBe('WT_STREAM_LINE_TOO_LONG')
    expect(r.end.bytesIn).toBeLessThan(10 * 1024 * 1024)
  })
})

describe('LineSplitter (sans-IO)', () => {
  it('gives the same lines for every chunking', () => {
    const text = 'a\r\nbb\n\nccc\r\nd'
    const bytes = new TextEncoder().encode(text)
    const split = (chunks: Uint8Array[]): string[] => {
      const out: string[] = []
      const s = new LineSplitter({ line: (b) => out.push(new TextDecoder().decode(b)), error: () => out.push('ERR') }, { maxLineBytes: 100 })
      for (const c of chunks) s.push(c)
      s.end()
      return out
    }
    const expected = ['a', 'bb', '', 'ccc', 'd']
    expect(split([bytes])).toEqual(expected)
    for (let i = 0; i <= bytes.length; i++) for (let j = i; j <= bytes.length; j++) {
      expect(split([bytes.slice(0, i), bytes.slice(i, j), bytes.slice(j)])).toEqual(expected)
    }
  })
})
