/**
 * Recordings opened in the inspector (read-only). The file is scanned once in the
 * background in 1 MiB steps (never blocking the host for long): each connection in it gets a
 * summary (the same applySummary the live engine uses) and a sparse index of byte offsets
 * every INDEX_STRIDE events, so any event or range is read back from disk on demand. Peers
 * stream the events to the renderer through the same batch path as live connections.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { WiretraceEvent } from '../../common/events/index.ts'
import type { ConnectionSummary } from '../../common/live.ts'
import { applySummary, emptySummary } from '../../common/summary.ts'
import { isRecordingHeader, type RecordingHeader } from '../../common/recording/format.ts'
import { WiretraceError } from '../../common/errors/index.ts'

export const INDEX_STRIDE = 1024
/** Bytes read per background scan step. */
export const SCAN_CHUNK = 1024 * 1024
/** Longest line accepted when reading back (a 16 MiB payload base64-encoded fits). */
export const MAX_LINE = 64 * 1024 * 1024
/** Recordings open at once. */
export const MAX_OPEN_RECORDINGS = 20

interface ConnIndex {
  summary: ConnectionSummary
  /** offsets[i] = byte offset of the line with seq i * INDEX_STRIDE. */
  offsets: number[]
}

export class OpenedRecording {
  readonly key: string
  readonly path: string
  header: RecordingHeader | null = null
  /** Bytes scanned so far; the scan is done when `done`. */
  scanned = 0
  size = 0
  done = false
  error: string | null = null
  readonly conns = new Map<string, ConnIndex>()
  private timer: NodeJS.Immediate | null = null
  private fd: number

  /** The file the user opened (a .wtrace.gz or HAR is read through an imported copy at `path`). */
  readonly shownPath: string
  /** Events indexed so far. */
  eventCount = 0

  constructor(key: string, file: string, shown: string = file) {
    this.key = key
    this.path = path.resolve(file)
    this.shownPath = shown.includes('/') || shown.includes('\\') ? path.resolve(shown) : shown
    try {
      this.fd = fs.openSync(this.path, 'r')
      this.size = fs.fstatSync(this.fd).size
    } catch (e) {
      throw new WiretraceError('WT_RECORDING_NOT_FOUND', `cannot open recording ${file}: ${(e as Error).message}`, { path: file })
    }
    this.readHeader()
    this.timer = setImmediate(() => this.scanStep())
  }

  /** The id the UI sees for a connection of this recording. */
  uiId(conn: string): string {
    return `${this.key}:${conn}`
  }

  summaries(): ConnectionSummary[] {
    return [...this.conns.values()].map((c) => ({ ...c.summary }))
  }

  /** Reads events from `offset` until `max` events or `maxBytes` were read. Ids are rewritten to UI ids. */
  readFrom(offset: number, max: number, maxBytes = SCAN_CHUNK): { events: WiretraceEvent[]; next: number } {
    const events: WiretraceEvent[] = []
    const end = Math.min(this.scanned, offset + maxBytes)
    if (offset >= end) return { events, next: offset }
    const buf = Buffer.allocUnsafe(end - offset)
    const n = fs.readSync(this.fd, buf, 0, buf.length, offset)
    let start = 0
    while (events.length < max) {
      const nl = buf.indexOf(10, start)
      if (nl < 0 || nl >= n) break
      const ev = this.parse(buf.toString('utf8', start, nl))
      start = nl + 1
      if (ev) {
        ev.conn = this.uiId(ev.conn)
        events.push(ev)
      }
    }
    if (start === 0 && n > 0 && events.length === 0 && end - offset >= maxBytes && maxBytes < MAX_LINE) {
      return this.readFrom(offset, max, Math.min(MAX_LINE, maxBytes * 4))
    }
    return { events, next: offset + start }
  }

  /** Events [fromSeq, fromSeq + count) of one connection, read back through the index. */
  range(conn: string, fromSeq: number, count: number): WiretraceEvent[] {
    const c = this.conns.get(conn)
    if (!c || count <= 0) return []
    let offset = c.offsets[Math.min(Math.floor(fromSeq / INDEX_STRIDE), c.offsets.length - 1)] ?? this.dataStart
    const out: WiretraceEvent[] = []
    const want = this.uiId(conn)
    while (out.length < count && offset < this.scanned) {
      const { events, next } = this.readFrom(offset, 4096)
      if (next === offset) break
      offset = next
      for (const ev of events) {
        if (ev.conn === want && ev.seq >= fromSeq && ev.seq < fromSeq + count) out.push(ev)
        if (ev.conn === want && ev.seq >= fromSeq + count) return out
      }
    }
    return out
  }

  private closed = false

  close(): void {
    this.closed = true
    if (this.timer) clearImmediate(this.timer)
    this.timer = null
    try {
      fs.closeSync(this.fd)
    } catch {
      /* already closed */
    }
  }

  /** Byte offset of the first event line. */
  dataStart = 0

  private readHeader(): void {
    const buf = Buffer.allocUnsafe(Math.min(this.size, 4 * 1024 * 1024))
    const n = fs.readSync(this.fd, buf, 0, buf.length, 0)
    const nl = buf.indexOf(10)
    if (nl < 0 || nl >= n) throw new WiretraceError('WT_RECORDING_HEADER', `${this.path} has no header line`)
    let head: unknown
    try {
      head = JSON.parse(buf.toString('utf8', 0, nl))
    } catch {
      throw new WiretraceError('WT_RECORDING_HEADER', `${this.path} is not a Wiretrace recording (line 1 is not JSON)`)
    }
    if (!isRecordingHeader(head)) throw new WiretraceError('WT_RECORDING_HEADER', `${this.path} is not a Wiretrace recording (no {"format":"wiretrace"} header)`)
    this.header = head
    this.dataStart = nl + 1
    this.scanned = nl + 1
  }

  private parse(line: string): WiretraceEvent | null {
    if (!line) return null
    try {
      const v = JSON.parse(line) as WiretraceEvent
      return v && typeof v === 'object' && typeof v.type === 'string' && typeof v.conn === 'string' && typeof v.seq === 'number' ? v : null
    } catch {
      return null
    }
  }

  /** One background scan step (also called once at open so the first summaries exist). */
  scanStep(bytes: number = SCAN_CHUNK * 4): void {
    // Called at open and then from its own immediate: never two chains at once.
    if (this.timer) clearImmediate(this.timer)
    this.timer = null
    if (this.done || this.closed) return
    try {
      this.scanChunk(bytes)
    } catch (e) {
      // A read error (file removed, disk gone) ends the scan; what was indexed stays readable.
      this.error = `reading stopped at byte ${this.scanned}: ${(e as Error).message}`
      this.done = true
    }
  }

  private scanChunk(bytes: number): void {
    const chunk = Math.min(bytes, this.size - this.scanned)
    if (chunk <= 0) {
      this.done = true
      return
    }
    const buf = Buffer.allocUnsafe(chunk)
    const n = fs.readSync(this.fd, buf, 0, chunk, this.scanned)
    let start = 0
    for (;;) {
      const nl = buf.indexOf(10, start)
      if (nl < 0 || nl >= n) break
      const lineOffset = this.scanned + start
      const ev = this.parse(buf.toString('utf8', start, nl))
      start = nl + 1
      if (!ev) continue
      let c = this.conns.get(ev.conn)
      if (!c) {
        // The header names the connection's URL even before its conn.start is read.
        const spec = this.header?.connections.find((x) => x.id === ev.conn)
        const summary = { ...emptySummary(this.uiId(ev.conn)), readOnly: true, recordingPath: this.shownPath, startedAt: ev.ts }
        if (spec) {
          summary.url = spec.url
          summary.transport = spec.transport
          if (spec.name) summary.name = spec.name
        }
        c = { summary, offsets: [] }
        this.conns.set(ev.conn, c)
      }
      if (ev.seq % INDEX_STRIDE === 0) c.offsets[ev.seq / INDEX_STRIDE] = lineOffset
      this.eventCount++
      applySummary(c.summary, ev)
      c.summary.id = this.uiId(ev.conn)
    }
    if (start === 0 && n === chunk && chunk === bytes && bytes < SCAN_CHUNK * 4) {
      // A line longer than a small first step: the next, full-size step reads it.
    } else if (start === 0 && n === chunk && chunk < MAX_LINE) {
      // One line longer than the step: skip it (reported as an error, the rest stays readable).
      this.error =
        this.scanned + chunk >= this.size
          ? `the last line (from byte ${this.scanned}) is incomplete: the recording was cut off; it was left out (recovery repairs the file)`
          : `a line at byte ${this.scanned} is longer than ${chunk} bytes and was skipped`
      const next = buf.indexOf(10)
      this.scanned += next >= 0 ? next + 1 : n
    } else this.scanned += start
    if (this.scanned >= this.size) {
      this.done = true
      return
    }
    this.timer = setImmediate(() => this.scanStep())
  }
}

/** Bytes indexed synchronously when a recording is opened: enough for the first rows, quick to answer. */
export const FIRST_SCAN_BYTES = 256 * 1024
