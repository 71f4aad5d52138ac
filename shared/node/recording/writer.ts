/**
 * Append-only, crash-safe recording writer. Events are encoded as JSON lines into a byte
 * arena and written with one synchronous write when the arena fills, or at the end of the
 * current event-loop turn (setImmediate) otherwise, so a SIGKILL loses at most the events
 * of the turn in progress and never corrupts earlier lines (each write ends on a line
 * boundary). fdatasync runs in the background at most once a second for power-loss safety.
 *
 * WebSocket messages, the one event that can arrive a million times a second, have a
 * hand-written encoder that produces exactly what JSON.stringify would (same keys, same
 * order, same number formatting) without building an intermediate string per event.
 *
 * A sparse index (the byte offset of every 1024th event) lets the live view read old ranges
 * back without scanning the file.
 */
import fs from 'node:fs'
import type { WiretraceEvent, WsMessageEvent } from '../../common/events/index.ts'
import type { RecordingHeader } from '../../common/recording/format.ts'
import { WiretraceError } from '../../common/errors/index.ts'

export const INDEX_STRIDE = 1024

export interface WriterOptions {
  /** Arena size: bytes buffered before a synchronous write (default 256 KiB). */
  flushBytes?: number
  /** Background fdatasync interval, ms (0 = never). */
  syncIntervalMs?: number
  /** Called once if a write fails; the writer stops writing (the live view keeps going). */
  onError?: (err: WiretraceError) => void
}

/** Characters JSON must escape in a string: quote, backslash, controls; and lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))
const K_SEQ = bytes('{"seq":')
const K_TS = bytes(',"ts":')
const K_IN = bytes('in","opcode":')
const K_OUT = bytes('out","opcode":')
const K_SIZE = bytes(',"size":')
const K_TEXT = bytes(',"text":"')
const K_BASE64 = bytes(',"base64":"')
const K_TRUNCATED = bytes(',"truncated":true')
const K_WIRE = bytes(',"wireSize":')
const K_FRAMES = bytes(',"frames":')
const K_COMP_T = bytes(',"compressed":true')
const K_COMP_F = bytes(',"compressed":false')

const digits = new Uint8Array(24)
/** Non-negative integer below 2^53 as decimal digits. */
function putUint(a: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    a[p] = 48 + n
    return p + 1
  }
  let d = 0
  while (n > 0) {
    const q = Math.floor(n / 10)
    digits[d++] = 48 + (n - q * 10)
    n = q
  }
  while (d > 0) a[p++] = digits[--d]!
  return p
}


export class RecordingWriter {
  readonly path: string
  private fd: number
  private arena: Buffer
  private pos = 0
  private scheduled = false
  private closed = false
  private failed = false
  private written = 0
  private lastSync = 0
  private syncing = false
  private readonly syncIntervalMs: number
  private readonly onError?: (err: WiretraceError) => void
  /** Byte offset of event seq = i * INDEX_STRIDE. */
  readonly index: number[] = []
  count = 0
  private lastConn = ''
  private connBytes: Buffer = Buffer.alloc(0)
  private readonly flushSoon = (): void => {
    this.scheduled = false
    this.flush()
  }

  /** `path` "-" writes to standard output (fd 1). */
  constructor(path: string, header: RecordingHeader, opts: WriterOptions = {}) {
    this.path = path
    this.arena = Buffer.allocUnsafe(Math.max(64 * 1024, opts.flushBytes ?? 256 * 1024))
    this.syncIntervalMs = opts.syncIntervalMs ?? 1000
    this.onError = opts.onError
    try {
      this.fd = path === '-' ? 1 : fs.openSync(path, 'w')
    } catch (e) {
      throw new WiretraceError('WT_RECORDING_WRITE', `cannot create recording ${path}: ${(e as Error).message}`, { path })
    }
    this.appendString(JSON.stringify(header) + '\n')
    this.flush()
  }

  /**
   * Appends one event. Events must arrive in seq order starting at 0. For ws.message events
   * the transport may pass the payload's wire bytes (`raw`): they are copied to the file as
   * they are when they need no JSON escaping.
   */
  write(ev: WiretraceEvent, raw?: Buffer): void {
    if (this.closed) return
    if ((this.count & (INDEX_STRIDE - 1)) === 0) this.index.push(this.written + this.pos)
    this.count++
    if (ev.type === 'ws.message') this.encodeMessage(ev, raw)
    else this.appendString(JSON.stringify(ev) + '\n')
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushSoon)
    }
  }

  private appendString(s: string): void {
    const max = s.length * 3
    if (this.pos + max > this.arena.length) {
      this.flush()
      if (max > this.arena.length) {
        this.writeOut(Buffer.from(s, 'utf8'))
        return
      }
    }
    this.pos += this.arena.write(s, this.pos, 'utf8')
  }

  /** Same JSON as JSON.stringify(ev) + '\n' (keys in the transport's order) for a ws.message event. */
  private encodeMessage(ev: WsMessageEvent, raw?: Buffer): void {
    const isText = ev.text !== undefined
    const payload = isText ? ev.text! : (ev.base64 ?? '')
    const conn = ev.conn
    if (conn !== this.lastConn) {
      if (conn.length > 64 || NEEDS_ESCAPE.test(conn)) return this.appendString(JSON.stringify(ev) + '\n')
      this.lastConn = conn
      this.connBytes = Buffer.from(`,"conn":"${conn}","type":"ws.message","dir":"`, 'latin1')
    }
    // Fields this encoder does not know (an export's `redacted`) take the general path.
    if (ev.redacted !== undefined) return this.appendString(JSON.stringify(ev) + '\n')
    // Text: copy the wire bytes when they need no escaping (checked on the bytes), else let JSON do it.
    let direct = false
    if (isText) {
      if (raw !== undefined && raw.length === ev.size) {
        direct = true
        for (let i = 0; i < raw.length; i++) {
          const b = raw[i]!
          if (b < 0x20 || b === 0x22 || b === 0x5c) {
            direct = false
            break
          }
        }
      }
      if (!direct && NEEDS_ESCAPE.test(payload)) return this.appendString(JSON.stringify(ev) + '\n')
    }
    const need = 256 + (direct ? raw!.length : payload.length * 3)
    if (this.pos + need > this.arena.length) {
      this.flush()
      if (need > this.arena.length) return this.appendString(JSON.stringify(ev) + '\n')
    }
    const a = this.arena
    let p = this.pos
    a.set(K_SEQ, p)
    p = putUint(a, p + K_SEQ.length, ev.seq)
    a.set(K_TS, p)
    p = this.putTs(a, p + K_TS.length, ev.ts)
    a.set(this.connBytes, p)
    p += this.connBytes.length
    const kDir = ev.dir === 'in' ? K_IN : K_OUT
    a.set(kDir, p)
    p += kDir.length
    a[p++] = 48 + ev.opcode
    a.set(K_SIZE, p)
    p = putUint(a, p + K_SIZE.length, ev.size)
    const kPayload = isText ? K_TEXT : K_BASE64
    a.set(kPayload, p)
    p += kPayload.length
    if (direct) {
      a.set(raw!, p)
      p += raw!.length
    } else p += a.write(payload, p, isText ? 'utf8' : 'latin1')
    a[p++] = 34 // "
    if (ev.truncated) {
      a.set(K_TRUNCATED, p)
      p += K_TRUNCATED.length
    }
    if (ev.wireSize !== undefined) {
      a.set(K_WIRE, p)
      p = putUint(a, p + K_WIRE.length, ev.wireSize)
    }
    if (ev.frames !== undefined) {
      a.set(K_FRAMES, p)
      p = putUint(a, p + K_FRAMES.length, ev.frames)
    }
    if (ev.compressed !== undefined) {
      const k = ev.compressed ? K_COMP_T : K_COMP_F
      a.set(k, p)
      p += k.length
    }
    a[p++] = 125 // }
    a[p++] = 10
    this.pos = p
  }

  private tsWhole = -1
  private readonly tsBytes = new Uint8Array(24)
  private tsLen = 0
  /** A timestamp (ms with microsecond precision: nowTs() rounds to it) printed as JSON would. The ms part is cached. */
  private putTs(a: Uint8Array, p: number, ts: number): number {
    let whole = Math.floor(ts)
    let frac = Math.round((ts - whole) * 1000)
    if (frac === 1000) {
      whole++
      frac = 0
    }
    if (whole !== this.tsWhole) {
      this.tsWhole = whole
      this.tsLen = putUint(this.tsBytes, 0, whole)
    }
    for (let i = 0; i < this.tsLen; i++) a[p + i] = this.tsBytes[i]!
    p += this.tsLen
    if (frac === 0) return p
    a[p++] = 46 // .
    const d0 = Math.floor(frac / 100)
    const d1 = Math.floor(frac / 10) % 10
    const d2 = frac % 10
    a[p++] = 48 + d0
    if (d1 !== 0 || d2 !== 0) a[p++] = 48 + d1
    if (d2 !== 0) a[p++] = 48 + d2
    return p
  }

  flush(): void {
    if (this.pos === 0 || this.failed) {
      this.pos = 0
      return
    }
    const n = this.pos
    this.pos = 0
    this.writeOut(this.arena.subarray(0, n))
  }

  private writeOut(bytes: Buffer): void {
    if (this.failed) return
    try {
      let off = 0
      while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off)
      this.written += bytes.length
    } catch (e) {
      this.fail(e)
      return
    }
    if (this.syncIntervalMs > 0 && this.fd > 2 && !this.syncing) {
      const t = Date.now()
      if (t - this.lastSync >= this.syncIntervalMs) {
        this.lastSync = t
        this.syncing = true
        fs.fdatasync(this.fd, () => {
          this.syncing = false
        })
      }
    }
  }

  /** Bytes written to the file so far (header included). */
  get bytesWritten(): number {
    return this.written
  }

  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    if (this.fd > 2) {
      try {
        fs.fsyncSync(this.fd)
      } catch {
        /* best effort */
      }
      try {
        fs.closeSync(this.fd)
      } catch {
        /* already closed */
      }
    }
  }

  private fail(e: unknown): void {
    this.failed = true
    const err = new WiretraceError('WT_RECORDING_WRITE', `writing ${this.path} failed: ${(e as Error).message}`, { path: this.path })
    this.onError?.(err)
  }
}
