/**
 * Shared plumbing for the HTTP/1.1 transports (sse, poll, stream): an undici Client whose
 * sockets come from `ctx.dial()` (so the proxy pipeline applies), the request head captured
 * exactly as written, raw response headers as pairs, payload fields for the recording, and
 * undici errors mapped to WT_* codes.
 */
import { Client } from 'undici'
import type { Socket } from 'node:net'
import type { HeaderPairs, Payload } from '../../../common/events/index.ts'
import type { ConnectionSpec } from '../../../common/spec/index.ts'
import { WiretraceError, type ErrorCode } from '../../../common/errors/index.ts'
import { base64ToBytes } from '../../../common/bytes.ts'
import { redactHeaders, redactUrl } from '../../../common/redact.ts'
import { isValidUtf8 } from '../../../common/parsers/utf8.ts'
import type { DialResult, TransportContext } from '../../engine/types.ts'
import { mono } from '../../engine/clock.ts'

/** Node Buffer-based UTF-8 decoding for the parsers (faster than TextDecoder on small slices). */
export function decodeBuf(b: Uint8Array, start: number, end: number): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  return buf.toString('utf8', start, end)
}

/** Payload fields for the recording: text when valid UTF-8, base64 otherwise; cut at `max`. */
export function payloadOf(bytes: Uint8Array, max: number): Payload {
  const size = bytes.length
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (size > max) {
    const cut = buf.subarray(0, max)
    return isValidUtf8(cut) ? { size, text: cut.toString('utf8'), truncated: true } : { size, base64: cut.toString('base64'), truncated: true }
  }
  return isValidUtf8(buf) ? { size, text: buf.toString('utf8') } : { size, base64: buf.toString('base64') }
}

export function rawPairs(raw: ReadonlyArray<Buffer | string> | null | undefined): HeaderPairs {
  const out: HeaderPairs = []
  if (!raw) return out
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toString('latin1'), raw[i + 1]!.toString('latin1')])
  return out
}

export function headerOf(pairs: HeaderPairs, name: string): string | undefined {
  for (const [k, v] of pairs) if (k.length === name.length && k.toLowerCase() === name) return v
  return undefined
}

export function headBytes(status: number, statusText: string, pairs: HeaderPairs): number {
  let n = 15 + String(status).length + statusText.length
  for (const [k, v] of pairs) n += k.length + v.length + 4
  return n
}

/** The request body from the spec, as bytes (or undefined). */
export function bodyOf(spec: ConnectionSpec): Buffer | undefined {
  const b = spec.body
  if (!b) return undefined
  if (b.base64 !== undefined) {
    try {
      const bytes = base64ToBytes(b.base64)
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
    } catch (e) {
      throw new WiretraceError('WT_OPTION_INVALID', `the request body is not valid base64: ${(e as Error).message}`)
    }
  }
  if (b.text !== undefined) return Buffer.from(b.text, 'utf8')
  return undefined
}

/**
 * A header value as the UTF-8 bytes of `text`, in the latin1 "binary string" form undici
 * writes byte for byte (so a non-ASCII Last-Event-ID goes out as UTF-8).
 */
export function utf8HeaderValue(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1')
}

/** Request head capture: wraps socket.write until the head's CRLFCRLF has been written. */
export class HeadCapture {
  private parts: Buffer[] = []
  private len = 0
  private done = false
  /** mono() when the head was fully written. */
  writtenAt = 0
  private orig: Socket['write'] | null = null
  private socket: Socket | null = null
  private onHead: ((head: string) => void) | null = null

  constructor(private readonly max: number) {}

  attach(socket: Socket, onHead: (head: string) => void): void {
    this.socket = socket
    this.onHead = onHead
    this.done = false
    this.parts = []
    this.len = 0
    const orig = socket.write
    this.orig = orig
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this
    socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
      if (!self.done) self.take(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'latin1')
      return (orig as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
    } as Socket['write']
  }

  private take(chunk: unknown, enc: BufferEncoding): void {
    let b: Buffer
    if (typeof chunk === 'string') b = Buffer.from(chunk, enc)
    else if (chunk instanceof Uint8Array) b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    else return
    this.parts.push(b)
    this.len += b.length
    const all = Buffer.concat(this.parts)
    const end = all.indexOf('\r\n\r\n')
    if (end >= 0 || this.len > this.max) {
      this.done = true
      this.writtenAt = mono()
      if (this.socket && this.orig) this.socket.write = this.orig
      this.onHead?.(all.subarray(0, end >= 0 ? end : this.max).toString('latin1'))
      this.parts = []
    } else if (this.parts.length > 1) this.parts = [all]
  }

  detach(): void {
    if (this.socket && this.orig && !this.done) this.socket.write = this.orig
    this.done = true
  }
}

/** Splits a captured request head into method, target and header pairs. */
export function parseRequestHead(head: string): { method: string; target: string; headers: HeaderPairs } {
  const lines = head.split('\r\n')
  const [method = '', target = ''] = (lines[0] ?? '').split(' ')
  const headers: HeaderPairs = []
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!
    const c = l.indexOf(':')
    if (c > 0) headers.push([l.slice(0, c), l.slice(c + 1).trim()])
  }
  return { method, target, headers }
}

export function maybeRedactHeaders(spec: ConnectionSpec, h: HeaderPairs): HeaderPairs {
  return spec.keepSecrets ? h : redactHeaders(h)
}

export function maybeRedactUrl(spec: ConnectionSpec, u: string): string {
  return spec.keepSecrets ? u : redactUrl(u)
}

/**
 * An undici Client for one origin whose connections come from the network pipeline. The
 * first connection uses `first` (already dialled, so the caller knew the route before
 * building the request); later ones dial again through ctx.dial (each dial is recorded).
 */
export function pipelineClient(
  ctx: TransportContext,
  url: URL,
  first: DialResult | null,
  opts: { alpn?: string[]; headersTimeoutMs: number; maxHeaderBytes: number; pipelining?: number; onSocket?: (s: Socket, d: DialResult) => void },
): Client {
  let pending: DialResult | null = first
  return new Client(url.origin, {
    connect: (_o: unknown, cb: (err: Error | null, socket: Socket | null) => void) => {
      if (pending) {
        const d = pending
        pending = null
        opts.onSocket?.(d.socket as Socket, d)
        // Never call back synchronously: undici ignores a resume from inside its own resume.
        process.nextTick(cb, null, d.socket as Socket)
        return
      }
      ctx
        .dial({ url, secure: url.protocol === 'https:', alpn: opts.alpn ?? ['http/1.1'], tls: ctx.spec.tls, network: ctx.spec.network, purpose: 'http', signal: ctx.signal })
        .then(
          (d) => {
            opts.onSocket?.(d.socket as Socket, d)
            cb(null, d.socket as Socket)
          },
          (e: unknown) => cb(e as Error, null),
        )
    },
    pipelining: opts.pipelining ?? 1,
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: 0,
    maxHeaderSize: opts.maxHeaderBytes,
    keepAliveTimeout: 4000,
  } as ConstructorParameters<typeof Client>[1])
}

/** undici / socket errors -> WT codes, with the phase they belong to. */
export function mapHttpError(e: unknown, gotHead: boolean): { code: ErrorCode; message: string; phase: 'handshake' | 'open'; noResponse: boolean } {
  if (e instanceof WiretraceError) {
    return { code: e.code, message: e.message, phase: gotHead ? 'open' : 'handshake', noResponse: false }
  }
  const err = e as Error & { code?: string }
  const code = err?.code ?? ''
  const msg = err?.message ?? String(e)
  const phase = gotHead ? 'open' : 'handshake'
  switch (code) {
    case 'UND_ERR_HEADERS_OVERFLOW':
      return { code: 'WT_HTTP_HEADERS_TOO_LARGE', message: `the response head exceeded maxHeaderBytes (${msg})`, phase, noResponse: false }
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { code: 'WT_CONNECT_TIMEOUT', message: 'no response head arrived within the timeout (the server accepted the request and said nothing)', phase, noResponse: false }
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE': {
      const reset = code === 'ECONNRESET' || /ECONNRESET|reset/i.test(msg)
      return {
        code: reset ? 'WT_CONNECTION_RESET' : 'WT_CONNECTION_CLOSED',
        message: gotHead ? `the connection ${reset ? 'was reset' : 'closed'} during the response body (${msg})` : `the connection ${reset ? 'was reset' : 'closed'} before any response (${msg})`,
        phase,
        noResponse: !gotHead,
      }
    }
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { code: 'WT_HTTP_PROTOCOL', message: `the response is not valid HTTP/1.1 (${code}: ${msg})`, phase, noResponse: false }
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return { code: 'WT_ABORTED', message: msg, phase, noResponse: false }
    default:
      if (code.startsWith('HPE_')) return { code: 'WT_HTTP_PROTOCOL', message: `the response is not valid HTTP/1.1 (${code}: ${msg})`, phase, noResponse: false }
      if (/other side closed|closed/i.test(msg)) return { code: 'WT_CONNECTION_CLOSED', message: msg, phase, noResponse: !gotHead }
      return { code: 'WT_CONNECTION_CLOSED', message: `${code ? `${code}: ` : ''}${msg}`, phase, noResponse: !gotHead }
  }
}

/** The request target for undici: origin-form, or absolute-form through a forward proxy. */
export function requestTarget(url: URL, dialed: DialResult): string {
  return dialed.forward ? dialed.forward.requestTarget : url.pathname + url.search
}

/** Request headers in undici's flat array form, keeping order, case and duplicates. */
export function flatHeaders(pairs: HeaderPairs): string[] {
  const out: string[] = []
  for (const [k, v] of pairs) out.push(k, v)
  return out
}

export function hasHeader(pairs: HeaderPairs, name: string): boolean {
  const lower = name.toLowerCase()
  return pairs.some(([k]) => k.toLowerCase() === lower)
}

/** Sleeps that end early when the transport is closed (ctx.sleep ends only on abort). */
export class Waker {
  private readonly pending = new Set<() => void>()
  stopped = false

  sleep(ctx: TransportContext, delay: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      let done = false
      const wake = (): void => {
        if (done) return
        done = true
        this.pending.delete(wake)
        resolve(false)
      }
      this.pending.add(wake)
      void ctx.sleep(delay).then((ok) => {
        if (done) return
        done = true
        this.pending.delete(wake)
        resolve(ok && !this.stopped)
      })
    })
  }

  stop(): void {
    this.stopped = true
    for (const w of [...this.pending]) w()
  }
}

/**
 * Reads the response's status line off the socket without taking bytes from undici: undici
 * reads with 'readable' + read(), and a 'data' listener then only observes what read() returns
 * (it does not switch the socket to flowing mode). Detaches after the first line (or 256
 * bytes). Gives the HTTP version undici does not expose ("1.0" behind an old proxy).
 */
export function sniffStatusLine(socket: Socket, onLine: (version: string, line: string) => void): () => void {
  let seen = ''
  const onData = (chunk: Buffer): void => {
    seen += chunk.subarray(0, 256 - seen.length).toString('latin1')
    const eol = seen.indexOf('\r\n')
    if (eol >= 0 || seen.length >= 256) {
      socket.removeListener('data', onData)
      const line = eol >= 0 ? seen.slice(0, eol) : seen
      const m = /^HTTP\/(\d(?:\.\d)?) /.exec(line)
      onLine(m ? m[1]! : '?', line)
    }
  }
  socket.on('data', onData)
  return () => socket.removeListener('data', onData)
}
