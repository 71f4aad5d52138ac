/**
 * Server-Sent Events parser, sans-IO: bytes in (any chunking), callbacks out. It follows
 * the WHATWG HTML "Interpreting an event stream" rules to the letter:
 *
 * - one leading UTF-8 BOM (EF BB BF) of the stream is ignored, even when split over chunks;
 * - lines end with CRLF, LF or CR; a CR at the end of one chunk and an LF at the start of
 *   the next are one line end (the line is handed over at the CR, the LF is skipped later);
 * - an empty line dispatches; a line starting with ":" is a comment; otherwise the field
 *   name is everything before the first ":" (the whole line if none) and the value is
 *   everything after it, minus one leading space;
 * - `event` sets the type buffer; `data` appends value + LF; `id` sets the last event ID
 *   buffer unless the value contains NUL; `retry` sets the reconnection time only when the
 *   value is one or more ASCII digits; other fields are ignored; names compare literally;
 * - dispatch: the last event ID string takes the buffer's value (and keeps it: it persists
 *   across events and across reconnects, as browsers do); an empty data buffer dispatches
 *   nothing; one trailing LF is removed; type "message" unless the type buffer is set;
 * - at end of stream a pending (undispatched) event is discarded.
 *
 * Lines are split on bytes (CR and LF never occur inside a UTF-8 sequence), so decoding per
 * field value gives the same text as decoding the whole stream first.
 *
 * Limits: a line longer than `maxLineBytes` (complete or still pending without a line end)
 * fails with WT_SSE_LINE_TOO_LONG as soon as it crosses the limit, so a 100 MB line without
 * a newline costs at most `maxLineBytes` of memory; an event whose data exceeds
 * `maxEventBytes` fails with WT_SSE_EVENT_TOO_LARGE. After a failure the parser ignores
 * input until `reset()`.
 *
 * Hot path: no per-line allocation besides the decoded strings; one callback per event
 * with positional arguments (the caller builds its own record).
 */
import { decodeUtf8, type Utf8Decode } from './utf8.ts'

export type SseLimitCode = 'WT_SSE_LINE_TOO_LONG' | 'WT_SSE_EVENT_TOO_LARGE'

export interface SseSink {
  /**
   * A dispatched event. `id` is the value of this event's own `id` field (undefined when it
   * had none); `lastEventId` is what EventSource exposes. `retry` is set when this event's
   * lines carried a valid `retry` field. `size` is the bytes of the event's lines (line ends
   * and any comments inside the event included).
   */
  event(id: string | undefined, type: string, data: string, lastEventId: string, retry: number | undefined, size: number): void
  /** A valid `retry` field: the reconnection time is now `ms` (applies at once, as the spec says). */
  retry?(ms: number): void
  /** A comment line; `text` is everything after the colon, verbatim. */
  comment?(text: string): void
  /** A limit was hit; the parser stops. */
  error(code: SseLimitCode, message: string, detail: Record<string, unknown>): void
}

export interface SseParserOptions {
  /** Longest line accepted, bytes (limits.maxSseLineBytes). */
  maxLineBytes: number
  /** Largest data buffer of one event, bytes (limits.maxSseEventBytes). */
  maxEventBytes: number
  /** Initial last event ID (the one sent as Last-Event-ID on the first request). */
  lastEventId?: string
  decode?: Utf8Decode
}

/** What `end()` found still pending when the stream ended. */
export interface SseEndState {
  /** An event had fields but no blank line yet: it is discarded, as the spec says. */
  discardedEvent: boolean
  /** Bytes of lines belonging to the discarded event plus any unterminated last line. */
  discardedBytes: number
  /** The stream ended in the middle of a line (no line end after the last bytes). */
  partialLine: boolean
}

const LF = 10
const CR = 13
const COLON = 58
const SPACE = 32

export class SseParser {
  /** The last event ID string (set at dispatch, persists). */
  lastEventId: string
  /** Reconnection time set by the server's last valid `retry` field, or undefined. */
  retryMs: number | undefined
  /** Set once a limit was hit; input is ignored until reset(). */
  failed = false
  /** Dispatched events since construction (across resets). */
  eventCount = 0
  /** Bytes consumed since the last reset. */
  bytes = 0
  /**
   * Where the dispatched event's data came from, read during `sink.event`: when its data was
   * one line taken straight from a pushed chunk, `dataSrc` is that chunk and the data is the
   * decoding of dataSrc[dataAt, dataEnd) (a recorder can copy those wire bytes instead of
   * encoding the string again); otherwise (several data lines, a line assembled across
   * chunks) null.
   */
  dataSrc: Uint8Array | null = null
  dataAt = 0
  dataEnd = 0

  private readonly sink: SseSink
  private readonly maxLine: number
  private readonly maxEvent: number
  private readonly decode: Utf8Decode

  // Buffers of the spec.
  private idBuffer: string
  private typeBuffer = ''
  /** Data lines joined with LF (the spec's buffer minus its final LF); valid when dataLines > 0. */
  private data = ''
  private dataLines = 0
  private dataBytes = 0
  // Per-event extras for the record.
  private eventId: string | undefined = undefined
  private eventRetry: number | undefined = undefined
  private eventSize = 0
  private eventHasFields = false

  // Line assembly across chunks.
  private partial: Uint8Array = new Uint8Array(0)
  private partialLen = 0
  private hasPartial = false
  private skipLF = false
  private atStreamStart = true

  constructor(sink: SseSink, opts: SseParserOptions) {
    this.sink = sink
    this.maxLine = opts.maxLineBytes
    this.maxEvent = opts.maxEventBytes
    this.decode = opts.decode ?? decodeUtf8
    this.lastEventId = opts.lastEventId ?? ''
    this.idBuffer = this.lastEventId
  }

  /**
   * A new stream (reconnect): line and event state start over, a BOM is allowed again,
   * the last event ID (what was sent as Last-Event-ID) and the reconnection time persist.
   */
  reset(): void {
    this.typeBuffer = ''
    this.data = ''
    this.dataLines = 0
    this.dataBytes = 0
    this.eventId = undefined
    this.eventRetry = undefined
    this.eventSize = 0
    this.eventHasFields = false
    this.idBuffer = this.lastEventId
    this.partialLen = 0
    this.hasPartial = false
    if (this.partial.length > 65536) this.partial = new Uint8Array(0)
    this.skipLF = false
    this.atStreamStart = true
    this.failed = false
    this.bytes = 0
  }

  /** Feed the next chunk of the response body. */
  push(chunk: Uint8Array): void {
    if (this.failed) return
    const len = chunk.length
    if (len === 0) return
    this.bytes += len
    let pos = 0
    if (this.skipLF) {
      this.skipLF = false
      if (chunk[0] === LF) {
        pos = 1
        this.eventSize++
      }
    }
    let nextLF = chunk.indexOf(LF, pos)
    let nextCR = chunk.indexOf(CR, pos)
    while (pos < len) {
      if (nextLF !== -1 && nextLF < pos) nextLF = chunk.indexOf(LF, pos)
      if (nextCR !== -1 && nextCR < pos) nextCR = chunk.indexOf(CR, pos)
      let eol: number
      if (nextLF === -1) eol = nextCR
      else if (nextCR === -1) eol = nextLF
      else eol = nextLF < nextCR ? nextLF : nextCR
      if (eol === -1) {
        this.appendPartial(chunk, pos, len)
        return
      }
      // Line end: LF, CRLF, or CR (a CR ending the chunk may be followed by an LF in the next one).
      let next: number
      if (chunk[eol] === CR) {
        if (eol + 1 < len) {
          next = chunk[eol + 1] === LF ? eol + 2 : eol + 1
        } else {
          this.skipLF = true
          next = eol + 1
        }
      } else next = eol + 1
      this.eventSize += next - eol
      if (this.hasPartial) {
        this.appendPartial(chunk, pos, eol)
        if (this.failed) return
        const n = this.partialLen
        this.hasPartial = false
        this.partialLen = 0
        this.line(this.partial, 0, n)
      } else {
        if (eol - pos > this.maxLine) return this.lineTooLong(eol - pos, true)
        this.line(chunk, pos, eol)
      }
      if (this.failed) return
      pos = next
    }
  }

  /**
   * End of stream: the pending event (fields without the blank line) is discarded and an
   * unterminated last line is dropped. Returns what was dropped, for the record.
   */
  end(): SseEndState {
    const state: SseEndState = {
      discardedEvent: this.eventHasFields || this.hasPartial,
      discardedBytes: this.eventSize + this.partialLen,
      partialLine: this.hasPartial,
    }
    // Discard the pending data; the last event ID buffer goes back to the dispatched value.
    const keepRetry = this.retryMs
    this.reset()
    this.retryMs = keepRetry
    return state
  }

  private appendPartial(src: Uint8Array, from: number, to: number): void {
    const add = to - from
    const need = this.partialLen + add
    this.hasPartial = true
    if (need > this.maxLine) {
      this.lineTooLong(need, false)
      return
    }
    if (add === 0) return
    if (need > this.partial.length) {
      const grown = new Uint8Array(Math.min(this.maxLine, Math.max(need, this.partial.length * 2, 256)))
      grown.set(this.partial.subarray(0, this.partialLen))
      this.partial = grown
    }
    this.partial.set(src.subarray(from, to), this.partialLen)
    this.partialLen = need
  }

  private lineTooLong(bytes: number, complete: boolean): void {
    this.failed = true
    this.partialLen = 0
    this.hasPartial = false
    this.partial = new Uint8Array(0)
    this.sink.error(
      'WT_SSE_LINE_TOO_LONG',
      complete
        ? `an SSE line of ${bytes} bytes exceeds maxSseLineBytes (${this.maxLine})`
        : `an SSE line reached ${bytes} bytes without a line end, over maxSseLineBytes (${this.maxLine})`,
      { limit: this.maxLine, bytes, complete, limitName: 'maxSseLineBytes' },
    )
  }

  /** Process one complete line b[s, e) (line end excluded). */
  private line(b: Uint8Array, s: number, e: number): void {
    if (this.atStreamStart) {
      this.atStreamStart = false
      if (e - s >= 3 && b[s] === 0xef && b[s + 1] === 0xbb && b[s + 2] === 0xbf) {
        s += 3
        this.eventSize += 3
      }
    }
    const n = e - s
    this.eventSize += n
    if (n === 0) return this.dispatch()
    const c0 = b[s]!
    if (c0 === COLON) {
      if (this.sink.comment) this.sink.comment(this.decode(b, s + 1, e))
      return
    }
    // Field name: bytes before the first colon.
    let colon = -1
    for (let i = s + 1; i < e; i++) {
      if (b[i] === COLON) {
        colon = i
        break
      }
    }
    const nameEnd = colon === -1 ? e : colon
    let vs = colon === -1 ? e : colon + 1
    if (vs < e && b[vs] === SPACE) vs++
    const nameLen = nameEnd - s
    this.eventHasFields = true
    if (nameLen === 4) {
      // data
      if (c0 === 100 && b[s + 1] === 97 && b[s + 2] === 116 && b[s + 3] === 97) {
        const add = e - vs + 1
        if (this.dataBytes + add > this.maxEvent) {
          this.failed = true
          this.sink.error(
            'WT_SSE_EVENT_TOO_LARGE',
            `an SSE event's data exceeds maxSseEventBytes (${this.maxEvent}) bytes`,
            { limit: this.maxEvent, bytes: this.dataBytes + add, limitName: 'maxSseEventBytes' },
          )
          return
        }
        this.dataBytes += add
        const v = this.decode(b, vs, e)
        if (this.dataLines === 0) {
          this.data = v
          this.dataSrc = b === this.partial ? null : b
          this.dataAt = vs
          this.dataEnd = e
        } else {
          this.data += '\n' + v
          this.dataSrc = null
        }
        this.dataLines++
      }
    } else if (nameLen === 5) {
      if (c0 === 101 && b[s + 1] === 118 && b[s + 2] === 101 && b[s + 3] === 110 && b[s + 4] === 116) {
        // event
        this.typeBuffer = this.decode(b, vs, e)
      } else if (c0 === 114 && b[s + 1] === 101 && b[s + 2] === 116 && b[s + 3] === 114 && b[s + 4] === 121) {
        // retry: one or more ASCII digits, nothing else
        if (vs === e) return
        let v = 0
        for (let i = vs; i < e; i++) {
          const d = b[i]! - 48
          if (d < 0 || d > 9) return
          v = v * 10 + d
        }
        if (!Number.isSafeInteger(v)) v = Number.MAX_SAFE_INTEGER
        this.retryMs = v
        this.eventRetry = v
        if (this.sink.retry) this.sink.retry(v)
      }
    } else if (nameLen === 2) {
      if (c0 === 105 && b[s + 1] === 100) {
        // id: ignored when it contains NUL (the only UTF-8 encoding of U+0000 is the byte 0)
        for (let i = vs; i < e; i++) if (b[i] === 0) return
        const v = this.decode(b, vs, e)
        this.idBuffer = v
        this.eventId = v
      }
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer
    const size = this.eventSize
    const id = this.eventId
    const retry = this.eventRetry
    const type = this.typeBuffer
    this.eventSize = 0
    this.eventId = undefined
    this.eventRetry = undefined
    this.eventHasFields = false
    this.typeBuffer = ''
    if (this.dataLines === 0) return
    const data = this.data
    this.data = ''
    this.dataLines = 0
    this.dataBytes = 0
    this.eventCount++
    this.sink.event(id, type === '' ? 'message' : type, data, this.lastEventId, retry, size)
  }
}
