/**
 * Sans-IO recording reader: feed it bytes in any chunking, it yields the header and
 * events. It never throws on bad input: problems become `issues` with line numbers, and
 * everything that can be read is read. A truncated last line (the writer was killed) is
 * reported as WT_RECORDING_TRUNCATED and dropped.
 */
import type { WiretraceEvent } from '../events/index.ts'
import { RECORDING_VERSION, isRecordingHeader, type RecordingHeader } from './format.ts'

export interface ReaderIssue {
  code: 'WT_RECORDING_HEADER' | 'WT_RECORDING_VERSION' | 'WT_RECORDING_LINE' | 'WT_RECORDING_TRUNCATED' | 'WT_RECORDING_TOO_LARGE'
  line: number
  message: string
}

export interface ReaderOptions {
  /** Longest line accepted, bytes (default 64 MiB). */
  maxLineBytes?: number
  /** Issues kept (further ones are counted only). */
  maxIssues?: number
}

/** Whole lines decoded in one call, at most (a line longer than this is decoded alone). */
const RUN_BYTES = 1 << 22

export class RecordingReader {
  header: RecordingHeader | null = null
  readonly issues: ReaderIssue[] = []
  issueCount = 0
  /** Line number of the last line handed out (1-based). */
  line = 0
  /** Bytes consumed so far. */
  offset = 0
  private readonly decoder = new TextDecoder('utf-8', { fatal: false })
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private skipping = false
  private readonly maxLine: number
  private readonly maxIssues: number
  private lastSeq = -Infinity

  constructor(opts: ReaderOptions = {}) {
    this.maxLine = opts.maxLineBytes ?? 64 * 1024 * 1024
    this.maxIssues = opts.maxIssues ?? 100
  }

  /** Feed the next chunk; returns the events completed by it. */
  push(chunk: Uint8Array): WiretraceEvent[] {
    const out: WiretraceEvent[] = []
    let start = 0
    // The end of a line begun in an earlier chunk (or of one being skipped).
    if (this.pendingBytes > 0 || this.skipping) {
      const nl = chunk.indexOf(10)
      if (nl !== -1) {
        this.takeLine(chunk.subarray(0, nl), out)
        start = nl + 1
      }
    }
    // The whole lines after it, decoded a run at a time (takeLines).
    const last = chunk.lastIndexOf(10)
    while (start <= last) {
      let end = last
      if (end - start > RUN_BYTES) {
        end = chunk.lastIndexOf(10, start + RUN_BYTES)
        if (end < start) end = chunk.indexOf(10, start) // one line longer than a run: alone
      }
      this.takeLines(chunk.subarray(start, end), out)
      start = end + 1
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start)
      if (this.skipping) {
        this.offset += rest.length
      } else if (this.pendingBytes + rest.length > this.maxLine) {
        this.issue('WT_RECORDING_TOO_LARGE', this.line + 1, `line longer than ${this.maxLine} bytes; skipped`)
        this.pending = []
        this.pendingBytes = 0
        this.skipping = true
        this.offset += rest.length
      } else {
        // A copy: callers may reuse their buffer, and Buffer.prototype.slice would share it.
        this.pending.push(new Uint8Array(rest))
        this.pendingBytes += rest.length
      }
    }
    return out
  }

  /** Call at end of input. Reports a truncated last line. */
  end(): WiretraceEvent[] {
    if (this.pendingBytes > 0 || this.skipping) {
      const lineNo = this.line + 1
      const text = this.joinPending()
      this.pending = []
      this.pendingBytes = 0
      this.skipping = false
      this.line = lineNo
      // A last line with no newline may still be complete JSON (files written by other tools).
      const out: WiretraceEvent[] = []
      try {
        const value = JSON.parse(text)
        this.accept(value, lineNo, out)
      } catch {
        this.issue('WT_RECORDING_TRUNCATED', lineNo, `last line is incomplete (${text.length} characters); the writer was probably interrupted`)
      }
      return out
    }
    if (!this.header && this.line === 0) this.issue('WT_RECORDING_HEADER', 1, 'the file is empty')
    return []
  }

  /**
   * Whole lines (`bytes` holds their newlines but for the last one's), decoded in one call
   * and split. That is the text decoding each line on its own gives (a newline is never part
   * of a multi-byte sequence, so a bad sequence ends at it either way), but for the BOM a
   * decode call drops from the start of what it decodes: dropped here from every further line.
   */
  private takeLines(bytes: Uint8Array, out: WiretraceEvent[]): void {
    const text = this.decoder.decode(bytes)
    this.offset += bytes.length + 1
    let s = 0
    for (;;) {
      const e = text.indexOf('\n', s)
      this.line++
      if (s > 0 && text.charCodeAt(s) === 0xfeff) s++
      this.takeText(e === -1 ? (s === 0 ? text : text.slice(s)) : text.slice(s, e), out)
      if (e === -1) return
      s = e + 1
    }
  }

  private takeLine(tail: Uint8Array, out: WiretraceEvent[]): void {
    this.line++
    this.offset += tail.length + 1
    if (this.skipping) {
      this.skipping = false
      return
    }
    let text: string
    if (this.pendingBytes > 0) {
      this.pending.push(tail)
      this.pendingBytes += tail.length
      text = this.joinPending()
      this.pending = []
      this.pendingBytes = 0
    } else {
      text = this.decoder.decode(tail)
    }
    this.takeText(text, out)
  }

  /** One line's text (line and offset already counted). */
  private takeText(text: string, out: WiretraceEvent[]): void {
    if (text.length === 0 || (text.length === 1 && text === '\r')) return
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (e) {
      if (!this.header && this.line === 1) this.issue('WT_RECORDING_HEADER', 1, 'line 1 is not JSON, so this is not a Wiretrace recording ({"format":"wiretrace",...})')
      else this.issue('WT_RECORDING_LINE', this.line, `not JSON: ${(e as Error).message}`)
      return
    }
    this.accept(value, this.line, out)
  }

  private accept(value: unknown, lineNo: number, out: WiretraceEvent[]): void {
    if (!this.header) {
      if (lineNo === 1 || this.line === lineNo) {
        if (isRecordingHeader(value)) {
          if (value.version > RECORDING_VERSION) {
            this.issue('WT_RECORDING_VERSION', lineNo, `format version ${value.version} is newer than ${RECORDING_VERSION}, which this version reads`)
          }
          this.header = value
          return
        }
        if (lineNo === 1) this.issue('WT_RECORDING_HEADER', 1, 'line 1 is not a Wiretrace header ({"format":"wiretrace",...})')
      }
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      this.issue('WT_RECORDING_LINE', lineNo, 'not an object')
      return
    }
    const ev = value as Record<string, unknown>
    if (typeof ev.type !== 'string' || typeof ev.seq !== 'number' || typeof ev.ts !== 'number' || typeof ev.conn !== 'string') {
      this.issue('WT_RECORDING_LINE', lineNo, 'missing seq, ts, conn or type')
      return
    }
    if (ev.seq <= this.lastSeq) {
      this.issue('WT_RECORDING_LINE', lineNo, `seq ${ev.seq} does not increase (previous ${this.lastSeq})`)
    }
    this.lastSeq = ev.seq
    out.push(value as WiretraceEvent)
  }

  private joinPending(): string {
    const all = new Uint8Array(this.pendingBytes)
    let o = 0
    for (const p of this.pending) {
      all.set(p, o)
      o += p.length
    }
    return this.decoder.decode(all)
  }

  private issue(code: ReaderIssue['code'], line: number, message: string): void {
    this.issueCount++
    if (this.issues.length < this.maxIssues) this.issues.push({ code, line, message })
  }
}

/** Convenience: read a whole recording held in memory. */
export function readRecording(bytes: Uint8Array, opts?: ReaderOptions): { header: RecordingHeader | null; events: WiretraceEvent[]; issues: ReaderIssue[] } {
  const r = new RecordingReader(opts)
  const events = r.push(bytes)
  for (const e of r.end()) events.push(e)
  return { header: r.header, events, issues: r.issues }
}
