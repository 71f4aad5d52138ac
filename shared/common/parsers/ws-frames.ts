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
    this.bytes += chunk.length
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i)
        this.remaining -= take
        i += take
        if (this.remaining === 0) this.complete()
        continue
      }
      // Reading a header: take bytes until we know its full length.
      this.head[this.headLen++] = chunk[i++]!
      if (this.headLen < this.need) continue
      if (this.headLen === 2) {
        const b1 = this.head[1]!
        const len7 = b1 & 0x7f
        this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0)
        if (this.headLen < this.need) continue
      }
      this.parseHeader()
      if (this.broken) return
      if (this.remaining === 0) this.complete()
    }
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
    this.sink(c.fin, c.rsv1, c.opcode, c.masked, c.payloadLength, c.wireLength)
  }
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
