/**
 * The live view's feed. It never slows a connection: each event costs one array store
 * into a fixed-size ring per connection. A UI calls drain() at most once per animation
 * frame and gets the newest events (up to maxBatchEvents), how many it skipped
 * ("coalesced": still in the recording, fetchable with range()), and changed summaries.
 */
import fs from 'node:fs'
import type { WiretraceEvent } from '../../common/events/index.ts'
import type { ConnectionSummary, LiveBatch } from '../../common/live.ts'
import { RecordingReader } from '../../common/recording/reader.ts'
import { INDEX_STRIDE } from '../recording/writer.ts'
import type { Engine } from './engine.ts'

class Ring {
  readonly buf: Array<WiretraceEvent | undefined>
  /** seq of the next event expected (== count of events seen, for a connection's own log). */
  next = 0
  /** Events pushed since the last drain. */
  pending = 0
  changed = true
  constructor(size: number) {
    this.buf = new Array(size)
  }
  push(ev: WiretraceEvent): void {
    this.buf[ev.seq % this.buf.length] = ev
    this.next = ev.seq + 1
    this.pending++
  }
  /** The event with this seq if still in the ring. */
  get(seq: number): WiretraceEvent | undefined {
    if (seq < 0 || seq >= this.next || seq < this.next - this.buf.length) return undefined
    const ev = this.buf[seq % this.buf.length]
    return ev && ev.seq === seq ? ev : undefined
  }
}

export class LiveFeed {
  private readonly rings = new Map<string, Ring>()
  private readonly unsubscribe: () => void
  private readonly engine: Engine

  constructor(engine: Engine) {
    this.engine = engine
    const size = Math.max(16, engine.limits.liveRingSize)
    this.unsubscribe = engine.onEvent((ev) => {
      if (ev.seq < 0) return
      let r = this.rings.get(ev.conn)
      if (!r) {
        r = new Ring(size)
        this.rings.set(ev.conn, r)
      }
      r.push(ev)
    })
  }

  /** Newest events since the last drain, the number skipped per connection, changed summaries. */
  drain(maxEvents = this.engine.limits.maxBatchEvents): LiveBatch {
    const events: WiretraceEvent[] = []
    const coalesced: Record<string, number> = {}
    const summaries: ConnectionSummary[] = []
    const active = [...this.rings.entries()].filter(([, r]) => r.pending > 0)
    const share = active.length ? Math.max(1, Math.floor(maxEvents / active.length)) : 0
    for (const [id, r] of active) {
      const take = Math.min(r.pending, share, r.buf.length)
      for (let s = r.next - take; s < r.next; s++) {
        const ev = r.get(s)
        if (ev) events.push(ev)
      }
      if (r.pending > take) coalesced[id] = r.pending - take
      r.pending = 0
      const c = this.engine.get(id)
      if (c) summaries.push({ ...c.summary() })
    }
    return { events, coalesced, summaries }
  }

  /** Summaries of every connection the engine knows. */
  summaries(): ConnectionSummary[] {
    return this.engine.list().map((c) => ({ ...c.summary() }))
  }

  /** One event with its full payload: from the ring, else read back from the recording. */
  event(conn: string, seq: number): WiretraceEvent | undefined {
    const r = this.rings.get(conn)
    const hit = r?.get(seq)
    if (hit) return hit
    return this.range(conn, seq, 1)[0]
  }

  /** Events [fromSeq, fromSeq+count) of a connection. */
  range(conn: string, fromSeq: number, count: number): WiretraceEvent[] {
    const out: WiretraceEvent[] = []
    const r = this.rings.get(conn)
    const end = Math.min(fromSeq + Math.max(0, count), r ? r.next : Infinity)
    let s = Math.max(0, fromSeq)
    // Whatever is older than the ring comes from the recording.
    const firstInRing = r ? Math.max(0, r.next - r.buf.length) : Infinity
    if (s < firstInRing) {
      const fromDisk = this.readRange(conn, s, Math.min(end, firstInRing) - s)
      for (const ev of fromDisk) out.push(ev)
      s = Math.min(end, firstInRing)
    }
    for (; s < end; s++) {
      const ev = r?.get(s)
      if (ev) out.push(ev)
    }
    return out
  }

  close(): void {
    this.unsubscribe()
    this.rings.clear()
  }

  private readRange(conn: string, fromSeq: number, count: number): WiretraceEvent[] {
    const c = this.engine.get(conn)
    const w = c?.writer
    if (!w || w.path === '-' || count <= 0) return []
    w.sync()
    const slot = Math.floor(fromSeq / INDEX_STRIDE)
    const offset = w.index[Math.min(slot, w.index.length - 1)] ?? 0
    const out: WiretraceEvent[] = []
    let fd: number
    try {
      fd = fs.openSync(w.path, 'r')
    } catch {
      return out
    }
    try {
      const reader = new RecordingReader()
      // Pretend the header was read so lines are taken as events.
      reader.header = { format: 'wiretrace', version: 1, app: '', created: '', timeOrigin: 0, env: { os: '', release: '', arch: '', runtime: '', host: '' }, connections: [], secrets: 'redacted' }
      reader.line = 1
      const chunk = Buffer.allocUnsafe(256 * 1024)
      let pos = offset
      for (;;) {
        const n = fs.readSync(fd, chunk, 0, chunk.length, pos)
        if (n <= 0) break
        pos += n
        for (const ev of reader.push(chunk.subarray(0, n))) {
          if (ev.seq >= fromSeq && ev.seq < fromSeq + count) out.push(ev)
        }
        if (out.length >= count) break
      }
    } finally {
      fs.closeSync(fd)
    }
    return out
  }
}
