/**
 * Sans-IO parser for an HTTP/1.x response head as proxies send it (HTTP/1.0 and 1.1, bare LF
 * line ends from old proxies tolerated). Fed bytes in any chunking; returns the head once the
 * blank line arrives, with the bytes that followed it.
 */
import type { HeaderPairs } from '../../../common/events/base.ts'

export interface ResponseHead {
  statusLine: string
  httpVersion: string
  status: number
  reason: string
  headers: HeaderPairs
  /** Bytes of the head including the blank line. */
  headBytes: number
}

export class HeadError extends Error {
  constructor(
    message: string,
    readonly kind: 'too-large' | 'not-http',
  ) {
    super(message)
  }
}

export class ResponseHeadParser {
  private buf: Buffer = Buffer.alloc(0)
  constructor(private readonly maxBytes: number) {}

  /** Returns the head and the rest of the bytes, or null when more bytes are needed. */
  push(chunk: Buffer): { head: ResponseHead; rest: Buffer } | null {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    // Reject early when the first bytes cannot be an HTTP status line.
    const probe = this.buf.subarray(0, 5).toString('latin1')
    if (!'HTTP/'.startsWith(probe) && !probe.startsWith('HTTP/')) {
      throw new HeadError(`the proxy answered with something that is not HTTP: ${JSON.stringify(this.buf.subarray(0, 40).toString('latin1'))}`, 'not-http')
    }
    let end = -1
    let sepLen = 0
    for (let i = 0; i < this.buf.length; i++) {
      if (this.buf[i] !== 0x0a) continue
      if (this.buf[i + 1] === 0x0a) {
        end = i
        sepLen = 2
        break
      }
      if (this.buf[i + 1] === 0x0d && this.buf[i + 2] === 0x0a) {
        end = i
        sepLen = 3
        break
      }
    }
    if (end < 0) {
      if (this.buf.length > this.maxBytes) throw new HeadError(`the proxy's response head is larger than ${this.maxBytes} bytes`, 'too-large')
      return null
    }
    if (end > this.maxBytes) throw new HeadError(`the proxy's response head is larger than ${this.maxBytes} bytes`, 'too-large')
    const headText = this.buf.subarray(0, end).toString('latin1')
    const rest = this.buf.subarray(end + sepLen)
    this.buf = Buffer.alloc(0)
    const lines = headText.split(/\r?\n/)
    const statusLine = (lines.shift() ?? '').replace(/\r$/, '')
    const m = /^HTTP\/(\d(?:\.\d)?)\s+(\d{3})(?:\s+(.*))?$/.exec(statusLine)
    if (!m) throw new HeadError(`the proxy's status line is not HTTP: ${JSON.stringify(statusLine.slice(0, 100))}`, 'not-http')
    const headers: HeaderPairs = []
    for (const line of lines) {
      if (!line) continue
      if ((line.startsWith(' ') || line.startsWith('\t')) && headers.length) {
        // Obsolete line folding: join to the previous header.
        const last = headers[headers.length - 1]!
        last[1] = `${last[1]} ${line.trim()}`
        continue
      }
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()])
    }
    return {
      head: { statusLine, httpVersion: m[1]!, status: Number(m[2]), reason: m[3] ?? '', headers, headBytes: end + sepLen },
      rest,
    }
  }
}

export function headerValues(headers: HeaderPairs, name: string): string[] {
  const n = name.toLowerCase()
  const out: string[] = []
  for (const [k, v] of headers) if (k.toLowerCase() === n) out.push(v)
  return out
}

export function headerValue(headers: HeaderPairs, name: string): string | undefined {
  return headerValues(headers, name)[0]
}
