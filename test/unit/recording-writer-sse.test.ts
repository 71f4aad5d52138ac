// sse.event records go through the writer worker's ring as numbers plus the strings' UTF-8
// bytes; the worker must print exactly JSON.stringify(ev) + '\n', with the keys in the order
// the SSE transport builds them, and the in-thread writer the same bytes.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { RecordingWriter, recordingWorkerStatus } from '../../shared/node/recording/writer.ts'
import type { SseEvent, WiretraceEvent } from '../../shared/common/events/index.ts'
import { tmpFile } from '../fixtures/engine.ts'

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
})
