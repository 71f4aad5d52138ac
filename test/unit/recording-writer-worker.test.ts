// The off-thread recording writer: a small ring (64 KiB) so records wrap, the main thread waits
// for room, and big lines go in pieces; several writers share the ring. Output must be exactly
// JSON.stringify(ev) + '\n' per line, and the same bytes as the in-thread writer's.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { RecordingWriter, recordingWorkerStatus } from '../../shared/node/recording/writer.ts'
import { readRecording } from '../../shared/common/recording/reader.ts'
import type { WiretraceEvent, WsMessageEvent } from '../../shared/common/events/index.ts'
import { tmpFile } from '../fixtures/engine.ts'

const HEADER = { format: 'wiretrace', version: 1 } as never
const RING = 64 * 1024

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

/** A mixed stream: text (escapes, unicode, invalid UTF-8 bytes), binary, truncation, notes, big lines. */
function events(n: number, conn: string, seed: number, invalidUtf8 = true): Array<{ ev: WiretraceEvent; raw?: Buffer }> {
  const r = rng(seed)
  const out: Array<{ ev: WiretraceEvent; raw?: Buffer }> = []
  const samples = ['plain', 'with "quotes" and \\ backslash', 'tab\there\nnewline\u0001ctl', 'héllo wörld ✓ 🚀', '', '\u2028\u2029', '{"json":[1,2,3]}']
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(r() * 10)
    const ts = Math.round((1795761355881 + r() * 1e6) * 1000) / 1000
    if (kind === 0) {
      out.push({ ev: { seq: i, ts, conn, type: 'note', text: `note ${i} ${'é'.repeat(Math.floor(r() * 50))}`, source: 'user' } })
      continue
    }
    if (kind === 1 && r() < 0.05) {
      // Bigger than a quarter of the ring: goes in pieces.
      const text = 'z'.repeat(20_000 + Math.floor(r() * 40_000))
      out.push({ ev: { seq: i, ts, conn, type: 'ws.message', dir: 'in', opcode: 1, size: text.length, text } as WsMessageEvent, raw: Buffer.from(text) })
      continue
    }
    const ev = { seq: i, ts, conn, type: 'ws.message', dir: r() < 0.5 ? 'in' : 'out', opcode: 1, size: 0 } as WsMessageEvent
    let raw: Buffer
    if (kind < 6) {
      const text = samples[Math.floor(r() * samples.length)]! + 'x'.repeat(Math.floor(r() * 300))
      raw = Buffer.from(text)
      ev.size = raw.length
      ev.text = text
    } else if (kind === 6 && invalidUtf8) {
      // Invalid UTF-8 on the wire: the text is what decoding made of it.
      raw = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0xc3])
      ev.size = raw.length
      ev.text = raw.toString('utf8')
    } else {
      raw = Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)))
      ev.opcode = 2
      ev.size = raw.length
      ev.base64 = raw.toString('base64')
      if (kind === 9) ev.truncated = true
    }
    if (r() < 0.7) ev.wireSize = raw.length + 2
    if (r() < 0.7) ev.frames = 1 + Math.floor(r() * 3)
    if (r() < 0.3) ev.compressed = r() < 0.5
    out.push({ ev, raw: r() < 0.8 ? raw : undefined })
  }
  return out
}

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1)
}

describe('RecordingWriter on its worker thread', () => {
  it('writes exactly JSON.stringify lines through a small wrapping ring, for three interleaved writers', () => {
    const files = [tmpFile(), tmpFile(), tmpFile()]
    const writers = files.map((f) => new RecordingWriter(f, HEADER, { ringBytes: RING, flushBytes: 16 * 1024 }))
    expect(recordingWorkerStatus()).toMatchObject({ running: true, ringBytes: RING, failure: null })
    const streams = files.map((_, k) => events(4000, `c${k}-abc`, 7 + k))
    for (let i = 0; i < 4000; i++) for (let k = 0; k < 3; k++) writers[k]!.write(streams[k]![i]!.ev, streams[k]![i]!.raw)
    for (const w of writers) w.close()
    for (let k = 0; k < 3; k++) {
      const got = lines(files[k]!)
      expect(got.length).toBe(4000)
      for (let i = 0; i < got.length; i++) expect(got[i]).toBe(JSON.stringify(streams[k]![i]!.ev))
      expect(writers[k]!.count).toBe(4000)
      expect(writers[k]!.bytesWritten).toBe(fs.statSync(files[k]!).size)
      // The sparse index points at the start of every 1024th event.
      const bytes = fs.readFileSync(files[k]!)
      expect(writers[k]!.index).toHaveLength(4)
      for (const [j, off] of writers[k]!.index.entries()) expect(JSON.parse(bytes.subarray(off, bytes.indexOf(10, off)).toString()).seq).toBe(j * 1024)
    }
  })

  // (Invalid UTF-8 left out: the in-thread writer copies such wire bytes as they are, the worker
  // prints what JSON.stringify prints; the WebSocket transport never records invalid text.)
  it('produces the same bytes as the in-thread writer', () => {
    const a = tmpFile()
    const b = tmpFile()
    const wa = new RecordingWriter(a, HEADER)
    const wb = new RecordingWriter(b, HEADER, { worker: false })
    for (const { ev, raw } of events(3000, 'c1-79cba2', 42, false)) {
      wa.write(ev, raw)
      wb.write(ev, raw)
    }
    wa.close()
    wb.close()
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true)
    expect(wa.index).toEqual(wb.index)
  })

  it('sync() waits until the file holds every event so far; the writer keeps going after it', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, HEADER)
    for (let i = 0; i < 2500; i++) w.write({ seq: i, ts: i, conn: 'c', type: 'ws.message', dir: 'in', opcode: 1, size: 1, text: 'a' } as WsMessageEvent, Buffer.from('a'))
    w.sync()
    expect(lines(file)).toHaveLength(2500)
    expect(w.index).toHaveLength(3)
    expect(w.bytesWritten).toBe(fs.statSync(file).size)
    w.write({ seq: 2500, ts: 2500, conn: 'c', type: 'note', text: 'after', source: 'user' })
    w.close()
    const rec = readRecording(fs.readFileSync(file))
    expect(rec.events).toHaveLength(2501)
    expect(rec.events.at(-1)).toMatchObject({ type: 'note', text: 'after' })
  })

  it('never drops: a burst far larger than the ring makes write() wait, and every event lands in order', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, HEADER)
    const text = 'p'.repeat(200)
    const raw = Buffer.from(text)
    const n = 20_000 // ~5 MB of lines through a 64 KiB ring, without yielding to the event loop
    for (let i = 0; i < n; i++) w.write({ seq: i, ts: 1000 + i / 1000, conn: 'c9', type: 'ws.message', dir: 'in', opcode: 1, size: 200, text } as WsMessageEvent, raw)
    w.close()
    const got = lines(file)
    expect(got).toHaveLength(n)
    got.forEach((l, i) => expect(JSON.parse(l).seq).toBe(i))
  })

  it('reports a failing write with WT_RECORDING_WRITE once, stops writing, and sync/close do not wait for the lost events', () => {
    if (!fs.existsSync('/dev/full')) return
    const errors: string[] = []
    const w = new RecordingWriter('/dev/full', HEADER, { onError: (e) => errors.push(`${e.code}: ${e.message}`) })
    for (let i = 0; i < 100; i++) w.write({ seq: i, ts: i, conn: 'c', type: 'note', text: 'x', source: 'user' })
    w.sync()
    w.close()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^WT_RECORDING_WRITE: writing \/dev\/full failed/)
  })
})
