/**
 * Line splitter for raw streams (NDJSON, LLM streams that are not SSE), sans-IO: bytes in
 * any chunking, one callback per line with the line's exact bytes (the terminator excluded:
 * LF, or CRLF when `stripCR`). A line inside one chunk is handed over as a view of that
 * chunk (no copy); a line spanning chunks is assembled into a fresh array. The caller may
 * keep either.
 *
 * A line longer than `maxLineBytes` (complete or still pending) fails with
 * WT_STREAM_LINE_TOO_LONG as soon as it crosses the limit: memory stays bounded by the limit.
 */

export interface LineSink {
  line(bytes: Uint8Array, index: number): void
  error(code: 'WT_STREAM_LINE_TOO_LONG', message: string, detail: Record<string, unknown>): void
}

export interface LineSplitterOptions {
  maxLineBytes: number
  /** Remove a CR before the LF (CRLF line ends). Default true. */
  stripCR?: boolean
}

const LF = 10
const CR = 13

export class LineSplitter {
  /** Lines handed out so far. */
  count = 0
  failed = false
  private readonly sink: LineSink
  private readonly max: number
  private readonly stripCR: boolean
  private pending: Uint8Array[] = []
  private pendingLen = 0

  constructor(sink: LineSink, opts: LineSplitterOptions) {
    this.sink = sink
    this.max = opts.maxLineBytes
    this.stripCR = opts.stripCR ?? true
  }

  push(chunk: Uint8Array): void {
    if (this.failed) return
    const len = chunk.length
    let pos = 0
    while (pos < len) {
      const nl = chunk.indexOf(LF, pos)
      if (nl === -1) {
        this.keep(chunk, pos, len)
        return
      }
      let line: Uint8Array
      if (this.pendingLen > 0) {
        if (this.pendingLen + (nl - pos) > this.max) return this.tooLong(this.pendingLen + (nl - pos), true)
        line = new Uint8Array(this.pendingLen + (nl - pos))
        let o = 0
        for (const p of this.pending) {
          line.set(p, o)
          o += p.length
        }
        line.set(chunk.subarray(pos, nl), o)
        this.pending = []
        this.pendingLen = 0
      } else {
        if (nl - pos > this.max) return this.tooLong(nl - pos, true)
        line = chunk.subarray(pos, nl)
      }
      const n = line.length
      if (this.stripCR && n > 0 && line[n - 1] === CR) line = line.subarray(0, n - 1)
      this.sink.line(line, this.count++)
      pos = nl + 1
    }
  }

  /**
   * End of stream: a last line without a line end is handed over (a stream need not end
   * with LF). Returns whether there was one.
   */
  end(): boolean {
    if (this.failed || this.pendingLen === 0) {
      this.pending = []
      this.pendingLen = 0
      return false
    }
    const line = new Uint8Array(this.pendingLen)
    let o = 0
    for (const p of this.pending) {
      line.set(p, o)
      o += p.length
    }
    this.pending = []
    this.pendingLen = 0
    const n = line.length
    this.sink.line(this.stripCR && line[n - 1] === CR ? line.subarray(0, n - 1) : line, this.count++)
    return true
  }

  private keep(chunk: Uint8Array, from: number, to: number): void {
    const add = to - from
    if (add === 0) return
    if (this.pendingLen + add > this.max) return this.tooLong(this.pendingLen + add, false)
    // Copy: the caller may reuse its chunk buffer.
    this.pending.push(chunk.slice(from, to))
    this.pendingLen += add
    // Coalesce many tiny pieces so the list stays short.
    if (this.pending.length > 64) {
      const joined = new Uint8Array(this.pendingLen)
      let o = 0
      for (const p of this.pending) {
        joined.set(p, o)
        o += p.length
      }
      this.pending = [joined]
    }
  }

  private tooLong(bytes: number, complete: boolean): void {
    this.failed = true
    this.pending = []
    this.pendingLen = 0
    this.sink.error(
      'WT_STREAM_LINE_TOO_LONG',
      complete
        ? `a line of ${bytes} bytes exceeds the line limit (${this.max})`
        : `a line reached ${bytes} bytes without a line end, over the line limit (${this.max})`,
      { limit: this.max, bytes, complete },
    )
  }
}
