/**
 * Sans-IO WebSocket frame inspector (RFC 6455 §5.2). Fed the raw bytes of one direction
 * in any chunking, it reads frame headers and skips payloads, so it costs a few operations
 * per frame whatever the payload size. It reports per-frame facts (FIN, RSV1, opcode, mask,
 * lengths) to a callback; it does not decode payloads — ws does that, we only observe.
 */
export interface FrameInfo {
  fin: boolean
  rsv1: boolean
  opcode: number
  masked: boolean
  /** Payload length on the wire. */
  payloadLength: number
  /** Header + payload. */
  wireLength: number
}

export type FrameSink = (fin: boolean, rsv1: boolean, opcode: number, masked: boolean, payloadLength: number, wireLength: number) => void

export class WsFrameInspector {
  /** Frames fully seen. */
  frames = 0
  /** Bytes seen. */
  bytes = 0
  /** Set when the stream stopped making sense (the inspector then stops; ws reports the real error). */
  broken: string | null = null
  private readonly head = new Uint8Array(14)
  private headLen = 0
  private need = 2
  private remaining = 0
  private cur = { fin: false, rsv1: false, opcode: 0, masked: false, payloadLength: 0, wireLength: 0 }
  private readonly sink: FrameSink

  constructor(sink: FrameSink) {
    this.sink = sink
  }

  push(chunk: Uint8Array): void {
    if (this.broken) return
    const n = chunk.length
    let i = 0
    while (i < n && !this.broken) i = this.step(chunk, i)
    // Stopped making sense mid-chunk: the rest still counts as seen.
    this.bytes += n - i
  }

  private parseHeader(): void {
    const h = this.head
    const b0 = h[0]!
    const b1 = h[1]!
    const len7 = b1 & 0x7f
    let len = len7
    if (len7 === 126) len = (h[2]! << 8) | h[3]!
    else if (len7 === 127) {
      const hi = ((h[2]! << 24) >>> 0) + (h[3]! << 16) + (h[4]! << 8) + h[5]!
      const lo = ((h[6]! << 24) >>> 0) + (h[7]! << 16) + (h[8]! << 8) + h[9]!
      if (hi > 0x1fffff) {
        this.broken = 'payload length over 2^53'
        return
      }
      len = hi * 2 ** 32 + lo
    }
    const c = this.cur
    c.fin = (b0 & 0x80) !== 0
    c.rsv1 = (b0 & 0x40) !== 0
    c.opcode = b0 & 0x0f
    c.masked = (b1 & 0x80) !== 0
    c.payloadLength = len
    c.wireLength = this.need + len
    this.remaining = len
  }

  private complete(): void {
    const c = this.cur
    this.frames++
    this.headLen = 0
    this.need = 2
    if (c.opcode >= 8) {
      if (c.opcode === 8) this.closeSeen = true
    } else if (c.opcode !== 0 || this.fragmenting) this.fragmenting = !c.fin
    this.sink(c.fin, c.rsv1, c.opcode, c.masked, c.payloadLength, c.wireLength)
  }

  /** A data message started with FIN clear and its final fragment has not been seen. */
  private fragmenting = false
  /** A close frame went by: everything after it is the WebSocket library's business. */
  private closeSeen = false

  /**
   * Splits one chunk between a direct path and the WebSocket library (`route.toLibrary`).
   * At a frame boundary, with no fragmented message open and no close frame seen, a whole
   * frame in this chunk that is FIN, uncompressed (RSV bits clear), unmasked, text or binary,
   * with a 7- or 16-bit length of at most `maxPayload`, is offered to `route.message`; if that
   * takes it, the library never sees its bytes. Every other byte (control frames, fragments,
   * frames cut by the chunk end, anything odd or refused) goes to the library in order, and
   * those frames are reported to the inspector's sink as `push` would. The direct frames are
   * not reported to the sink: `route.message` has their facts.
   *
   * The caller must only use this while the library parses synchronously (no inflate in
   * flight), so that messages come out in wire order.
   */
  route(chunk: Uint8Array, maxPayload: number, r: FrameRoute): void {
    if (this.broken) return r.toLibrary(chunk, 0, chunk.length)
    const n = chunk.length
    let i = 0
    let from = -1
    while (i < n) {
      if (this.headLen === 0 && this.remaining === 0 && !this.fragmenting && !this.closeSeen && n - i >= 2) {
        const b0 = chunk[i]!
        const b1 = chunk[i + 1]!
        const op = b0 & 0x0f
        if ((b0 & 0xf0) === 0x80 && (op === 1 || op === 2) && b1 < 0x80) {
          let len = b1
          let h = 2
          if (len === 126) {
            len = n - i >= 4 ? (chunk[i + 2]! << 8) | chunk[i + 3]! : -1
            h = 4
          } else if (len === 127) len = -1
          if (len >= 0 && len <= maxPayload && i + h + len <= n) {
            if (from >= 0) {
              r.toLibrary(chunk, from, i)
              from = -1
            }
            if (r.message(chunk, i + h, i + h + len, op, h + len)) {
              this.bytes += h + len
              this.frames++
              i += h + len
              continue
            }
          }
        }
      }
      // The library's path: this frame's bytes (or what the chunk holds of it) through the inspector.
      if (from < 0) from = i
      i = this.step(chunk, i)
      if (this.broken) {
        // The inspector gave up (the library will report why): the rest is the library's.
        this.bytes += n - i
        i = n
      }
    }
    if (from >= 0) r.toLibrary(chunk, from, n)
  }

  /** Consumes bytes of the frame in progress from chunk[i]: up to its end or the chunk's. Returns the new index. */
  private step(chunk: Uint8Array, i: number): number {
    const n = chunk.length
    const start = i
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i)
        this.remaining -= take
        i += take
        if (this.remaining === 0) this.complete()
        break
      }
      this.head[this.headLen++] = chunk[i++]!
      if (this.headLen < this.need) continue
      if (this.headLen === 2) {
        const b1 = this.head[1]!
        const len7 = b1 & 0x7f
        this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0)
        if (this.headLen < this.need) continue
      }
      this.parseHeader()
      if (this.broken) break
      if (this.remaining === 0) this.complete()
      break
    }
    this.bytes += i - start
    return i
  }
}

/** Where WsFrameInspector.route sends a chunk's frames. */
export interface FrameRoute {
  /** Bytes for the WebSocket library, in wire order: chunk[start, end). */
  toLibrary(chunk: Uint8Array, start: number, end: number): void
  /**
   * A whole single-frame data message: payload chunk[start, end), opcode 1 or 2, frame size on
   * the wire. Return false to hand the frame to the library instead (invalid UTF-8, say, for
   * the library to fail the connection as it does).
   */
  message(chunk: Uint8Array, start: number, end: number, opcode: number, wireLength: number): boolean
}

/** Scans for the end of an HTTP head (CRLFCRLF). Returns the index just past it, or -1. */
export function findHeadEnd(buf: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from); i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i + 4
  }
  return -1
}

/** Parses an HTTP/1.x head into its first line and header pairs exactly as written. */
export function parseHead(text: string): { firstLine: string; headers: Array<[string, string]> } {
  const lines = text.split('\r\n')
  const firstLine = lines[0] ?? ''
  const headers: Array<[string, string]> = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    if (!line) continue
    const c = line.indexOf(':')
    if (c <= 0) headers.push([line, ''])
    else headers.push([line.slice(0, c), line.slice(c + 1).trim()])
  }
  return { firstLine, headers }
}
