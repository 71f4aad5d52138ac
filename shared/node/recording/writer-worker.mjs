// The recording writer's worker thread (plain JavaScript: TypeScript loaders do not reach
// worker threads). It takes records from the shared ring that writer.ts fills on the main
// thread, encodes each one as a JSON line byte-identical to JSON.stringify(ev) + '\n', and
// appends the lines to the recordings' files with synchronous writes.
//
// One worker serves every RecordingWriter of the process. The ring layout, flags and control
// slots are defined once, in writer.ts, and arrive in workerData.layout.
import fs from 'node:fs'
import { isUtf8 } from 'node:buffer'
import { receiveMessageOnPort, workerData } from 'node:worker_threads'

// The ring layout, record kinds, flags and control slots come from writer.ts (RING_LAYOUT,
// passed in workerData), so the two sides cannot drift apart.
const {
  C_HEAD, C_TAIL, C_WSLEEP, C_MWAIT, C_READY, C_DEAD,
  K_PAD, K_MSG, K_RAW, K_CONN, K_CLOSE, K_SSE, K_SRC,
  F_START, F_IN, F_TEXT, F_TRUNC, F_WIRE, F_FRAMES, F_HASCOMP, F_COMP, SKEW_SHIFT,
  MSG_HEAD, RAW_HEAD, SSE_HEAD, F_ID, F_MESSAGE, F_LAST_IS_ID, F_RETRY, F_DATA_REF, CONN_SSE,
  K_H2, K_H2HDR, CONN_H2, H2_HEAD, H2_SENT, H2_RESPONSE, H2_DATA, H2_END,
  W_GEN, W_STATE, W64_WRITTEN, W64_EVENTS, INDEX_STRIDE, WORKER_NAP_MS, WORKER_NAPS,
} = workerData.layout

const { ring, ctl: ctlSab, port } = workerData
const cap = ring.byteLength
const mask = cap - 1
const u8 = Buffer.from(ring)
const i32 = new Int32Array(ring)
const f64 = new Float64Array(ring)
const ringDv = new DataView(ring)
const ctl = new Int32Array(ctlSab)

const ARENA = 1024 * 1024
const EMPTY = Buffer.alloc(0)
let arena = Buffer.allocUnsafe(ARENA)
let dv = new DataView(arena.buffer, arena.byteOffset, arena.length)
let pos = 0
/** The writer whose bytes are in the arena. */
let cur = null
/** id -> writer state */
const writers = new Map()

const bytes = (s) => words(new Uint8Array(Buffer.from(s, 'latin1')))
const K_SEQ = bytes('{"seq":')
const K_TS = bytes(',"ts":')
const K_IN = bytes('in","opcode":')
const K_OUT = bytes('out","opcode":')
const K_SIZE = bytes(',"size":')
const K_TEXT = bytes(',"text":')
const K_BASE64 = bytes(',"base64":')
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
const K_TRUNCATED = bytes(',"truncated":true')
const K_WIRE = bytes(',"wireSize":')
const K_FRAMES = bytes(',"frames":')
const K_COMP_T = bytes(',"compressed":true')
const K_COMP_F = bytes(',"compressed":false')
const K_ID = bytes(',"id":')
const K_EVENT = bytes(',"event":')
const K_EVENT_MESSAGE_DATA = bytes(',"event":"message","data":')
const K_DATA = bytes(',"data":')
const K_RETRY = bytes(',"retry":')
const K_LAST = bytes(',"lastEventId":')
const K_STREAM = bytes(',"streamId":')
const K_STATUS = bytes(',"status":')
const K_HEADERS = bytes(',"headers":')
const K_SIZES = bytes(',"sizes":[')
const K_TIMES = bytes(',"times":[')
/** `,"phase":"…"` for each H2_* code. */
const H2_PHASE = []
H2_PHASE[H2_SENT] = bytes(',"phase":"headers-sent"')
H2_PHASE[H2_RESPONSE] = bytes(',"phase":"response"')
H2_PHASE[H2_DATA] = bytes(',"phase":"data"')
H2_PHASE[H2_END] = bytes(',"phase":"end"')

const digits = new Uint8Array(24)
/** A number as JSON prints it; integers below 2^53 without building a string. */
function putNum(a, p, n) {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) return p + a.write(JSON.stringify(n), p, 'latin1')
  if (n < 10) {
    a[p] = 48 + n
    return p + 1
  }
  let d = 0
  if (n <= 0x7fffffff) {
    let m = n | 0
    while (m > 0) {
      const q = (m / 10) | 0
      digits[d++] = 48 + m - q * 10
      m = q
    }
  } else {
    while (n > 0) {
      const q = Math.floor(n / 10)
      digits[d++] = 48 + (n - q * 10)
      n = q
    }
  }
  while (d > 0) a[p++] = digits[--d]
  return p
}

let tsWhole = -1
const tsBytes = new Uint8Array(24)
let tsLen = 0
/** A timestamp (ms with at most microsecond digits) printed as JSON would; the ms part is cached. */
function putTs(a, p, ts) {
  let whole = Math.floor(ts)
  let frac = Math.round((ts - whole) * 1000)
  if (!(ts >= 0 && ts <= Number.MAX_SAFE_INTEGER) || whole + frac / 1000 !== ts) return p + a.write(JSON.stringify(ts), p, 'latin1')
  if (frac === 1000) {
    whole++
    frac = 0
  }
  if (whole !== tsWhole) {
    tsWhole = whole
    tsLen = putNum(tsBytes, 0, whole)
  }
  for (let i = 0; i < tsLen; i++) a[p + i] = tsBytes[i]
  p += tsLen
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

/** Takes the registrations the main thread posted (it posts before it writes the writer's first record). */
function register(id) {
  for (;;) {
    const got = receiveMessageOnPort(port)
    if (!got) return writers.get(id)
    const msg = got.message
    if (msg.op === 'open') {
      writers.set(msg.id, {
        id: msg.id,
        fd: msg.fd,
        ctl: new Int32Array(msg.ctl),
        ctl64: new BigInt64Array(msg.ctl),
        written: msg.written,
        events: 0,
        conn: words(new Uint8Array(0)),
        sseConn: words(new Uint8Array(0)),
        // `,"ts":T` + sseConn for the last SSE timestamp T (events parsed from one socket read share it);
        // NaN: none yet (it equals nothing).
        sseTs: NaN,
        sseTsConn: words(new Uint8Array(0)),
        // The last seq printed for an SSE event, as digits (the next one is mostly one more).
        seqVal: -2,
        seqDigits: new Uint8Array(24),
        seqLen: 0,
        h2Conn: words(new Uint8Array(0)),
        // The JSON of the response headers the next K_H2 response prints (a K_H2HDR record).
        h2Headers: words(new Uint8Array(0)),
        // The writer's copy of wire bytes (a K_SRC record) that F_DATA_REF records point into.
        src: EMPTY,
        srcDv: new DataView(EMPTY.buffer, EMPTY.byteOffset, 0),
        failed: false,
        index: [],
      })
    }
    if (writers.has(id)) return writers.get(id)
  }
}

/** Writes the arena to its writer's file and publishes what is on disk. */
function flush() {
  const w = cur
  if (w === null) return
  const n = pos
  pos = 0
  cur = null
  if (!w.failed && n > 0) {
    try {
      let off = 0
      while (off < n) off += fs.writeSync(w.fd, arena, off, n - off)
      w.written += n
    } catch (e) {
      fail(w, e)
    }
  }
  // A one-off big arena (a huge line) is not kept.
  if (arena.length > ARENA) setArena(Buffer.allocUnsafe(ARENA))
  publish(w)
}

function publish(w) {
  if (w.index.length) {
    port.postMessage({ id: w.id, index: w.index })
    w.index = []
  }
  Atomics.store(w.ctl64, W64_WRITTEN, BigInt(w.written))
  Atomics.store(w.ctl64, W64_EVENTS, BigInt(w.events))
  Atomics.add(w.ctl, W_GEN, 1)
  Atomics.notify(w.ctl, W_GEN)
}

function fail(w, e) {
  w.failed = true
  Atomics.store(w.ctl, W_STATE, 2)
  port.postMessage({ id: w.id, error: e && e.message ? e.message : String(e) })
}

function setArena(b) {
  arena = b
  dv = new DataView(b.buffer, b.byteOffset, b.length)
}

/** Makes room for `need` bytes of writer w in the arena; returns the arena (maybe a one-off bigger buffer). */
function room(w, need) {
  if (cur !== w || pos + need > arena.length) flush()
  cur = w
  if (need > arena.length) setArena(Buffer.allocUnsafe(need))
  return arena
}

function startEvent(w) {
  if ((w.events & (INDEX_STRIDE - 1)) === 0) w.index.push(w.written + (cur === w ? pos : 0))
  w.events++
}

/**
 * Copies a small constant: four bytes at a time from its little-endian words (see words()),
 * which may write up to three bytes past its end; what follows overwrites them, and the
 * arena always has room to spare (room() asks for 256 bytes more than a line needs).
 * A loop beats TypedArray#set's call overhead at these sizes.
 */
function put(a, p, src) {
  if (LITTLE) {
    const w = src.words
    for (let k = 0; k < w.length; k++) dv.setInt32(p + 4 * k, w[k], true)
    return p + src.length
  }
  const n = src.length
  for (let i = 0; i < n; i++) a[p + i] = src[i]
  return p + n
}

/** A constant's bytes, with its little-endian 32-bit words attached for put(). */
function words(b) {
  const padded = new Uint8Array((b.length + 3) & ~3)
  padded.set(b)
  b.words = new Int32Array(padded.buffer)
  return b
}

let stage = Buffer.allocUnsafeSlow(0)
/**
 * Copies ring bytes [from, from + len) to a[p]; returns the end. V8 copies out of a
 * SharedArrayBuffer by words only when both addresses are 8-byte aligned alike (about 24 GB/s
 * here, 3.5 GB/s byte by byte otherwise), so a long run at a different alignment goes through a
 * staging buffer placed to match the ring, then to the arena (an ordinary copy, fast at any
 * alignment). The stage grows to the largest record at most.
 */
function copyOut(a, p, from, len) {
  if (len < 256 || ((from ^ (a.byteOffset + p)) & 7) === 0) return p + u8.copy(a, p, from, from + len)
  const k = from & 7
  if (stage.length < k + len) stage = Buffer.allocUnsafeSlow(Math.max(k + len, 2 * stage.length, 64 * 1024))
  u8.copy(stage, k, from, from + len)
  return p + stage.copy(a, p, k, k + len)
}

/** Encodes one ws.message record (at ring offset o) as its JSON line. */
function encodeMessage(w, o, hdr, len) {
  // The payload sits at the same address mod 8 as the wire bytes it was copied from.
  const skew = (hdr >>> SKEW_SHIFT) & 7
  const p0 = o + MSG_HEAD + skew
  const e0 = p0 + len
  const isText = (hdr & F_TEXT) !== 0
  // Room for the worst case: JSON escapes take up to 6 bytes per byte.
  const a = room(w, 256 + w.conn.length + (isText ? 6 * len : len))
  startEvent(w)
  let p = pos
  const fo = o >> 3
  p = putNum(a, put(a, p, K_SEQ), f64[fo + 2])
  p = putTs(a, put(a, p, K_TS), f64[fo + 3])
  p = put(a, p, w.conn)
  p = put(a, p, hdr & F_IN ? K_IN : K_OUT)
  a[p++] = 48 + ((hdr >> 4) & 15)
  p = putNum(a, put(a, p, K_SIZE), f64[fo + 4])
  if (isText) {
    p = put(a, p, K_TEXT)
    a[p] = 34 // "
    const q = copyText(a, dv, p + 1, u8, ringDv, p0, e0)
    if (q < 0) p += a.write(JSON.stringify(u8.toString('utf8', p0, e0)), p, 'utf8')
    else {
      p = q
      a[p++] = 34
    }
  } else {
    p = put(a, p, K_BASE64)
    a[p++] = 34
    if (len <= 256) for (let i = p0; i < e0; i++) a[p++] = u8[i]
    else p = copyOut(a, p, p0, e0 - p0)
    a[p++] = 34
  }
  if (hdr & F_TRUNC) p = put(a, p, K_TRUNCATED)
  if (hdr & F_WIRE) p = putNum(a, put(a, p, K_WIRE), f64[fo + 5])
  if (hdr & F_FRAMES) p = putNum(a, put(a, p, K_FRAMES), f64[fo + 6])
  if (hdr & F_HASCOMP) p = put(a, p, hdr & F_COMP ? K_COMP_T : K_COMP_F)
  a[p++] = 125 // }
  a[p++] = 10
  pos = p
}

/**
 * Copies text bytes src[s0, e0) (the ring, or a writer's source copy; sdv its DataView) after
 * `"` at a[p], four bytes at a time, and tells whether JSON can take them as they are: no byte
 * below 0x20, no quote, no backslash (SWAR tests on 32-bit words); bytes above 0x7f are checked
 * as UTF-8 afterwards. Returns the end, or -1 if JSON must escape.
 */
function copyText(a, dv, p, src, sdv, s0, e0) {
  let bad = 0
  let high = 0
  let q = p
  let i = s0
  if (LITTLE) {
    const end4 = e0 - 3
    for (; i < end4; i += 4) {
      const x = sdv.getInt32(i, true)
      dv.setInt32(q, x, true)
      q += 4
      const y = x ^ 0x22222222
      const z = x ^ 0x5c5c5c5c
      bad |= ((x - 0x20202020) & ~x) | ((y - 0x01010101) & ~y) | ((z - 0x01010101) & ~z)
      high |= x
    }
  }
  for (; i < e0; i++) {
    const c = src[i]
    a[q++] = c
    if (c < 0x20 || c === 0x22 || c === 0x5c) bad |= 0x80
    high |= c
  }
  if ((bad & 0x80808080) !== 0) return -1
  if ((high & 0x80808080) !== 0 && !isUtf8(src.subarray(s0, e0))) return -1
  return q
}

/** A JSON string of a writer's source bytes src[s0, e0) at a[p]; returns the end. */
function putStrFrom(a, p, w, s0, e0) {
  a[p] = 34 // "
  const q = copyText(a, dv, p + 1, w.src, w.srcDv, s0, e0)
  if (q < 0) return p + a.write(JSON.stringify(w.src.toString('utf8', s0, e0)), p, 'utf8')
  a[q] = 34
  return q + 1
}

/** A JSON string of the UTF-8 bytes u8[p0, e0) (p0 4-byte aligned) at a[p]; returns the end. */
function putStr(a, p, p0, e0) {
  a[p] = 34 // "
  const q = copyText(a, dv, p + 1, u8, ringDv, p0, e0)
  if (q < 0) return p + a.write(JSON.stringify(u8.toString('utf8', p0, e0)), p, 'utf8')
  a[q] = 34
  return q + 1
}

const tsScratch = Buffer.alloc(64)
tsScratch.set(K_TS)
/** Caches `,"ts":T,"conn":…,"type":"sse.event"` for SSE timestamp `ts` (one socket read's events share it). */
function sseTsConn(w, ts) {
  // Not put(): it writes through the arena's DataView.
  const n = putTs(tsScratch, K_TS.length, ts)
  const b = new Uint8Array(n + w.sseConn.length)
  b.set(tsScratch.subarray(0, n))
  b.set(w.sseConn, n)
  w.sseTsConn = words(b)
  w.sseTs = ts
}

/**
 * An SSE event's seq: events of one connection mostly follow each other, so the last one's
 * digits are kept and counted up in place (a carry at most ripples through them); anything else
 * is printed afresh.
 */
function putSeq(a, p, w, seq) {
  if (!(seq >= 0 && seq < 0x7fffffff && Math.floor(seq) === seq)) {
    w.seqVal = -2
    return putNum(a, p, seq)
  }
  const d = w.seqDigits
  let n = w.seqLen
  if (seq === w.seqVal + 1) {
    let k = n - 1
    while (k >= 0 && d[k] === 57) d[k--] = 48
    if (k >= 0) d[k]++
    else {
      // 99 -> 100: one more digit.
      d.copyWithin(1, 0, n)
      d[0] = 49
      n = w.seqLen = n + 1
    }
  } else n = w.seqLen = putNum(d, 0, seq)
  w.seqVal = seq
  for (let i = 0; i < n; i++) a[p + i] = d[i]
  return p + n
}

/** Encodes one sse.event record (at ring offset o) as its JSON line; keys in the SSE transport's order. */
function encodeSse(w, o, hdr, len) {
  // Room for the worst case: JSON escapes take up to 6 bytes per byte (lastEventId may repeat the id).
  const i = o >> 2
  const ref = (hdr & F_DATA_REF) !== 0
  const a = room(w, 256 + w.sseConn.length + 6 * len + (hdr & F_LAST_IS_ID ? 6 * i32[i + 12] : 0) + (ref ? 6 * i32[i + 14] : 0))
  startEvent(w)
  let p = pos
  const fo = o >> 3
  p = putSeq(a, put(a, p, K_SEQ), w, f64[fo + 2])
  const ts = f64[fo + 3]
  if (ts !== w.sseTs) sseTsConn(w, ts)
  p = put(a, p, w.sseTsConn)
  let s = o + SSE_HEAD
  let idAt = 0
  let idEnd = 0
  if (hdr & F_ID) {
    idAt = s
    idEnd = s + i32[i + 12]
    p = putStr(a, put(a, p, K_ID), idAt, idEnd)
    s = (idEnd + 3) & ~3
  }
  if (hdr & F_MESSAGE) p = put(a, p, K_EVENT_MESSAGE_DATA)
  else {
    const e = s + i32[i + 13]
    p = put(a, putStr(a, put(a, p, K_EVENT), s, e), K_DATA)
    s = (e + 3) & ~3
  }
  if (ref) {
    const d = i32[i + 16]
    p = putStrFrom(a, p, w, d, d + i32[i + 14])
  } else {
    const e = s + i32[i + 14]
    p = putStr(a, p, s, e)
    s = (e + 3) & ~3
  }
  if (hdr & F_RETRY) p = putNum(a, put(a, p, K_RETRY), f64[fo + 5])
  p = put(a, p, K_LAST)
  p = hdr & F_LAST_IS_ID ? putStr(a, p, idAt, idEnd) : putStr(a, p, s, s + i32[i + 15])
  p = putNum(a, put(a, p, K_SIZE), f64[fo + 4])
  a[p++] = 125 // }
  a[p++] = 10
  pos = p
}

/** Encodes one h2.stream record (at ring offset o) as its JSON line; keys in the HTTP/2 transport's order. */
function encodeH2(w, o) {
  const i = o >> 2
  const fo = o >> 3
  const phase = i32[i + 12]
  const nSizes = i32[i + 13]
  const nTimes = i32[i + 14]
  // Numbers take at most 24 bytes each as JSON.
  const a = room(w, 256 + w.h2Conn.length + w.h2Headers.length + 25 * (nSizes + nTimes))
  startEvent(w)
  let p = pos
  p = putNum(a, put(a, p, K_SEQ), f64[fo + 2])
  p = putTs(a, put(a, p, K_TS), f64[fo + 3])
  p = put(a, p, w.h2Conn)
  p = putNum(a, put(a, p, K_STREAM), f64[fo + 4])
  p = put(a, p, H2_PHASE[phase])
  if (phase === H2_RESPONSE) {
    p = putNum(a, put(a, p, K_STATUS), f64[fo + 5])
    p = put(a, put(a, p, K_HEADERS), w.h2Headers)
  } else if (phase === H2_DATA) {
    p = putNum(a, put(a, p, K_SIZE), f64[fo + 5])
    let k = fo + 8
    if (nSizes > 0) {
      p = put(a, p, K_SIZES)
      for (let j = 0; j < nSizes; j++) {
        if (j > 0) a[p++] = 44 // ,
        p = putNum(a, p, f64[k++])
      }
      a[p++] = 93 // ]
    }
    p = put(a, p, K_TIMES)
    for (let j = 0; j < nTimes; j++) {
      if (j > 0) a[p++] = 44
      p = putTs(a, p, f64[k++])
    }
    a[p++] = 93
  }
  a[p++] = 125 // }
  a[p++] = 10
  pos = p
}

function closeWriter(w) {
  if (cur === w) flush()
  else publish(w)
  if (!w.failed) Atomics.store(w.ctl, W_STATE, 1)
  Atomics.add(w.ctl, W_GEN, 1)
  Atomics.notify(w.ctl, W_GEN)
  writers.delete(w.id)
}

/** Handles the record at ring offset o; returns its size in the ring. */
function handle(o) {
  const hdr = i32[o >> 2]
  const kind = hdr & 15
  if (kind === K_PAD) return cap - o
  const id = i32[(o >> 2) + 1]
  const len = i32[(o >> 2) + 2]
  const w = writers.get(id) ?? register(id)
  switch (kind) {
    case K_MSG:
      if (w && !w.failed) encodeMessage(w, o, hdr, len)
      return (MSG_HEAD + ((hdr >>> SKEW_SHIFT) & 7) + len + 7) & ~7
    case K_RAW:
      if (w && !w.failed) {
        const a = room(w, len)
        if (hdr & F_START) startEvent(w)
        pos = copyOut(a, pos, o + RAW_HEAD, len)
      }
      return (RAW_HEAD + len + 7) & ~7
    case K_CONN:
      if (w) {
        const b = words(new Uint8Array(u8.subarray(o + RAW_HEAD, o + RAW_HEAD + len)))
        const sub = hdr & 0xf0
        if (sub === CONN_SSE) {
          w.sseConn = b
          w.sseTs = NaN
        }
        else if (sub === CONN_H2) w.h2Conn = b
        else w.conn = b
      }
      return (RAW_HEAD + len + 7) & ~7
    case K_SSE:
      if (w && !w.failed) encodeSse(w, o, hdr, len)
      return (SSE_HEAD + len + 7) & ~7
    case K_H2:
      if (w && !w.failed) encodeH2(w, o)
      return H2_HEAD + len
    case K_H2HDR:
      if (w) w.h2Headers = words(new Uint8Array(u8.subarray(o + RAW_HEAD, o + RAW_HEAD + len)))
      return (RAW_HEAD + len + 7) & ~7
    case K_SRC:
      if (w) {
        if (w.src.length < len) {
          w.src = Buffer.allocUnsafe(Math.max(len, 64 * 1024))
          w.srcDv = new DataView(w.src.buffer, w.src.byteOffset, w.src.length)
        }
        u8.copy(w.src, 0, o + RAW_HEAD, o + RAW_HEAD + len)
      }
      return (RAW_HEAD + len + 7) & ~7
    case K_CLOSE:
      if (w) closeWriter(w)
      return RAW_HEAD
    default:
      throw new Error(`recording ring corrupt: record kind ${kind} at ${o}`)
  }
}

const GIVE_BACK = 64 * 1024

/** Publishes the room taken; wakes a waiting main thread once a quarter of the ring is free (or at the batch end). */
function giveBack(tail, end) {
  Atomics.store(ctl, C_TAIL, tail | 0)
  if (Atomics.load(ctl, C_MWAIT) !== 0 && (end || cap - ((Atomics.load(ctl, C_HEAD) - tail) >>> 0) >= cap >>> 2)) Atomics.notify(ctl, C_TAIL)
}

function loop() {
  let tail = Atomics.load(ctl, C_TAIL) >>> 0
  let naps = 0
  for (;;) {
    const head = Atomics.load(ctl, C_HEAD)
    if (head === (tail | 0)) {
      // Caught up: what was taken is written before napping. Naps are not woken by the main
      // thread (1), so a stream is taken in batches without a wake-up per socket read; after
      // WORKER_NAPS empty naps, sleep until woken (2).
      flush()
      const deep = naps >= WORKER_NAPS
      naps++
      Atomics.store(ctl, C_WSLEEP, deep ? 2 : 1)
      if (Atomics.load(ctl, C_HEAD) === (tail | 0)) Atomics.wait(ctl, C_HEAD, tail | 0, deep ? 1000 : WORKER_NAP_MS)
      Atomics.store(ctl, C_WSLEEP, 0)
      continue
    }
    naps = 0
    // Room is given back every 64 KiB and at the end of the batch, not per record.
    let given = tail
    while ((tail | 0) !== head) {
      tail = (tail + handle(tail & mask)) >>> 0
      if (((tail - given) >>> 0) >= GIVE_BACK) {
        given = tail
        giveBack(tail, false)
      }
    }
    giveBack(tail, true)
  }
}

Atomics.store(ctl, C_READY, 1)
Atomics.notify(ctl, C_READY)
try {
  loop()
} catch (e) {
  Atomics.store(ctl, C_DEAD, 1)
  Atomics.notify(ctl, C_TAIL)
  for (const w of writers.values()) {
    fail(w, e)
    Atomics.add(w.ctl, W_GEN, 1)
    Atomics.notify(w.ctl, W_GEN)
  }
  throw e
}
