/**
 * Append-only, crash-safe recording writer.
 *
 * The main thread only copies each event's compact form into a bounded shared ring (8 MiB by
 * default, `ringBytes`): for a WebSocket message its payload bytes and a few numbers, for an
 * SSE event the UTF-8 bytes of its strings and a few numbers, for the rarer other events their
 * JSON line (JSON.stringify on the main thread). A worker thread
 * (writer-worker.mjs, one per process for every writer) encodes the JSON lines, byte-identical
 * to JSON.stringify(ev) + '\n', and appends them with synchronous writes. Records are handed to
 * the worker at the end of the current event-loop turn (setImmediate) or when `flushBytes` of
 * them are waiting, so a SIGKILL loses at most what sits in the ring and the worker's arena
 * (events of the last turns, never earlier lines: each write ends on a line boundary). When the
 * ring is full the main thread waits for the worker (Atomics.wait): no event is ever dropped.
 * fdatasync runs in the background at most once a second for power-loss safety.
 *
 * If the worker cannot start (or for standard output, or with `worker: false`), the in-thread
 * writer below does the same job on the calling thread: WebSocket messages and SSE events have a hand-written
 * encoder that produces exactly what JSON.stringify would (same keys, same order, same number
 * formatting) without building an intermediate string per event. Both encoders assume the key
 * order of the transport that builds the event (ws.ts, sse.ts): an sse.event built with its keys
 * in another order would be written with the same values in the transport's order.
 *
 * A sparse index (the byte offset of every 1024th event) lets the live view read old ranges
 * back without scanning the file; sync() first waits until everything written is on file.
 */
import fs from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import type { H2StreamEvent, HeaderPairs, SseEvent, WiretraceEvent, WsMessageEvent } from '../../common/events/index.ts'
import type { RecordingHeader } from '../../common/recording/format.ts'
import { WiretraceError } from '../../common/errors/index.ts'

export const INDEX_STRIDE = 1024

export interface WriterOptions {
  /**
   * Bytes buffered before they are written (default 256 KiB): the in-thread arena size, or,
   * with the worker, the bytes of records queued in the ring before the worker is woken.
   */
  flushBytes?: number
  /** Background fdatasync interval, ms (0 = never). */
  syncIntervalMs?: number
  /** Called once if a write fails; the writer stops writing (the live view keeps going). */
  onError?: (err: WiretraceError) => void
  /**
   * Encode and write on a worker thread (default true; the environment variable
   * WIRETRACE_RECORDING_WORKER=0 turns it off for the process). Standard output ("-") is
   * always written in-thread.
   */
  worker?: boolean
  /**
   * Size of the ring shared with the writer worker, in bytes (default 8 MiB; rounded up to a
   * power of two, 64 KiB to 1 GiB). One ring serves every writer of the process: the first
   * writer that starts the worker decides its size. When it is full, write() waits.
   */
  ringBytes?: number
  /** Told once per process, in words, if the worker cannot start and writes stay on this thread (default: process.emitWarning). */
  onNotice?: (message: string) => void
}

/** Default size of the ring shared with the writer worker. */
export const DEFAULT_RING_BYTES = 8 * 1024 * 1024

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

const K_ID = bytes(',"id":')
const K_EVENT = bytes(',"event":')
const K_DATA = bytes(',"data":')
const K_RETRY = bytes(',"retry":')
const K_LAST = bytes(',"lastEventId":')

/** A small constant at a[p] (a loop beats TypedArray#set's call at these sizes); returns the end. */
function putK(a: Uint8Array, p: number, k: Uint8Array): number {
  const n = k.length
  for (let i = 0; i < n; i++) a[p + i] = k[i]!
  return p + n
}

/** A string as JSON prints it, at a[p] (room for 6 bytes per UTF-16 unit + 2); returns the end. */
function putJsonString(a: Buffer, p: number, s: string): number {
  const n = s.length
  if (n <= 16) {
    // Short: check and copy in one loop while every character is printable ASCII but " and \.
    let k = 0
    for (; k < n; k++) {
      const c = s.charCodeAt(k)
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break
      a[p + 1 + k] = c
    }
    if (k === n) {
      a[p] = 34
      a[p + 1 + n] = 34
      return p + n + 2
    }
  }
  if (NEEDS_ESCAPE.test(s)) return p + a.write(JSON.stringify(s), p, 'utf8')
  a[p++] = 34 // "
  if (s.length !== 0) p += (a as FastBuffer).utf8Write(s, p)
  a[p++] = 34
  return p
}

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


/**
 * The in-thread writer: encodes and writes on the calling thread. RecordingWriter falls back to
 * it when the worker cannot start, for standard output, and when `worker: false` is asked for.
 */
export class InThreadRecordingWriter {
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
    const t = ev.type
    if (t === 'ws.message') this.encodeMessage(ev, raw)
    else if (t === 'sse.event') this.encodeSse(ev)
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
      this.connBytes = Buffer.from(`,"conn":"${conn}","type":"ws.message","dir":"`, 'utf8')
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

  private lastSseConn = ''
  private sseConnBytes: Buffer = Buffer.alloc(0)
  /**
   * Same JSON as JSON.stringify(ev) + '\n' for an sse.event, keys in the SSE transport's order
   * (seq, ts, conn, type, id?, event, data, retry?, lastEventId, size).
   */
  private encodeSse(ev: SseEvent): void {
    const conn = ev.conn
    if (conn !== this.lastSseConn) {
      if (conn.length > 64 || NEEDS_ESCAPE.test(conn)) return this.appendString(JSON.stringify(ev) + '\n')
      this.lastSseConn = conn
      this.sseConnBytes = Buffer.from(`,"conn":"${conn}","type":"sse.event"`, 'utf8')
    }
    const { id, event, data, retry, lastEventId, size } = ev
    if ((ev as { redacted?: boolean }).redacted !== undefined || !Number.isSafeInteger(size) || size < 0) return this.appendString(JSON.stringify(ev) + '\n')
    // JSON escapes take at most 6 bytes per UTF-16 unit.
    const need = 256 + 6 * ((id === undefined ? 0 : id.length) + event.length + data.length + lastEventId.length)
    if (this.pos + need > this.arena.length) {
      this.flush()
      if (need > this.arena.length) return this.appendString(JSON.stringify(ev) + '\n')
    }
    const a = this.arena
    let p = this.pos
    p = putUint(a, putK(a, p, K_SEQ), ev.seq)
    p = this.putTs(a, putK(a, p, K_TS), ev.ts)
    p = putK(a, p, this.sseConnBytes)
    if (id !== undefined) {
      p = putJsonString(a, putK(a, p, K_ID), id)
    }
    p = putJsonString(a, putK(a, p, K_EVENT), event)
    p = putJsonString(a, putK(a, p, K_DATA), data)
    if (retry !== undefined) {
      p = putK(a, p, K_RETRY)
      p = Number.isSafeInteger(retry) && retry >= 0 ? putUint(a, p, retry) : p + a.write(JSON.stringify(retry), p, 'latin1')
    }
    p = putJsonString(a, putK(a, p, K_LAST), lastEventId)
    p = putUint(a, putK(a, p, K_SIZE), size)
    a[p++] = 125 // }
    a[p++] = 10
    this.pos = p
  }

  private tsWhole = -1
  private readonly tsBytes = new Uint8Array(24)
  private tsLen = 0
  /** A timestamp (ms with microsecond precision: nowTs() rounds to it) printed as JSON would. The ms part is cached. */
  private putTs(a: Buffer, p: number, ts: number): number {
    let whole = Math.floor(ts)
    let frac = Math.round((ts - whole) * 1000)
    // Anything but ms with at most microsecond digits (below 2^53): as JSON prints it.
    if (!(ts >= 0 && ts <= Number.MAX_SAFE_INTEGER) || whole + frac / 1000 !== ts) return p + a.write(JSON.stringify(ts), p, 'latin1')
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

// ---------------------------------------------------------------------------------------------
// The off-thread writer. Ring layout (writer-worker.mjs gets these constants as RING_LAYOUT):
// records start at 8-byte aligned offsets; Int32 0 = kind | opcode << 4 | flags, Int32 1 =
// writer id, Int32 2 = byte length of the data. A message record then holds Float64s seq, ts,
// size, wireSize, frames (bytes 16-55) and its payload bytes from byte 56 (MSG_HEAD) plus a skew
// of 0-7 bytes (flag bits 16-18: the wire bytes' address mod 8, so that the copy into the ring
// is aligned on both sides, which V8 needs to copy into a SharedArrayBuffer by words); the other
// records hold their bytes from byte 16 (RAW_HEAD). A PAD record skips to the end of the ring.
// ---------------------------------------------------------------------------------------------

// Control slots (Int32 indices, one cache line apart).
const C_HEAD = 0
const C_TAIL = 16
const C_WSLEEP = 32
const C_MWAIT = 48
const C_READY = 80
const C_DEAD = 96
const CTL_BYTES = 512
// Record kinds and flags.
const K_PAD = 1
const K_MSG = 2
const K_RAW = 3
const K_CONN = 4
const K_CLOSE = 5
const K_SSE = 6
const K_SRC = 7
const K_H2 = 8
const K_H2HDR = 9
const F_START = 1 << 8
const F_IN = 1 << 9
const F_TEXT = 1 << 10
const F_TRUNC = 1 << 11
const F_WIRE = 1 << 12
const F_FRAMES = 1 << 13
const F_HASCOMP = 1 << 14
const F_COMP = 1 << 15
const SKEW_SHIFT = 16
const MSG_HEAD = 56
const RAW_HEAD = 16
// An sse.event record: Float64s seq, ts, size, retry (bytes 16-47), Int32 byte lengths of id,
// event, data, lastEventId (bytes 48-63), Int32 offset of the data in the writer's source copy
// (bytes 64-67, with F_DATA_REF), then the strings' UTF-8 bytes from byte 72 (SSE_HEAD), each
// starting 4-byte aligned. A K_CONN record with sub-kind 1 (bits 4-7) carries the
// `,"conn":"…","type":"sse.event"` prefix. A K_SRC record carries wire bytes (the rest of a
// chunk, from the first data line taken from it): the worker keeps a copy per writer, and the
// records that follow with F_DATA_REF take their data from it instead of carrying it.
const SSE_HEAD = 72
const F_ID = 1 << 8
const F_MESSAGE = 1 << 9 // event is "message": no bytes
const F_LAST_IS_ID = 1 << 10 // lastEventId equals id: no bytes
const F_RETRY = 1 << 11
const F_DATA_REF = 1 << 12 // the data is in the source copy: no bytes
const CONN_SSE = 1 << 4
const CONN_H2 = 2 << 4
// An h2.stream record (headers-sent without headers, response, data, end): Float64s seq, ts,
// streamId, and status (response) or size (data) at bytes 16-47; Int32 phase, the number of
// sizes and of times (bytes 48-59); then the sizes and the times as Float64s from byte 64
// (H2_HEAD). A response prints the writer's current response headers JSON, which a K_H2HDR
// record sets when it changes (the copies of a request mostly get the same headers), and a
// K_CONN record with sub-kind 2 carries the `,"conn":"…","type":"h2.stream"` prefix.
const H2_HEAD = 64
const H2_SENT = 0
const H2_RESPONSE = 1
const H2_DATA = 2
const H2_END = 3
// Per-writer control: Int32 slots and BigInt64 slots of one small shared buffer.
const W_GEN = 0
const W_STATE = 1 // 0 open, 1 closed, 2 failed
const W64_WRITTEN = 1
const W64_EVENTS = 2
const WCTL_BYTES = 64
/**
 * The worker, caught up, naps this long at a time (C_WSLEEP 1: publishers do not wake it) up to
 * WORKER_NAPS times before it sleeps until woken (C_WSLEEP 2). A steady stream is picked up
 * within a nap without a wake-up per event-loop turn; an idle writer costs nothing.
 */
const WORKER_NAP_MS = 4
const WORKER_NAPS = 25
/** Everything the worker must agree on, handed to it in workerData: defined here only. */
const RING_LAYOUT = {
  C_HEAD, C_TAIL, C_WSLEEP, C_MWAIT, C_READY, C_DEAD,
  K_PAD, K_MSG, K_RAW, K_CONN, K_CLOSE, K_SSE, K_SRC,
  F_START, F_IN, F_TEXT, F_TRUNC, F_WIRE, F_FRAMES, F_HASCOMP, F_COMP, SKEW_SHIFT,
  MSG_HEAD, RAW_HEAD, SSE_HEAD, F_ID, F_MESSAGE, F_LAST_IS_ID, F_RETRY, F_DATA_REF, CONN_SSE,
  K_H2, K_H2HDR, CONN_H2, H2_HEAD, H2_SENT, H2_RESPONSE, H2_DATA, H2_END,
  W_GEN, W_STATE, W64_WRITTEN, W64_EVENTS, INDEX_STRIDE, WORKER_NAP_MS, WORKER_NAPS,
} as const
/** Starts the worker module; a failure to load it is told at once (C_READY = 2, the reason on the port). */
const BOOTSTRAP = `const { workerData } = require('node:worker_threads')
const ctl = new Int32Array(workerData.ctl)
import(workerData.url).catch((e) => {
  workerData.port.postMessage({ error: String(e && e.message || e) })
  Atomics.store(ctl, ${C_READY}, 2)
  Atomics.notify(ctl, ${C_READY})
})`
/** How long the first writer waits for the worker to start before writing in-thread. */
const READY_TIMEOUT_MS = 5000

interface Ring {
  readonly worker: Worker
  readonly port: MessagePort
  readonly cap: number
  readonly mask: number
  /** Largest record: bigger lines go in pieces. */
  readonly maxRecord: number
  readonly u8: Buffer
  readonly i32: Int32Array
  readonly f64: Float64Array
  readonly ctl: Int32Array
  /** Main-thread positions, unsigned 32-bit, wrapping (the ring size divides 2^32). */
  head: number
  tailSeen: number
  published: number
  scheduled: boolean
  dead: string | null
  lastSweep: number
  nextId: number
  readonly writers: Map<number, RecordingWriter>
}

let ring: Ring | null = null
/** Why the worker could not start (then every writer stays in-thread); told once. */
let ringFailure: string | null = null
let noticeGiven = false

const align8 = (n: number): number => (n + 7) & ~7
/** Buffer's UTF-8 write without the encoding switch of Buffer#write (present in Node and Electron). */
type FastBuffer = Buffer & { utf8Write(s: string, offset: number): number }
/** A short string's UTF-8 at a[p] (a loop beats the native call below ~16 characters); returns the byte length. */
function putShort(a: FastBuffer, s: string, p: number): number {
  const n = s.length
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k)
    if (c >= 0x80) return a.utf8Write(s, p)
    a[p + k] = c
  }
  return n
}
/** Header pairs with the same content (the response headers of a request's copies mostly are). */
function samePairs(a: HeaderPairs, b: HeaderPairs | null): boolean {
  if (b === null || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x[0] !== y[0] || x[1] !== y[1] || x.length !== 2 || y.length !== 2) return false
  }
  return true
}
/** No lone surrogate (ES2024 String#isWellFormed; the lib here is ES2023). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed()

/** Whether recordings are written by the worker (`running`), and why not if it could not start or stopped. */
export function recordingWorkerStatus(): { running: boolean; ringBytes: number; failure: string | null } {
  return { running: ring !== null && ring.dead === null, ringBytes: ring?.cap ?? 0, failure: ring?.dead ?? ringFailure }
}

function startRing(bytes: number): Ring | string {
  let worker: Worker | null = null
  try {
    let url = new URL('./writer-worker.mjs', import.meta.url)
    // In a packaged app the worker is unpacked beside the asar archive (electron-builder asarUnpack).
    if (url.protocol === 'file:' && /app\.asar[\\/]/.test(fileURLToPath(url))) {
      const unpacked = fileURLToPath(url).replace(/app\.asar([\\/])/, 'app.asar.unpacked$1')
      if (fs.existsSync(unpacked)) url = pathToFileURL(unpacked)
    }
    if (url.protocol === 'file:' && !fs.existsSync(fileURLToPath(url))) return `${fileURLToPath(url)} is missing`
    let cap = 64 * 1024
    while (cap < bytes && cap < 1024 * 1024 * 1024) cap *= 2
    const sab = new SharedArrayBuffer(cap)
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_BYTES))
    const { port1, port2 } = new MessageChannel()
    // A tiny bootstrap imports the worker module and reports a failure to load it at once
    // (C_READY = 2) instead of leaving us to wait out the timeout. No loader flags: the worker
    // is plain JavaScript and starts faster without them.
    worker = new Worker(BOOTSTRAP, { eval: true, workerData: { url: url.href, ring: sab, ctl: ctl.buffer, port: port2, layout: RING_LAYOUT }, transferList: [port2], execArgv: [] })
    const deadline = Date.now() + READY_TIMEOUT_MS
    let state = Atomics.load(ctl, C_READY)
    while (state === 0) {
      const left = deadline - Date.now()
      if (left <= 0) {
        void worker.terminate()
        return `it did not start within ${READY_TIMEOUT_MS} ms`
      }
      Atomics.wait(ctl, C_READY, 0, Math.min(left, 50))
      state = Atomics.load(ctl, C_READY)
    }
    if (state !== 1) {
      const m = receiveMessageOnPort(port1)?.message as { error?: string } | undefined
      void worker.terminate()
      return `it failed to load: ${m?.error ?? 'unknown error'}`
    }
    worker.unref()
    const r: Ring = {
      worker,
      port: port1,
      cap,
      mask: cap - 1,
      maxRecord: cap / 4,
      u8: Buffer.from(sab),
      i32: new Int32Array(sab),
      f64: new Float64Array(sab),
      ctl,
      head: 0,
      tailSeen: 0,
      published: 0,
      scheduled: false,
      dead: null,
      lastSweep: 0,
      nextId: 1,
      writers: new Map(),
    }
    const die = (why: string): void => {
      if (r.dead) return
      r.dead = why
      for (const w of r.writers.values()) w.workerFailed(`the writer worker stopped: ${why}`)
    }
    worker.on('error', (e) => die(e.message))
    worker.on('exit', (code) => die(`exit code ${code}`))
    port1.on('message', (m: WorkerMessage) => route(r, m))
    port1.unref()
    return r
  } catch (e) {
    if (worker) void worker.terminate()
    return (e as Error).message
  }
}

interface WorkerMessage {
  id: number
  index?: number[]
  error?: string
}

function route(r: Ring, m: WorkerMessage): void {
  const w = r.writers.get(m.id)
  if (!w) return
  if (m.index) w.addIndex(m.index)
  if (m.error !== undefined) w.workerFailed(m.error)
}

/** Takes what the worker posted (index entries, errors) without waiting for the event loop. */
function drainPort(r: Ring): void {
  for (let m = receiveMessageOnPort(r.port); m !== undefined; m = receiveMessageOnPort(r.port)) route(r, m.message as WorkerMessage)
}

/** Hands every record written so far to the worker, waking it if it sleeps. */
/**
 * Hands the records written so far to the worker. A worker napping between records (C_WSLEEP 1,
 * at most WORKER_NAP_MS) is not woken: it looks again on its own, so a steady stream costs no
 * wake-up per event-loop turn (a futex wake measured 0.2-0.4 ms of main-thread time here, once
 * per socket read). A worker asleep for good (2) is woken; `urgent` wakes a napping one too,
 * for callers that wait for the worker next (sync, close, a full ring).
 */
function publish(r: Ring, urgent = false): void {
  Atomics.store(r.ctl, C_HEAD, r.head | 0)
  r.published = r.head
  const sleep = Atomics.load(r.ctl, C_WSLEEP)
  if (sleep === 2 || (urgent && sleep !== 0)) Atomics.notify(r.ctl, C_HEAD)
}

function publishSoon(): void {
  const r = ring
  if (!r) return
  r.scheduled = false
  publish(r)
  // Background fdatasync, at most once a second per recording (checked at most 4 times a second).
  const t = Date.now()
  if (t - r.lastSweep >= 250) {
    r.lastSweep = t
    for (const w of r.writers.values()) w.maybeSync(t)
  }
}

/**
 * Contiguous room for `need` bytes (a multiple of 8, at most maxRecord); returns the offset, or
 * -1 if the worker died. Waits while the ring is full: events are never dropped.
 */
function reserve(r: Ring, need: number): number {
  let off = r.head & r.mask
  const toEnd = r.cap - off
  const total = need > toEnd ? toEnd + need : need
  if (r.cap - ((r.head - r.tailSeen) >>> 0) < total) {
    r.tailSeen = Atomics.load(r.ctl, C_TAIL) >>> 0
    if (r.cap - ((r.head - r.tailSeen) >>> 0) < total && !waitRoom(r, total)) return -1
  }
  if (need > toEnd) {
    r.i32[off >> 2] = K_PAD
    r.head = (r.head + toEnd) >>> 0
    off = 0
  }
  return off
}

function waitRoom(r: Ring, total: number): boolean {
  publish(r, true)
  // Wait for a quarter of the ring (the worker wakes us then), not for one record: fewer wake-ups.
  const want = Math.max(total, r.cap >>> 2)
  Atomics.store(r.ctl, C_MWAIT, 1)
  try {
    while (r.cap - ((r.head - r.tailSeen) >>> 0) < want) {
      if (r.dead !== null || Atomics.load(r.ctl, C_DEAD) !== 0) return false
      Atomics.wait(r.ctl, C_TAIL, r.tailSeen | 0, 200)
      r.tailSeen = Atomics.load(r.ctl, C_TAIL) >>> 0
    }
    return true
  } finally {
    Atomics.store(r.ctl, C_MWAIT, 0)
  }
}

/**
 * Records events to a JSON Lines file: see the top of this file. `path` "-" writes to standard
 * output (fd 1), in-thread.
 */
export class RecordingWriter {
  readonly path: string
  /** Events written so far. */
  count = 0
  /** Set when the worker is not used. */
  private readonly inner: InThreadRecordingWriter | null = null
  private readonly r: Ring | null = null
  private readonly id: number = 0
  private readonly fd: number = -1
  private readonly wctl: Int32Array = new Int32Array(0)
  private readonly w64: BigInt64Array = new BigInt64Array(0)
  private readonly idx: number[] = []
  private readonly flushBytes: number
  private readonly syncIntervalMs: number
  private readonly onError?: (err: WiretraceError) => void
  private lastConn = ''
  private lastSseConn = ''
  private lastH2Conn = ''
  /** The response headers the worker prints for the next K_H2 response (content compared). */
  private h2Headers: HeaderPairs | null = null
  /** The chunk the worker holds a copy of (from byte srcAt), for F_DATA_REF records. */
  private src: Buffer | null = null
  private srcAt = 0
  private closed = false
  private failed = false
  private lastSync = 0
  private syncedBytes = 0
  private syncing = false

  constructor(path: string, header: RecordingHeader, opts: WriterOptions = {}) {
    this.path = path
    this.flushBytes = Math.max(16 * 1024, opts.flushBytes ?? 256 * 1024)
    this.syncIntervalMs = opts.syncIntervalMs ?? 1000
    this.onError = opts.onError
    let r: Ring | null = null
    if (opts.worker !== false && path !== '-' && process.env.WIRETRACE_RECORDING_WORKER !== '0') {
      if (!ring && ringFailure === null) {
        const got = startRing(opts.ringBytes ?? DEFAULT_RING_BYTES)
        if (typeof got === 'string') ringFailure = got
        else ring = got
      }
      r = ring && ring.dead === null ? ring : null
      if (!r && !noticeGiven) {
        noticeGiven = true
        const msg = `recordings are encoded on the main thread (slower): the writer worker is unavailable (${ring?.dead ?? ringFailure})`
        if (opts.onNotice) opts.onNotice(msg)
        else process.emitWarning(msg, { code: 'WT_RECORDING_WORKER' })
      }
    }
    if (!r) {
      this.inner = new InThreadRecordingWriter(path, header, opts)
      return
    }
    try {
      this.fd = fs.openSync(path, 'w')
    } catch (e) {
      throw new WiretraceError('WT_RECORDING_WRITE', `cannot create recording ${path}: ${(e as Error).message}`, { path })
    }
    this.r = r
    this.id = r.nextId++
    const wsab = new SharedArrayBuffer(WCTL_BYTES)
    this.wctl = new Int32Array(wsab)
    this.w64 = new BigInt64Array(wsab)
    // The header is written here, synchronously: the file is a valid recording from the start.
    const head = Buffer.from(JSON.stringify(header) + '\n', 'utf8')
    let written = 0
    try {
      while (written < head.length) written += fs.writeSync(this.fd, head, written, head.length - written)
    } catch (e) {
      this.fail((e as Error).message)
    }
    Atomics.store(this.w64, W64_WRITTEN, BigInt(written))
    this.syncedBytes = 0
    r.writers.set(this.id, this)
    // Posted before the writer's first record: the worker takes it when it meets the id.
    r.port.postMessage({ op: 'open', id: this.id, fd: this.fd, ctl: wsab, written })
  }

  /** Byte offset of event seq = i * INDEX_STRIDE (up to what the worker has written). */
  get index(): number[] {
    if (this.inner) return this.inner.index
    drainPort(this.r!)
    return this.idx
  }

  /** Bytes written to the file so far (header included). */
  get bytesWritten(): number {
    if (this.inner) return this.inner.bytesWritten
    return Number(Atomics.load(this.w64, W64_WRITTEN))
  }

  /**
   * Appends one event. Events must arrive in seq order starting at 0. For ws.message events
   * the transport may pass the payload's wire bytes (`raw`): the payload is copied from them
   * (they must be the bytes `text` was decoded from, or whose base64 is `base64`). For
   * sse.event, `raw` may be the chunk the data line came from, with `data` the UTF-8 decoding
   * of raw[rawAt, rawEnd); the chunk must not change afterwards.
   */
  write(ev: WiretraceEvent, raw?: Buffer, rawAt = 0, rawEnd = 0): void {
    const inner = this.inner
    if (inner !== null) {
      inner.write(ev, raw)
      this.count = inner.count
      return
    }
    if (this.closed) return
    this.count++
    if (this.failed) return
    const t = ev.type
    if (t === 'ws.message') this.putMessage(ev, raw)
    else if (t === 'sse.event') this.putSse(ev, raw, rawAt, rawEnd)
    else if (t === 'h2.stream') this.putH2(ev)
    else this.putLine(JSON.stringify(ev) + '\n')
    const r = this.r!
    if (!r.scheduled) {
      r.scheduled = true
      setImmediate(publishSoon)
    }
  }

  /** A ws.message as a compact record; anything unusual takes the JSON path. */
  private putMessage(ev: WsMessageEvent, raw: Buffer | undefined): void {
    const r = this.r!
    const conn = ev.conn
    if (conn !== this.lastConn) {
      if (conn.length > 64 || NEEDS_ESCAPE.test(conn)) return this.putLine(JSON.stringify(ev) + '\n')
      this.lastConn = conn
      this.putBytes(K_CONN, Buffer.from(`,"conn":"${conn}","type":"ws.message","dir":"`, 'utf8'))
    }
    const opcode = ev.opcode
    if (ev.redacted !== undefined || (opcode !== 1 && opcode !== 2) || (ev.truncated !== undefined && ev.truncated !== true)) return this.putLine(JSON.stringify(ev) + '\n')
    let flags = K_MSG | (opcode << 4) | F_START | (ev.dir === 'in' ? F_IN : 0)
    const text = ev.text
    let len: number
    let str: string | undefined
    if (text !== undefined) {
      flags |= F_TEXT
      if (raw !== undefined && raw.length === ev.size) len = raw.length
      else {
        // No wire bytes: the text's UTF-8, if JSON prints it as it is.
        if (NEEDS_ESCAPE.test(text)) return this.putLine(JSON.stringify(ev) + '\n')
        raw = undefined
        str = text
        len = text.length * 3
      }
    } else {
      const b64 = ev.base64
      if (b64 === undefined) return this.putLine(JSON.stringify(ev) + '\n')
      raw = undefined
      str = b64
      len = b64.length
    }
    // Wire bytes land at the same address mod 8 as they come from (see SKEW_SHIFT).
    const skew = raw !== undefined ? raw.byteOffset & 7 : 0
    const room = align8(MSG_HEAD + skew + len)
    if (room > r.maxRecord) return this.putLine(JSON.stringify(ev) + '\n')
    const o = reserve(r, room)
    if (o < 0) return this.fail(r.dead ?? 'the writer worker stopped')
    if (raw !== undefined) {
      r.u8.set(raw, o + MSG_HEAD + skew)
      flags |= skew << SKEW_SHIFT
    } else len = r.u8.write(str!, o + MSG_HEAD, flags & F_TEXT ? 'utf8' : 'latin1')
    const f = o >> 3
    const f64 = r.f64
    f64[f + 2] = ev.seq
    f64[f + 3] = ev.ts
    f64[f + 4] = ev.size
    if (ev.truncated) flags |= F_TRUNC
    if (ev.wireSize !== undefined) {
      flags |= F_WIRE
      f64[f + 5] = ev.wireSize
    }
    if (ev.frames !== undefined) {
      flags |= F_FRAMES
      f64[f + 6] = ev.frames
    }
    if (ev.compressed !== undefined) flags |= ev.compressed ? F_HASCOMP | F_COMP : F_HASCOMP
    const i = o >> 2
    r.i32[i] = flags
    r.i32[i + 1] = this.id
    r.i32[i + 2] = len
    this.commit(r, align8(MSG_HEAD + skew + len))
  }

  /**
   * An sse.event as a compact record: numbers plus the UTF-8 bytes of its strings. The worker
   * prints the keys in the SSE transport's order (seq, ts, conn, type, id?, event, data, retry?,
   * lastEventId, size); anything unusual takes the JSON path.
   */
  private putSse(ev: SseEvent, src: Buffer | undefined, at: number, end: number): void {
    const r = this.r!
    const conn = ev.conn
    if (conn !== this.lastSseConn) {
      if (conn.length > 64 || NEEDS_ESCAPE.test(conn)) return this.putLine(JSON.stringify(ev) + '\n')
      this.lastSseConn = conn
      this.putBytes(K_CONN | CONN_SSE, Buffer.from(`,"conn":"${conn}","type":"sse.event"`, 'utf8'))
    }
    if ((ev as { redacted?: boolean }).redacted !== undefined) return this.putLine(JSON.stringify(ev) + '\n')
    const id = ev.id
    const event = ev.event
    const data = ev.data
    const last = ev.lastEventId
    let flags = K_SSE
    let max = data.length
    // Data of more than a few bytes comes from the chunk's wire bytes when the transport gave
    // them: the chunk goes to the worker once (the rest of it, from this data line), each
    // event then carries only where its data is (no encoding here, ~60 ns less per event).
    let ref = -1
    if (src !== undefined && end - at > 16) {
      if (src !== this.src || at < this.srcAt) {
        // From an 8-byte aligned address, as the ring record is: V8 copies into a
        // SharedArrayBuffer word by word only when both sides are aligned (27 GB/s here), byte
        // by byte otherwise (3.5 GB/s; it was most of this path's cost).
        let from = at - ((src.byteOffset + at) & 7)
        if (from < 0) from = at
        if (RAW_HEAD + src.length - from <= r.maxRecord) {
          this.putBytes(K_SRC, src.subarray(from))
          this.src = src
          this.srcAt = from
          ref = at - from
        }
      } else ref = at - this.srcAt
      if (ref >= 0) {
        flags |= F_DATA_REF
        max = 0
      }
    }
    if (id !== undefined) {
      flags |= F_ID
      max += id.length
    }
    if (event === 'message') flags |= F_MESSAGE
    else max += event.length
    if (last === id) flags |= F_LAST_IS_ID
    else max += last.length
    // UTF-8 takes at most 3 bytes per UTF-16 unit; each string may be padded by 3 for alignment.
    const need = align8(SSE_HEAD + 3 * max + 12)
    if (need > r.maxRecord) return this.putLine(JSON.stringify(ev) + '\n')
    const o = reserve(r, need)
    if (o < 0) return this.fail(r.dead ?? 'the writer worker stopped')
    const u8 = r.u8 as FastBuffer
    const i32 = r.i32
    const i = o >> 2
    let p = o + SSE_HEAD
    let n = 0
    let ascii = true
    if (id !== undefined) {
      n = id.length <= 16 ? putShort(u8, id, p) : u8.utf8Write(id, p)
      if (n !== id.length) ascii = false
      i32[i + 12] = n
      p = (p + n + 3) & ~3
    }
    if (event !== 'message') {
      n = event.length <= 16 ? putShort(u8, event, p) : u8.utf8Write(event, p)
      if (n !== event.length) ascii = false
      i32[i + 13] = n
      p = (p + n + 3) & ~3
    }
    if (ref >= 0) {
      i32[i + 14] = end - at
      i32[i + 16] = ref
    } else {
      n = data.length <= 16 ? putShort(u8, data, p) : u8.utf8Write(data, p)
      if (n !== data.length) ascii = false
      i32[i + 14] = n
      p = (p + n + 3) & ~3
    }
    if (last !== id) {
      n = last.length <= 16 ? putShort(u8, last, p) : u8.utf8Write(last, p)
      if (n !== last.length) ascii = false
      i32[i + 15] = n
      p += n
    }
    // A string with a non-ASCII character: JSON escapes lone surrogates, UTF-8 would not keep them.
    if (!ascii && !((id === undefined || wellFormed(id)) && wellFormed(event) && wellFormed(data) && wellFormed(last))) {
      return this.putLine(JSON.stringify(ev) + '\n')
    }
    const f = o >> 3
    const f64 = r.f64
    f64[f + 2] = ev.seq
    f64[f + 3] = ev.ts
    f64[f + 4] = ev.size
    const retry = ev.retry
    if (retry !== undefined) {
      flags |= F_RETRY
      f64[f + 5] = retry
    }
    i32[i] = flags
    i32[i + 1] = this.id
    i32[i + 2] = p - o - SSE_HEAD
    this.commit(r, align8(p - o))
  }

  /**
   * An h2.stream event of the four kinds every stream has (20,000 small streams are 80,000 of
   * them) as a compact record: numbers, no JSON on this thread. The worker prints the keys in
   * the HTTP/2 transport's order (seq, ts, conn, type, streamId, phase, then status and
   * headers, or size, sizes?, times); anything else takes the JSON path.
   */
  private putH2(ev: H2StreamEvent): void {
    const r = this.r!
    const conn = ev.conn
    if (conn !== this.lastH2Conn) {
      if (conn.length > 64 || NEEDS_ESCAPE.test(conn)) return this.putLine(JSON.stringify(ev) + '\n')
      this.lastH2Conn = conn
      this.putBytes(K_CONN | CONN_H2, Buffer.from(`,"conn":"${conn}","type":"h2.stream"`, 'utf8'))
    }
    const phase = ev.phase
    let code: number
    let num = 0
    let sizes: number[] | undefined
    let times: number[] | undefined
    if (phase === 'data') {
      times = ev.times
      sizes = ev.sizes
      if (times === undefined || ev.size === undefined || ev.status !== undefined || ev.headers !== undefined || (sizes !== undefined && sizes.length === 0)) return this.putLine(JSON.stringify(ev) + '\n')
      code = H2_DATA
      num = ev.size
    } else if (phase === 'response') {
      const headers = ev.headers
      if (headers === undefined || ev.status === undefined || ev.size !== undefined) return this.putLine(JSON.stringify(ev) + '\n')
      if (!samePairs(headers, this.h2Headers)) {
        const json = Buffer.from(JSON.stringify(headers), 'utf8')
        // Headers bigger than a ring record go with their event as JSON (a record must fit).
        if (RAW_HEAD + json.length > r.maxRecord) return this.putLine(JSON.stringify(ev) + '\n')
        this.h2Headers = headers
        this.putBytes(K_H2HDR, json)
      }
      code = H2_RESPONSE
      num = ev.status
    } else if (phase === 'end' || phase === 'headers-sent') {
      if (ev.headers !== undefined || ev.status !== undefined || ev.size !== undefined) return this.putLine(JSON.stringify(ev) + '\n')
      code = phase === 'end' ? H2_END : H2_SENT
    } else return this.putLine(JSON.stringify(ev) + '\n')
    if (ev.rstCode !== undefined || ev.rstName !== undefined || (ev as { redacted?: boolean }).redacted !== undefined) return this.putLine(JSON.stringify(ev) + '\n')
    const nSizes = sizes === undefined ? 0 : sizes.length
    const nTimes = times === undefined ? 0 : times.length
    const len = 8 * (nSizes + nTimes)
    if (H2_HEAD + len > r.maxRecord) return this.putLine(JSON.stringify(ev) + '\n')
    const o = reserve(r, H2_HEAD + len)
    if (o < 0) return this.fail(r.dead ?? 'the writer worker stopped')
    const f = o >> 3
    const f64 = r.f64
    f64[f + 2] = ev.seq
    f64[f + 3] = ev.ts
    f64[f + 4] = ev.streamId
    f64[f + 5] = num
    let k = f + 8
    for (let j = 0; j < nSizes; j++) f64[k++] = sizes![j]!
    for (let j = 0; j < nTimes; j++) f64[k++] = times![j]!
    const i = o >> 2
    const i32 = r.i32
    i32[i] = K_H2
    i32[i + 1] = this.id
    i32[i + 2] = len
    i32[i + 12] = code
    i32[i + 13] = nSizes
    i32[i + 14] = nTimes
    this.commit(r, H2_HEAD + len)
  }

  /** A line already serialised (every event but ws.message), in pieces if it is big. */
  private putLine(s: string): void {
    const r = this.r!
    const max = s.length * 3
    if (RAW_HEAD + max <= r.maxRecord) {
      const o = reserve(r, align8(RAW_HEAD + max))
      if (o < 0) return this.fail(r.dead ?? 'the writer worker stopped')
      const n = r.u8.write(s, o + RAW_HEAD, 'utf8')
      const i = o >> 2
      r.i32[i] = K_RAW | F_START
      r.i32[i + 1] = this.id
      r.i32[i + 2] = n
      this.commit(r, align8(RAW_HEAD + n))
      return
    }
    const b = Buffer.from(s, 'utf8')
    const piece = r.maxRecord - RAW_HEAD
    for (let at = 0; at < b.length; at += piece) this.putBytes(at === 0 ? K_RAW | F_START : K_RAW, b.subarray(at, Math.min(b.length, at + piece)))
  }

  private putBytes(kind: number, b: Uint8Array): void {
    const r = this.r!
    const o = reserve(r, align8(RAW_HEAD + b.length))
    if (o < 0) return this.fail(r.dead ?? 'the writer worker stopped')
    r.u8.set(b, o + RAW_HEAD)
    const i = o >> 2
    r.i32[i] = kind
    r.i32[i + 1] = this.id
    r.i32[i + 2] = b.length
    this.commit(r, align8(RAW_HEAD + b.length))
  }

  private commit(r: Ring, size: number): void {
    r.head = (r.head + size) >>> 0
    if (((r.head - r.published) >>> 0) >= this.flushBytes) publish(r)
  }

  /** Hands what was written to the worker without waiting for it (see sync()). */
  flush(): void {
    if (this.inner) return this.inner.flush()
    if (!this.closed) publish(this.r!)
  }

  /**
   * Returns once every event written so far is in the file (or the writer failed): hands the
   * records to the worker and waits for it (Atomics.wait, so the caller may read the file next).
   */
  sync(): void {
    if (this.inner) return this.inner.flush()
    const r = this.r!
    if (this.closed) return
    publish(r, true)
    this.waitWorker(() => Number(Atomics.load(this.w64, W64_EVENTS)) >= this.count)
    drainPort(r)
  }

  /** Waits until done() or the worker gave up on this writer (or died). */
  private waitWorker(done: () => boolean): void {
    const r = this.r!
    for (;;) {
      const gen = Atomics.load(this.wctl, W_GEN)
      if (this.failed || done() || Atomics.load(this.wctl, W_STATE) !== 0) return
      if (r.dead !== null || Atomics.load(r.ctl, C_DEAD) !== 0) return
      Atomics.wait(this.wctl, W_GEN, gen, 200)
    }
  }

  /** Writes out everything, then closes the file. Synchronous: the file is complete when it returns. */
  close(): void {
    if (this.inner) return this.inner.close()
    if (this.closed) return
    const r = this.r!
    const o = reserve(r, RAW_HEAD)
    this.closed = true
    if (o >= 0) {
      r.i32[o >> 2] = K_CLOSE
      r.i32[(o >> 2) + 1] = this.id
      r.i32[(o >> 2) + 2] = 0
      r.head = (r.head + RAW_HEAD) >>> 0
      publish(r, true)
      this.waitWorker(() => false)
    }
    drainPort(r)
    r.writers.delete(this.id)
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

  /** @internal Index entries from the worker. */
  addIndex(entries: number[]): void {
    for (const e of entries) this.idx.push(e)
  }

  /** @internal The worker could not write (or stopped). */
  workerFailed(message: string): void {
    this.fail(message)
  }

  /** @internal Background fdatasync, at most once per syncIntervalMs, when there is something new. */
  maybeSync(now: number): void {
    if (this.syncIntervalMs <= 0 || this.syncing || this.closed || now - this.lastSync < this.syncIntervalMs) return
    const written = this.bytesWritten
    if (written === this.syncedBytes) return
    this.lastSync = now
    this.syncing = true
    fs.fdatasync(this.fd, () => {
      this.syncing = false
      this.syncedBytes = written
    })
  }

  private fail(message: string): void {
    if (this.failed) return
    this.failed = true
    this.onError?.(new WiretraceError('WT_RECORDING_WRITE', `writing ${this.path} failed: ${message}`, { path: this.path }))
  }
}
