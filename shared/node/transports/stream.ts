/**
 * Raw streamed responses over HTTP/1.1 (chunked or plain): NDJSON streams, LLM streams that
 * are not SSE. Each chunk's arrival is recorded (`chunk`: size, gap); the bytes go into
 * `stream.data` (one per chunk) or, with line splitting, `stream.line` (one per line, the
 * sans-IO LineSplitter). No reconnect: the stream is one request.
 */
import type { Client, Dispatcher } from 'undici'
import type { Socket } from 'node:net'
import type { ChunkEvent, EventDraft, HeaderPairs, StatsEvent, StreamDataEvent, StreamLineEvent } from '../../common/events/index.ts'
import type { SendItem } from '../../common/spec/index.ts'
import { WiretraceError, exitCodeFor, type ErrorCode } from '../../common/errors/index.ts'
import { LineSplitter } from '../../common/parsers/lines.ts'
import type { DialResult, Transport, TransportContext } from '../engine/types.ts'
import { mono, ms } from '../engine/clock.ts'
import { parseTargetUrl } from '../engine/validate.ts'
import {
  HeadCapture,
  bodyOf,
  flatHeaders,
  headBytes,
  mapHttpError,
  maybeRedactHeaders,
  maybeRedactUrl,
  parseRequestHead,
  payloadOf,
  pipelineClient,
  rawPairs,
  requestTarget,
  sniffStatusLine,
} from './http/exchange.ts'
import { diagnoseStatus, forwardedProxyAnswer } from './http/diagnose.ts'

export function createStreamTransport(ctx: TransportContext): Transport {
  const spec = ctx.spec
  const url = parseTargetUrl(spec.url, 'stream')
  const o = spec.stream ?? {}
  const limits = ctx.limits
  const conn = ctx.id
  const c = ctx.counters
  const body = bodyOf(spec)
  const method = (spec.method ?? (body ? 'POST' : 'GET')).toUpperCase()
  const maxRecorded = limits.maxRecordedPayload
  let client: Client | null = null
  let controller: Dispatcher.DispatchController | null = null
  let socket: Socket | null = null
  let stopped = false
  let settle: ((r: { exit: number; reason: string }) => void) | null = null

  const emit = (d: EventDraft): void => {
    ctx.emit(d)
  }
  const done = (exit: number, reason: string): void => {
    const s = settle
    if (!s) return
    settle = null
    try {
      controller?.abort(new WiretraceError('WT_ABORTED', reason))
    } catch {
      /* done already */
    }
    s({ exit, reason })
  }

  const splitter = o.lines
    ? new LineSplitter(
        {
          line(bytes, index) {
            c.msgsIn++
            const ev = { seq: 0, ts: 0, conn, type: 'stream.line', index, ...payloadOf(bytes, maxRecorded) } as StreamLineEvent
            ctx.emit(ev)
            ctx.countMessageIn()
          },
          error(code, message, detail) {
            emit({ type: 'error', conn, code, phase: 'open', message, fatal: true, detail })
            done(exitCodeFor(code), message)
          },
        },
        { maxLineBytes: o.maxLineBytes ?? limits.maxSseLineBytes },
      )
    : null

  async function runOnce(): Promise<{ exit: number; reason: string }> {
    const startedAt = mono()
    emit({ type: 'conn.state', conn, state: 'connecting', attempt: 1 })
    let dialed: DialResult
    try {
      dialed = await ctx.dial({ url, secure: url.protocol === 'https:', alpn: ['http/1.1'], tls: spec.tls, network: spec.network, purpose: 'http', signal: ctx.signal })
    } catch (e) {
      if (stopped || ctx.signal.aborted) return { exit: 0, reason: 'stopped' }
      const we = e instanceof WiretraceError ? e : new WiretraceError('WT_INTERNAL', String(e))
      const phase = (we.detail?.phase as 'tcp' | 'tls' | 'dns' | 'proxy' | undefined) ?? 'tcp'
      emit({ type: 'error', conn, code: we.code, phase, message: we.message, fatal: true, ...(we.detail ? { detail: we.detail } : {}) })
      return { exit: exitCodeFor(we.code), reason: we.message }
    }
    socket = dialed.socket as Socket
    const headers: HeaderPairs = [...(spec.headers ?? []), ...(dialed.forward?.headers ?? [])]
    if (body && !headers.some(([k]) => k.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/json'])
    const capture = new HeadCapture(limits.maxHeaderBytes)
    let requestAt = mono()
    capture.attach(socket, (head) => {
      requestAt = capture.writtenAt
      c.lastOutAt = requestAt
      const p = parseRequestHead(head)
      c.bytesOut += head.length + 4 + (body?.length ?? 0)
      emit({ type: 'http.request', conn, method: p.method || method, url: maybeRedactUrl(spec, url.toString()), headers: maybeRedactHeaders(spec, p.headers), ...(body ? { bodySize: body.length } : {}) })
    })
    const cl = pipelineClient(ctx, url, dialed, { headersTimeoutMs: limits.connectTimeoutMs, maxHeaderBytes: limits.maxHeaderBytes })
    client = cl
    const r = await new Promise<{ exit: number; reason: string }>((resolve) => {
      settle = resolve
      let gotHead = false
      let httpVersion = '1.1'
      let index = 0
      let last = 0
      let statusError: ErrorCode | null = null
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(ctl) {
          controller = ctl
          if (socket) sniffStatusLine(socket, (v) => (httpVersion = v))
        },
        onResponseStart(ctl, status, _h, statusText) {
          if (status < 200) return
          gotHead = true
          const pairs = rawPairs(ctl.rawHeaders as Buffer[] | null)
          const now = mono()
          c.bytesIn += headBytes(status, statusText ?? '', pairs)
          c.lastInAt = now
          last = now
          emit({ type: 'http.response', conn, status, statusText: statusText ?? '', httpVersion, headers: maybeRedactHeaders(spec, pairs), durationMs: ms(now - requestAt) })
          const proxy = status >= 400 ? forwardedProxyAnswer(conn, spec, dialed, status, statusText ?? '', pairs) : null
          if (proxy) {
            // Forward mode: the proxy answered itself (407, or 502-504 with its Via / error header).
            statusError = proxy.code
            emit({ type: 'error', conn, code: proxy.code, phase: 'proxy', message: `${proxy.message}; the body is recorded as the stream`, fatal: false, detail: { status, route: dialed.route, mode: 'forward' } })
            emit(proxy.diagnosis)
          } else if (status >= 400) {
            statusError = 'WT_HTTP_STATUS'
            emit({ type: 'error', conn, code: 'WT_HTTP_STATUS', phase: 'handshake', message: `the server answered ${status}${statusText ? ` ${statusText}` : ''}; the body is recorded as the stream`, fatal: false, detail: { status } })
            emit({ conn, ...diagnoseStatus('WT_HTTP_STATUS', status, statusText ?? '', pairs, 'a stream', '') })
          }
          emit({ type: 'open', conn, durationMs: ms(now - startedAt), phases: { ...dialed.phases, handshake: ms(now - requestAt) } })
          emit({ type: 'conn.state', conn, state: 'open', attempt: 1 })
        },
        onResponseData(_ctl, chunk) {
          if (!settle) return
          const now = mono()
          c.bytesIn += chunk.length
          c.lastInAt = now
          ctx.emit({ seq: 0, ts: 0, conn, type: 'chunk', size: chunk.length, index, gapMs: ms(now - last) } as ChunkEvent)
          last = now
          if (splitter) splitter.push(chunk)
          else {
            c.msgsIn++
            const ev = { seq: 0, ts: 0, conn, type: 'stream.data', index, ...payloadOf(chunk, maxRecorded) } as StreamDataEvent
            ctx.emit(ev)
            ctx.countMessageIn()
          }
          index++
        },
        onResponseEnd() {
          if (!settle) return
          splitter?.end()
          done(statusError ? exitCodeFor(statusError) : 0, 'the server ended the stream')
        },
        onResponseError(_ctl, err) {
          if (!settle) return
          if (stopped) return done(0, 'stopped')
          const m = mapHttpError(err, gotHead)
          const ev: EventDraft = { type: 'error', conn, code: m.code, phase: m.phase, message: m.message, fatal: true }
          if (m.code === 'WT_CONNECTION_CLOSED' || m.code === 'WT_CONNECTION_RESET') {
            // The silence each way when it broke (idle-cut diagnosis): the last chunk's arrival time is already kept.
            const now = mono()
            ev.sinceLastInMs = Math.round(now - Math.max(c.lastInAt, startedAt))
            ev.sinceLastOutMs = Math.round(now - Math.max(c.lastOutAt, startedAt))
          }
          emit(ev)
          done(exitCodeFor(m.code), m.message)
        },
      }
      try {
        cl.dispatch({ origin: url.origin, path: requestTarget(url, dialed), method: method as Dispatcher.HttpMethod, headers: flatHeaders(headers), body: body ?? null }, handler)
      } catch (e) {
        const message = `the request cannot be sent: ${(e as Error).message}`
        emit({ type: 'error', conn, code: 'WT_OPTION_INVALID', phase: 'handshake', message, fatal: true })
        done(exitCodeFor('WT_OPTION_INVALID'), message)
      }
    })
    capture.detach()
    cl.destroy().catch(() => {})
    socket?.destroy()
    return r
  }

  return {
    async start(): Promise<void> {
      const r = await runOnce()
      emit({ type: 'conn.state', conn, state: r.exit === 0 ? 'closed' : 'failed', attempt: 1, reason: r.reason })
      ctx.finish(r.reason, r.exit)
    },
    send(_item: SendItem): void {
      throw new WiretraceError('WT_OPTION_INVALID', 'a stream connection cannot send messages (the request body is sent once)')
    },
    close(): void {
      stopped = true
      done(0, 'closed')
      client?.destroy().catch(() => {})
    },
    destroy(): void {
      stopped = true
      done(0, 'destroyed')
      client?.destroy().catch(() => {})
      socket?.destroy()
    },
    sample(): Partial<StatsEvent> {
      return socket ? { writableLength: socket.writableLength } : {}
    },
  }
}
