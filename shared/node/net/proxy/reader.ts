/**
 * Pull-style reads over a socket for the short proxy exchanges (CONNECT, SOCKS): wait for N
 * bytes, a response head, or the end. Bounded; aborts with the signal; gives leftover bytes
 * back to the socket when released so the next layer (TLS, ws) sees them.
 */
import type { Socket } from 'node:net'
import { WiretraceError } from '../../../common/errors/index.ts'

export class SocketReader {
  private buf: Buffer = Buffer.alloc(0)
  private ended = false
  private error: Error | null = null
  private wake: (() => void) | null = null
  // 'readable' + read() rather than 'data': removing the last 'readable' listener puts the
  // stream back in its initial state (flowing null), so the next consumer's 'data' listener
  // (http client, TLS) starts it again. A paused socket would stall them.
  private readonly onReadable = (): void => {
    let d: Buffer | null
    while ((d = this.socket.read() as Buffer | null) !== null) {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d
    }
    this.wake?.()
  }
  private readonly onEnd = (): void => {
    this.ended = true
    this.wake?.()
  }
  private readonly onError = (e: Error): void => {
    this.error = e
    this.wake?.()
  }
  private readonly onAbort = (): void => this.wake?.()

  constructor(
    readonly socket: Socket,
    private readonly signal: AbortSignal,
    private readonly what: string,
  ) {
    socket.on('readable', this.onReadable)
    socket.on('end', this.onEnd)
    socket.on('close', this.onEnd)
    socket.on('error', this.onError)
    signal.addEventListener('abort', this.onAbort)
  }

  get closed(): boolean {
    return this.ended
  }

  private async waitMore(): Promise<void> {
    if (this.signal.aborted) throw new WiretraceError('WT_ABORTED', `stopped during ${this.what}`, { phase: 'proxy' })
    if (this.error) throw this.error
    if (this.ended) return
    await new Promise<void>((r) => (this.wake = r))
    this.wake = null
    if (this.signal.aborted) throw new WiretraceError('WT_ABORTED', `stopped during ${this.what}`, { phase: 'proxy' })
    if (this.error) throw this.error
  }

  /** Feeds bytes to `consume` until it returns a value; `consume` gets everything buffered so far. */
  async until<T>(consume: (chunk: Buffer) => T | null): Promise<T> {
    for (;;) {
      if (this.buf.length) {
        const chunk = this.buf
        this.buf = Buffer.alloc(0)
        const r = consume(chunk)
        if (r !== null) return r
      }
      if (this.ended) throw new WiretraceError('WT_PROXY_CLOSED', `the proxy closed the connection during ${this.what}`, { phase: 'proxy' })
      await this.waitMore()
    }
  }

  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new WiretraceError('WT_PROXY_CLOSED', `the proxy closed the connection during ${this.what}`, { phase: 'proxy', got: this.buf.length, wanted: n })
      await this.waitMore()
    }
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  /** Reads up to `max` bytes, stopping at `n` total or the end of the stream, or after `idleMs` without data. */
  async readSome(n: number, idleMs: number): Promise<Buffer> {
    const deadline = Date.now() + idleMs
    while (this.buf.length < n && !this.ended && Date.now() < deadline) {
      const t = setTimeout(() => this.wake?.(), Math.max(1, deadline - Date.now()))
      try {
        await this.waitMore()
      } catch (e) {
        if (e instanceof WiretraceError && e.code === 'WT_ABORTED') throw e
        break
      } finally {
        clearTimeout(t)
      }
    }
    const out = this.buf.subarray(0, Math.min(n, this.buf.length))
    this.buf = this.buf.subarray(out.length)
    return out
  }

  unshift(b: Buffer): void {
    if (b.length) this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : b
  }

  /** Stops listening; leftover bytes go back to the socket for the next reader. */
  release(): Socket {
    const s = this.socket
    s.removeListener('readable', this.onReadable)
    s.removeListener('end', this.onEnd)
    s.removeListener('close', this.onEnd)
    s.removeListener('error', this.onError)
    this.signal.removeEventListener('abort', this.onAbort)
    if (this.buf.length) s.unshift(this.buf)
    this.buf = Buffer.alloc(0)
    return s
  }
}
