// sse.event records go through the writer worker's ring as numbers plus the strings' UTF-8
// bytes; the worker must print exactly JSON.stringify(ev) + '\n', with the keys in the order
// the SSE transport builds them, and the in-thread writer the same bytes.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { RecordingWriter, recordingWorkerStatus } from '../../shared/node/recording/writer.ts'
import type { SseEvent, WiretraceEvent } from '../../shared/common/events/index.ts'
import { tmpFile } from '../fixtures/engine.ts'
import { SseParser } from '../../shared/common/parsers/sse.ts'
import { decodeBuf } from '../../shared/node/transports/http/exchange.ts'

const HEADER = { format: 'wiretrace', version: 1 } as never

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

const PIECES = ['plain', 'x', '"', '\\', '\\"', '\n', '\r', '\t', '\u0000', '\u0001', '\u001f', '\u007f', 'é', 'wörld', '✓', '🚀', '\u2028', '\u2029', '\ufffd', '\ufeff', '{"json":[1,2,3]}', ' ', 'abcd', 'abcdefg']

function str(r: () => number, maxPieces: number): string {
  let s = ''
  const n = Math.floor(r() * (maxPieces + 1))
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)]!
  // Sometimes a long ASCII run, so word-at-a-time copying meets every alignment.
  if (r() < 0.3) s += 'y'.repeat(Math.floor(r() * 150))
  return s
}

/** Events built as the SSE transport builds them (same key order), mixed with other events. */
function events(n: number, conn: string, seed: number): WiretraceEvent[] {
  const r = rng(seed)
  const out: WiretraceEvent[] = []
  let lastEventId = ''
  for (let i = 0; i < n; i++) {
    const ts = r() < 0.1 ? Math.round(1795761355881 + r() * 1e6) : Math.round((1795761355881 + r() * 1e6) * 1000) / 1000
    const k = r()
    if (k < 0.05) {
      out.push({ seq: i, ts, conn, type: 'note', text: `note ${str(r, 3)}`, source: 'user' })
      continue
    }
    if (k < 0.08) {
      out.push({ seq: i, ts, conn, type: 'chunk', size: Math.floor(r() * 65536), index: i, gapMs: Math.round(r() * 1e6) / 1000 } as WiretraceEvent)
      continue
    }
    let id: string | undefined
    const idKind = r()
    if (idKind < 0.3) id = undefined
    else if (idKind < 0.5) id = String(i)
    else if (idKind < 0.55) id = ''
    else id = str(r, 3)
    if (id !== undefined) lastEventId = id
    else if (r() < 0.2) lastEventId = str(r, 2)
    const type = r() < 0.6 ? 'message' : r() < 0.2 ? '' : str(r, 2) || 'update'
    const data = r() < 0.05 ? '' : str(r, 8)
    const rk = r()
    const retry = rk < 0.8 ? undefined : rk < 0.9 ? Math.floor(r() * 100000) : rk < 0.95 ? 0 : 12345678901234567890
    const size = Math.floor(r() * 10000)
    out.push({ seq: i, ts, conn, type: 'sse.event', id, event: type, data, retry, lastEventId, size } as SseEvent)
  }
  return out
}

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1)
}

describe('RecordingWriter, sse.event', () => {
  it('the worker writes exactly JSON.stringify lines (escapes, unicode, absent id, retry) through a small wrapping ring', () => {
    const files = [tmpFile(), tmpFile()]
    const writers = files.map((f) => new RecordingWriter(f, HEADER, { ringBytes: 64 * 1024, flushBytes: 16 * 1024 }))
    expect(recordingWorkerStatus().running).toBe(true)
    const streams = [events(6000, 'c1-79cba2', 3), events(6000, 'c2-x', 11)]
    for (let i = 0; i < 6000; i++) for (let k = 0; k < 2; k++) writers[k]!.write(streams[k]![i]!)
    for (const w of writers) w.close()
    for (let k = 0; k < 2; k++) {
      const got = lines(files[k]!)
      expect(got.length).toBe(6000)
      for (let i = 0; i < got.length; i++) expect(got[i]).toBe(JSON.stringify(streams[k]![i]!))
      expect(writers[k]!.bytesWritten).toBe(fs.statSync(files[k]!).size)
      const bytes = fs.readFileSync(files[k]!)
      expect(writers[k]!.index).toHaveLength(6)
      for (const [j, off] of writers[k]!.index.entries()) expect(JSON.parse(bytes.subarray(off, bytes.indexOf(10, off)).toString()).seq).toBe(j * 1024)
    }
  })

  it('the worker and the in-thread writer write the same bytes', () => {
    const a = tmpFile()
    const b = tmpFile()
    const wa = new RecordingWriter(a, HEADER)
    const wb = new RecordingWriter(b, HEADER, { worker: false })
    for (const ev of events(4000, 'c3-abc', 99)) {
      wa.write(ev)
      wb.write(ev)
    }
    wa.close()
    wb.close()
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true)
    expect(wa.index).toEqual(wb.index)
  })

  it.each([true, false])('a lone surrogate, a conn that needs escaping, a redacted event and a huge event stay exact (worker: %s)', (worker) => {
    const file = tmpFile()
    const w = new RecordingWriter(file, HEADER, { worker })
    const evs: WiretraceEvent[] = [
      { seq: 0, ts: 1.5, conn: 'c', type: 'sse.event', id: 'a\ud800', event: 'message', data: 'x', lastEventId: 'a\ud800', size: 3 } as SseEvent,
      { seq: 1, ts: 2, conn: 'c', type: 'sse.event', event: 'é\udc00', data: 'y', lastEventId: '', size: 3 } as SseEvent,
      { seq: 2, ts: 3, conn: 'c"q', type: 'sse.event', id: '1', event: 'message', data: 'z', lastEventId: '1', size: 3 } as SseEvent,
      { seq: 3, ts: 4, conn: 'c', type: 'sse.event', event: 'message', data: 'secret', lastEventId: '', size: 6, redacted: true } as SseEvent,
      { seq: 4, ts: 5, conn: 'c', type: 'sse.event', id: '9', event: 'big', data: 'é"'.repeat(200_000), lastEventId: '9', size: 600_000 } as SseEvent,
      { seq: 5, ts: 6.25, conn: 'c', type: 'sse.event', id: '10', event: 'message', data: '🚀\ud83d\ude80', retry: 0, lastEventId: '10', size: 9 } as SseEvent,
      // A timestamp that is not whole microseconds, a retry JSON prints in exponent form.
      { seq: 6, ts: 1795761355881.1234567, conn: 'c', type: 'sse.event', event: 'message', data: 'w', retry: 1e21, lastEventId: '10', size: 1 } as SseEvent,
      { seq: 7, ts: 0.5, conn: 'c', type: 'sse.event', id: '', event: '', data: '', lastEventId: '', size: 0 } as SseEvent,
    ]
    for (const ev of evs) w.write(ev)
    w.close()
    const got = lines(file)
    expect(got).toEqual(evs.map((e) => JSON.stringify(e)))
  })

  it('seq counted up digit by digit and a timestamp shared by one read stay exact: carries, jumps, two connections, huge values', () => {
    // The worker keeps the last SSE seq as digits and counts up in place, and keeps the
    // `,"ts":…,"conn":…` bytes for runs of events with the same ts (one socket read's events).
    const files = [tmpFile(), tmpFile()]
    const writers = files.map((f) => new RecordingWriter(f, HEADER, { ringBytes: 64 * 1024, flushBytes: 16 * 1024 }))
    const expected: string[][] = [[], []]
    const seqs: number[] = []
    for (let i = 0; i <= 12_000; i++) seqs.push(i)
    // Jumps (other events took seqs between), a step back to fewer digits, and values near and past 2^31.
    seqs.push(12_050, 12_051, 99_999, 100_000, 100_001, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 53 - 1, 7, 8)
    let ts = 1795761355881.125
    for (let n = 0; n < seqs.length; n++) {
      // Runs of 1-40 events share a timestamp; some timestamps are whole milliseconds.
      if (n % 37 === 0 || n % 11 === 0) ts = n % 3 === 0 ? Math.round(ts + 7) : Math.round((ts + 0.337) * 1000) / 1000
      // Runs on one connection then the other, so seqs count up across every digit carry on both.
      const k = Math.floor(n / 23) % 2
      // A recording may hold several connections: now and then another one, at the same ts.
      const conn = n % 101 === 100 ? 'c3-other' : k ? 'c2-bb' : 'c1-a'
      const ev = { seq: seqs[n]!, ts, conn, type: 'sse.event', id: String(n), event: 'message', data: `d${n}`, lastEventId: String(n), size: 10 } as SseEvent
      expected[k]!.push(JSON.stringify(ev))
      writers[k]!.write(ev)
    }
    for (const w of writers) w.close()
    for (let k = 0; k < 2; k++) expect(lines(files[k]!)).toEqual(expected[k])
  })

  it('data copied from the wire bytes the parser points at gives the same lines, at any chunking, invalid UTF-8 included', () => {
    // A stream with every kind of data line: ASCII runs of every length and alignment, quotes,
    // backslashes, control bytes, valid multi-byte UTF-8, invalid bytes (lone continuation,
    // truncated sequences, an encoded surrogate, an overlong NUL), multi-line data, CRLF and CR
    // line ends, comments, ids and event types.
    const r = rng(7)
    const DATA: (number[] | string)[] = ['plain', '"q"', '\\', '\t', '\u0000\u0001\u001f', 'é✓🚀', '{"a":[1,2]}', [0xff], [0x80, 0x41], [0xe2, 0x9c], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf0, 0x9f, 0x9a]]
    const parts: Buffer[] = [Buffer.from([0xef, 0xbb, 0xbf])]
    const ends = ['\n', '\r\n', '\r']
    for (let i = 0; i < 3000; i++) {
      const eol = ends[Math.floor(r() * 3)]!
      if (r() < 0.05) parts.push(Buffer.from(`: comment ${i}${eol}`))
      if (r() < 0.6) parts.push(Buffer.from(`id: ${r() < 0.9 ? i : 'é' + i}${eol}`))
      if (r() < 0.2) parts.push(Buffer.from(`event: ${r() < 0.5 ? 'update' : 'ü"'}${eol}`))
      const lines = r() < 0.85 ? 1 : 2
      for (let l = 0; l < lines; l++) {
        const line: Buffer[] = [Buffer.from(r() < 0.9 ? 'data: ' : 'data:')]
        const n = Math.floor(r() * 6)
        for (let k = 0; k < n; k++) {
          const d = DATA[Math.floor(r() * DATA.length)]!
          line.push(typeof d === 'string' ? Buffer.from(d) : Buffer.from(d))
        }
        if (r() < 0.6) line.push(Buffer.from('y'.repeat(Math.floor(r() * 300))))
        parts.push(...line, Buffer.from(eol))
      }
      parts.push(Buffer.from(ends[Math.floor(r() * 3)]!))
    }
    const stream = Buffer.concat(parts)
    // Two connections interleaved on one small ring (chunks bigger than a record take the string path).
    const files = [tmpFile(), tmpFile(), tmpFile()]
    const writers = [
      new RecordingWriter(files[0]!, HEADER, { ringBytes: 64 * 1024, flushBytes: 16 * 1024 }),
      new RecordingWriter(files[1]!, HEADER, { ringBytes: 64 * 1024, flushBytes: 16 * 1024 }),
    ]
    const inThread = new RecordingWriter(files[2]!, HEADER, { worker: false })
    const expected: string[][] = [[], []]
    let viaBytes = 0
    const parsers = [0, 1].map((k) => {
      let seq = 0
      const parser: SseParser = new SseParser(
        {
          event(id, type, data, lastEventId, retry, size) {
            const ev = { seq: seq++, ts: 1795761355881.5 + seq, conn: `c${k}`, type: 'sse.event', id, event: type, data, retry, lastEventId, size } as SseEvent
            expected[k]!.push(JSON.stringify(ev))
            const src = parser.dataSrc as Buffer | null
            if (src !== null) {
              expect(decodeBuf(src, parser.dataAt, parser.dataEnd)).toBe(data)
              viaBytes++
              writers[k]!.write(ev, src, parser.dataAt, parser.dataEnd)
            } else writers[k]!.write(ev)
            if (k === 0) inThread.write(ev, src ?? undefined, parser.dataAt, parser.dataEnd)
          },
          error: (_c, m) => {
            throw new Error(m)
          },
        },
        { maxLineBytes: 1 << 20, maxEventBytes: 1 << 22, decode: decodeBuf },
      )
      return parser
    })
    // Different chunkings for the two connections: tiny pieces, and pieces bigger than a ring record.
    const offs = [0, 0]
    const sizes = [() => 1 + Math.floor(r() * 200), () => 1 + Math.floor(r() * 40_000)]
    while (offs[0]! < stream.length || offs[1]! < stream.length) {
      for (let k = 0; k < 2; k++) {
        if (offs[k]! >= stream.length) continue
        const n = sizes[k]!()
        // A fresh buffer per chunk, as a socket read gives.
        parsers[k]!.push(Buffer.from(stream.subarray(offs[k]!, offs[k]! + n)))
        offs[k]! += n
      }
    }
    for (const w of writers) w.close()
    inThread.close()
    expect(viaBytes).toBeGreaterThan(2000)
    for (let k = 0; k < 2; k++) {
      expect(expected[k]!.length).toBeGreaterThan(2500)
      expect(lines(files[k]!)).toEqual(expected[k])
    }
    expect(fs.readFileSync(files[2]!).equals(fs.readFileSync(files[0]!))).toBe(true)
  })
})
