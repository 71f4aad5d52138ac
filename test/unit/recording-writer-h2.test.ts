// h2.stream records of the four kinds every stream has (headers-sent, response, data, end) go
// through the writer worker's ring as numbers; the worker must print exactly
// JSON.stringify(ev) + '\n' with the keys in the HTTP/2 transport's order, and the in-thread
// writer the same bytes. Other h2.stream shapes take the JSON path.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { RecordingWriter } from '../../shared/node/recording/writer.ts'
import type { H2StreamEvent, HeaderPairs, WiretraceEvent } from '../../shared/common/events/index.ts'
import { tmpFile } from '../fixtures/engine.ts'
import { prng } from '../fixtures/recordings/helpers.ts'

const lines = (file: string): string[] => fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1)

const HEADER = { format: 'wiretrace', version: 1 } as never

const HEADER_SETS: HeaderPairs[] = [
  [[':status', '200'], ['date', 'Fri, 27 Nov 2026 10:50:00 GMT']],
  [[':status', '200'], ['date', 'Fri, 27 Nov 2026 10:50:01 GMT']],
  [[':status', '503'], ['content-type', 'text/plain; charset="utf-8"'], ['x-note', 'é ✓ 🚀 \\ \u0001']],
  [[':status', '200'], ['set-cookie', '[redacted]']],
  [],
]

/** Events built as the HTTP/2 transport builds them (same key order), mixed with other events and unusual shapes. */
function events(n: number, conn: string, seed: number): WiretraceEvent[] {
  const r = prng(seed)
  const out: WiretraceEvent[] = []
  const base = 1795761355881
  for (let i = 0; i < n; i++) {
    const ts = r() < 0.1 ? Math.round(base + r() * 1e6) : r() < 0.02 ? base + r() * 1e6 : Math.round((base + r() * 1e6) * 1000) / 1000
    const streamId = 1 + 2 * Math.floor(r() * 40000)
    const k = r()
    let ev: H2StreamEvent
    if (k < 0.2) ev = { seq: i, ts, conn, type: 'h2.stream', streamId, phase: 'headers-sent' } as H2StreamEvent
    else if (k < 0.23) ev = { seq: i, ts, conn, type: 'h2.stream', streamId, phase: 'headers-sent', headers: [[':method', 'GET'], [':path', '/small']] } as H2StreamEvent
    else if (k < 0.45) {
      // Runs of the same headers (new arrays with the same content), then a change.
      const h = HEADER_SETS[Math.floor(r() * r() * HEADER_SETS.length)]!
      ev = { seq: i, ts, conn, type: 'h2.stream', streamId, phase: 'response', status: Number(h[0]?.[1] ?? 200), headers: h.map(([a, b]) => [a, b] as [string, string]) } as H2StreamEvent
    } else if (k < 0.7) {
      const chunks = r() < 0.6 ? 1 : 1 + Math.floor(r() * 40)
      const sizes: number[] = []
      const times: number[] = []
      for (let j = 0; j < chunks; j++) {
        sizes.push(Math.floor(r() * 70000))
        times.push(r() < 0.05 ? base + r() * 1e6 : Math.round((base + r() * 1e6) * 1000) / 1000)
      }
      const size = sizes.reduce((a, b) => a + b, 0)
      ev = { seq: i, ts, conn, type: 'h2.stream', streamId, phase: 'data', size, ...(sizes.length > 1 ? { sizes } : {}), times } as H2StreamEvent
    } else if (k < 0.93) ev = { seq: i, ts, conn, type: 'h2.stream', streamId, phase: 'end' } as H2StreamEvent
    else if (k < 0.95) ev = { seq: i, ts, type: 'h2.stream', conn, streamId, phase: 'rst', rstCode: 8, rstName: 'CANCEL' } as H2StreamEvent
    else if (k < 0.97) ev = { seq: i, ts, type: 'h2.stream', conn, streamId, phase: 'trailers', headers: [['grpc-status', '0']] } as H2StreamEvent
    else {
      out.push({ seq: i, ts, conn, type: 'note', text: `note ${i}`, source: 'user' })
      continue
    }
    out.push(ev)
  }
  return out
}

describe('RecordingWriter, h2.stream', () => {
  it('the worker writes exactly JSON.stringify lines through a small wrapping ring, two connections interleaved', () => {
    const files = [tmpFile(), tmpFile()]
    const writers = files.map((f) => new RecordingWriter(f, HEADER, { ringBytes: 64 * 1024, flushBytes: 16 * 1024 }))
    const streams = [events(8000, 'c1-h2', 5), events(8000, 'c2-"q"', 17)]
    for (let i = 0; i < 8000; i++) for (let k = 0; k < 2; k++) writers[k]!.write(streams[k]![i]!)
    for (const w of writers) w.close()
    for (let k = 0; k < 2; k++) {
      const got = lines(files[k]!)
      expect(got.length).toBe(8000)
      for (let i = 0; i < got.length; i++) expect(got[i]).toBe(JSON.stringify(streams[k]![i]!))
      expect(writers[k]!.bytesWritten).toBe(fs.statSync(files[k]!).size)
    }
  })

  it('the worker and the in-thread writer write the same bytes', () => {
    const a = tmpFile()
    const b = tmpFile()
    const wa = new RecordingWriter(a, HEADER)
    const wb = new RecordingWriter(b, HEADER, { worker: false })
    for (const ev of events(5000, 'c3-h2', 23)) {
      wa.write(ev)
      wb.write(ev)
    }
    wa.close()
    wb.close()
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true)
    expect(wa.index).toEqual(wb.index)
  })

  it('a data event with more chunks than a ring record holds, and headers that change back and forth', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, HEADER, { ringBytes: 64 * 1024 })
    const many = Array.from({ length: 5000 }, (_, j) => j)
    const h1: HeaderPairs = [[':status', '200']]
    const h2: HeaderPairs = [[':status', '200'], ['x', 'y']]
    const evs = [
      { seq: 0, ts: 1.5, conn: 'c', type: 'h2.stream', streamId: 1, phase: 'data', size: 5000, sizes: many, times: many.map((t) => t + 0.25) },
      { seq: 1, ts: 2, conn: 'c', type: 'h2.stream', streamId: 1, phase: 'response', status: 200, headers: h1 },
      { seq: 2, ts: 3, conn: 'c', type: 'h2.stream', streamId: 3, phase: 'response', status: 200, headers: h2 },
      { seq: 3, ts: 4, conn: 'c', type: 'h2.stream', streamId: 5, phase: 'response', status: 200, headers: [[':status', '200']] },
      { seq: 4, ts: 5, conn: 'c', type: 'h2.stream', streamId: 7, phase: 'response', status: 200, headers: [[':status', '200'], ['x', 'z']] },
      { seq: 5, ts: 6, conn: 'c', type: 'h2.stream', streamId: 7, phase: 'end', redacted: true },
    ] as WiretraceEvent[]
    for (const ev of evs) w.write(ev)
    w.close()
    expect(lines(file)).toEqual(evs.map((e) => JSON.stringify(e)))
  })

  it('headers bigger than a ring record go with their event as JSON instead of waiting forever for room', () => {
    const file = tmpFile()
    // A 64 KiB ring holds records of at most 16 KiB; these headers take 40 KB.
    const w = new RecordingWriter(file, HEADER, { ringBytes: 64 * 1024, flushBytes: 16 * 1024 })
    const evs: WiretraceEvent[] = []
    for (let i = 0; i < 200; i++) evs.push({ seq: i, ts: 1, conn: 'c', type: 'note', text: `n${i}`, source: 'user' })
    const big: HeaderPairs = [[':status', '200'], ['x-big', 'b'.repeat(40_000)]]
    evs.push({ seq: 200, ts: 2, conn: 'c', type: 'h2.stream', streamId: 1, phase: 'response', status: 200, headers: big } as WiretraceEvent)
    evs.push({ seq: 201, ts: 3, conn: 'c', type: 'h2.stream', streamId: 3, phase: 'response', status: 200, headers: [[':status', '200']] } as WiretraceEvent)
    evs.push({ seq: 202, ts: 4, conn: 'c', type: 'h2.stream', streamId: 3, phase: 'data', size: 0, sizes: [], times: [4] } as WiretraceEvent)
    for (const ev of evs) w.write(ev)
    w.close()
    expect(lines(file)).toEqual(evs.map((e) => JSON.stringify(e)))
  })

  it('timestamps of 2^53 and more print as JSON does, in the worker and in-thread alike', () => {
    for (const worker of [true, false]) {
      const file = tmpFile()
      const w = new RecordingWriter(file, HEADER, { worker })
      const evs = [
        { seq: 0, ts: 1e16, conn: 'c', type: 'h2.stream', streamId: 1, phase: 'data', size: 1, times: [1e21] },
        { seq: 1, ts: 2 ** 53 + 2, conn: 'c', type: 'h2.stream', streamId: 1, phase: 'end' },
        { seq: 2, ts: 1e21, conn: 'c', type: 'sse.event', event: 'message', data: 'x', lastEventId: '', size: 1 },
      ] as WiretraceEvent[]
      for (const ev of evs) w.write(ev)
      w.close()
      expect(lines(file), `worker: ${worker}`).toEqual(evs.map((e) => JSON.stringify(e)))
    }
  })
})
