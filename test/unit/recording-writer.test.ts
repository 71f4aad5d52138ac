// The writer's hand-written ws.message encoder must produce exactly JSON.stringify's bytes.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { RecordingWriter } from '../../shared/node/recording/writer.ts'
import { readRecording } from '../../shared/common/recording/reader.ts'
import type { WiretraceEvent, WsMessageEvent } from '../../shared/common/events/index.ts'
import { tmpFile } from '../fixtures/engine.ts'

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

describe('RecordingWriter', () => {
  it('encodes ws.message lines byte-identical to JSON.stringify, for text, escapes, unicode, binary and truncation', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, { format: 'wiretrace', version: 1 } as never, { flushBytes: 64 * 1024 })
    const r = rng(42)
    const expected: string[] = []
    const samples = ['plain', 'with "quotes" and \\ backslash', 'tab\there\nnewline\u0001ctl', 'héllo wörld ✓ 🚀', '', '\u2028\u2029', '{"json":[1,2,3]}']
    for (let i = 0; i < 3000; i++) {
      const kind = Math.floor(r() * 4)
      const ev = { seq: i, ts: Math.round((1795761355881 + r() * 1e6) * 1000) / 1000, conn: i % 7 === 0 ? 'c2-aa' : 'c1-79cba2', type: 'ws.message', dir: r() < 0.5 ? 'in' : 'out', opcode: 1, size: 0 } as WsMessageEvent
      let raw: Buffer
      if (kind < 2) {
        const text = samples[Math.floor(r() * samples.length)]! + 'x'.repeat(Math.floor(r() * 300))
        raw = Buffer.from(text)
        ev.size = raw.length
        ev.text = text
      } else {
        raw = Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)))
        ev.opcode = 2
        ev.size = raw.length
        ev.base64 = raw.toString('base64')
        if (kind === 3) ev.truncated = true
      }
      if (r() < 0.7) ev.wireSize = raw.length + 2
      if (r() < 0.7) ev.frames = 1 + Math.floor(r() * 3)
      if (r() < 0.3) ev.compressed = r() < 0.5
      w.write(ev, r() < 0.8 ? raw : undefined)
      expected.push(JSON.stringify(ev))
    }
    // A large message goes through the slow path and still round-trips.
    const huge = { seq: 3000, ts: 1, conn: 'c1-79cba2', type: 'ws.message', dir: 'in', opcode: 1, size: 300_000, text: 'y'.repeat(300_000) } as WsMessageEvent
    w.write(huge, Buffer.from(huge.text!))
    expected.push(JSON.stringify(huge))
    w.close()
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1)
    expect(lines.length).toBe(expected.length)
    for (let i = 0; i < lines.length; i++) expect(lines[i]).toBe(expected[i])
  })

  it('copies wire bytes from any address (the ring keeps their alignment) and prints the same lines', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, { format: 'wiretrace', version: 1 } as never, { ringBytes: 64 * 1024, flushBytes: 16 * 1024 })
    const r = rng(9)
    const expected: string[] = []
    const pieces = ['a', 'é', '✓', '🚀', '"', '\\', '\t', '\u0001', 'yyyyyyyy']
    const backing = Buffer.alloc(70_000)
    for (let i = 0; i < 4000; i++) {
      let text = ''
      const n = Math.floor(r() * 40)
      for (let k = 0; k < n; k++) text += pieces[Math.floor(r() * pieces.length)]
      if (r() < 0.1) text += 'z'.repeat(Math.floor(r() * 20_000))
      const bytes = Buffer.from(text)
      // Every address mod 8, as frames cut out of a socket read are.
      const at = Math.floor(r() * 64)
      bytes.copy(backing, at)
      const raw = backing.subarray(at, at + bytes.length)
      const ev = { seq: i, ts: 1795761355881.5, conn: 'c', type: 'ws.message', dir: 'in', opcode: 1, size: raw.length, text } as WsMessageEvent
      w.write(ev, raw)
      expected.push(JSON.stringify(ev))
    }
    w.close()
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1)
    expect(lines).toEqual(expected)
  })

  it('copies long JSON lines and base64 payloads out of the ring at every alignment', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, { format: 'wiretrace', version: 1 } as never, { ringBytes: 256 * 1024, flushBytes: 16 * 1024 })
    const r = rng(5)
    const expected: string[] = []
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(r() * 6000)
      let ev: WiretraceEvent
      if (r() < 0.5) ev = { seq: i, ts: 1795761355881.25, conn: 'c', type: 'note', text: `n${i} ` + 'é'.repeat(n % 5) + 'x'.repeat(n), source: 'user' }
      else {
        const raw = Buffer.alloc(n, i & 0xff)
        ev = { seq: i, ts: 1795761355881.25, conn: 'c', type: 'ws.message', dir: 'in', opcode: 2, size: n, base64: raw.toString('base64') } as WsMessageEvent
      }
      w.write(ev)
      expected.push(JSON.stringify(ev))
    }
    w.close()
    expect(fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1)).toEqual(expected)
  })

  it('the in-thread writer prints a non-ASCII connection id as UTF-8', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, { format: 'wiretrace', version: 1 } as never, { worker: false })
    const evs = [
      { seq: 0, ts: 1, conn: 'café-✓', type: 'ws.message', dir: 'in', opcode: 1, size: 2, text: 'hi' },
      { seq: 1, ts: 2, conn: 'café-✓', type: 'sse.event', event: 'message', data: 'x', lastEventId: '', size: 1 },
    ] as WiretraceEvent[]
    w.write(evs[0]!, Buffer.from('hi'))
    w.write(evs[1]!)
    w.close()
    expect(fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1)).toEqual(evs.map((e) => JSON.stringify(e)))
  })

  it('keeps a sparse index of byte offsets every 1024 events', () => {
    const file = tmpFile()
    const w = new RecordingWriter(file, { format: 'wiretrace', version: 1 } as never)
    for (let i = 0; i < 5000; i++) w.write({ seq: i, ts: i, conn: 'c', type: 'note', text: `n${i}`, source: 'user' })
    w.close()
    const bytes = fs.readFileSync(file)
    expect(w.index).toHaveLength(5)
    for (const [k, off] of w.index.entries()) {
      const line = bytes.subarray(off, bytes.indexOf(10, off)).toString()
      expect(JSON.parse(line).seq).toBe(k * 1024)
    }
    expect(readRecording(bytes).events).toHaveLength(5000)
  })

  it('reports an unwritable path with WT_RECORDING_WRITE', () => {
    expect(() => new RecordingWriter('/nonexistent-dir/x.jsonl', { format: 'wiretrace', version: 1 } as never)).toThrow(/WT_RECORDING_WRITE|cannot create recording/)
  })
})
