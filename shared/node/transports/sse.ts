/**
 * Server-Sent Events over undici (Client.dispatch, the primitive under `request`), not an
 * EventSource: we see the raw status, headers, each chunk's arrival and timing. Parsing is
 * the sans-IO SseParser (WHATWG rules). Behaviour follows EventSource where it matters:
 *
 * - a status other than 200, a 204, or a Content-Type other than text/event-stream fails
 *   the connection for good (no reconnect), with a diagnosis naming the cause;
 * - a network error or the end of the stream reconnects after the reconnection time (the
 *   server's `retry:` or ours), sending Last-Event-ID as the UTF-8 bytes of the last id;
 *   reconnect is on by default; optional exponential backoff with full jitter on top;
 * - after a resume, numeric ids that repeat or skip are flagged (`sse.resume`);
 * - an expected heartbeat: a warning when no byte arrives within N ms.
 */
import type { Client } from 'undici'
import type { Dispatcher } from 'undici'
import type { Socket } from 'node:net'
import type { ChunkEvent, EventDraft, HeaderPairs, SseEvent, StatsEvent } from '../../common/events/index.ts'
import type { SendItem } from '../../common/spec/index.ts'
import { WiretraceError, exitCodeFor, type ErrorCode } from '../../common/errors/index.ts'
import { backoffAbove, resolveReconnect } from '../../common/backoff.ts'
import { SseParser, type SseSink } from '../../common/parsers/sse.ts'
import type { Transport, TransportContext, DialResult } from '../engine/types.ts'
import { mono, ms, TIME_ORIGIN } from '../engine/clock.ts'
import { parseTargetUrl } from '../engine/validate.ts'
import {
  HeadCapture,
  Waker,
  bodyOf,
  decodeBuf,
  flatHeaders,
  hasHeader,
  headBytes,
  headerOf,
  mapHttpError,
  maybeRedactHeaders,
  maybeRedactUrl,
  parseRequestHead,
  pipelineClient,
  rawPairs,
  requestTarget,
  sniffStatusLine,
  utf8HeaderValue,
} from './http/exchange.ts'
import { diagnoseContentType, diagnoseStatus, forwardedProxyAnswer } from './http/diagnose.ts'

/** An attempt open this long without an event (comments only) still counts as a good one for backoff. */
const PRODUCTIVE_OPEN_MS = 30_000

/** Our reconnection time when the server sets none (EventSource implementations use ~3 s). */
export const DEFAULT_SSE_RETRY_MS = 3000

interface AttemptResult {
  /** 'fatal': never reconnect; 'opened-ended': the stream ran and ended (or broke); 'failed': never opened. */
  kind: 'fatal' | 'ended' | 'failed' | 'stopped'
  code?: ErrorCode
  reason: string
}

const NUMERIC = /^-?\d{1,15}$/
/** Dial failures a reconnect cannot fix: configuration, trust, and proxy policy or credentials. */
const NO_RETRY: ReadonlySet<string> = new Set([
  'WT_TLS_CONFIG', 'WT_OPTION_INVALID', 'WT_TLS_UNTRUSTED', 'WT_TLS_HOSTNAME', 'WT_PROXY_URL_INVALID', 'WT_PROXY_ENV_INVALID',
  'WT_PROXY_AUTH_REQUIRED', 'WT_PROXY_AUTH_REJECTED', 'WT_PROXY_AUTH_UNSUPPORTED', 'WT_PROXY_CONNECT_REFUSED', 'WT_PROXY_TLS', 'WT_PROXY_TLS_HOSTNAME',
])
/** A chunk after this much silence carrying several events looks like a buffering intermediary. */
const BURST_GAP_MS = 1000
const BURST_EVENTS = 5
/**
 * Chunks this close together are one delivery: an intermediary's flush of a chunked response
 * reaches us as several body chunks (one per chunk-encoding piece, or per TCP read) well
 * under a millisecond apart, so a burst is counted over chunks that follow each other within it.
 */
const BURST_JOIN_MS = 5

export function createSseTransport(ctx: TransportContext): Transport {
  const spec = ctx.spec
  const url = parseTargetUrl(spec.url, 'sse')
  const o = spec.sse ?? {}
  const limits = ctx.limits
  const conn = ctx.id
  const c = ctx.counters
  const reconnectOn = o.reconnect ?? spec.reconnect?.enabled ?? true
  const policy = resolveReconnect({ maxAttempts: 0, ...spec.reconnect, enabled: reconnectOn })
  const ourRetry = o.retryMs ?? DEFAULT_SSE_RETRY_MS
  const heartbeatMs = o.expectHeartbeatMs ?? 0
  const body = bodyOf(spec)
  const method = (spec.method ?? (body ? 'POST' : 'GET')).toUpperCase()

  let client: Client | null = null
  let controller: Dispatcher.DispatchController | null = null
  let socket: Socket | null = null
  let stopped = false
  const waker = new Waker()
  let serverRetry: number | undefined
  let chunkIndex = 0
  /** Wall-clock arrival time of the chunk being parsed: the time of every event parsed from it. */
  let chunkTs = 0
  let lastChunkAt = 0
  // Resume check: the Last-Event-ID this attempt sent, until the first event with an id.
  let resumeFrom: string | null = null
  let settle: ((r: AttemptResult) => void) | null = null
  let hbTimer: NodeJS.Timeout | null = null
  let hbWarned = false
  let burstWarned = false
  // The delivery being counted for the burst check: it began after a gap of BURST_GAP_MS or more.
  let burstOpen = false
  let burstIndex = 0
  let burstGap = 0
  let burstEvents = 0
  /** Set when a delivery crossed the threshold: the warning goes out with its count when it ends. */
  let burstTimer: NodeJS.Timeout | null = null

  const emit = (d: EventDraft): void => {
    ctx.emit(d)
  }

  /** The stream has dispatched an event with an id field: from then on Last-Event-ID follows it. */
  let streamGaveId = false

  const sink: SseSink = {
    event(id, type, data, lastEventId, retry, size) {
      c.msgsIn++
      if (id !== undefined) streamGaveId = true
      const ev = { seq: 0, ts: 0, conn, type: 'sse.event', id, event: type, data, retry, lastEventId, size } as SseEvent
      if (resumeFrom !== null && id !== undefined) checkResume(id)
      // The data's wire bytes, when the parser took them straight from a chunk (see SseParser.dataSrc).
      const src = parser.dataSrc as Buffer | null
      if (src !== null) ctx.emitMessage(ev, src, chunkTs, parser.dataAt, parser.dataEnd)
      else ctx.emitMessage(ev, undefined, chunkTs)
      ctx.countMessageIn()
    },
    retry(v) {
      serverRetry = v
      ctx.emit({ type: 'sse.retry', conn, retryMs: v })
    },
    comment(text) {
      ctx.emit({ type: 'sse.comment', conn, text })
    },
    error(code, message, detail) {
      emit({ type: 'error', conn, code, phase: 'open', message, fatal: true, detail })
      finishAttempt({ kind: 'fatal', code, reason: message })
    },
  }
  const parser = new SseParser(sink, {
    maxLineBytes: limits.maxSseLineBytes,
    maxEventBytes: limits.maxSseEventBytes,
    lastEventId: o.lastEventId ?? '',
    decode: decodeBuf,
  })

  /** The delivery crossed the threshold: warn once it is over (no chunk within BURST_JOIN_MS), with its full count. */
  function burstSoon(): void {
    if (!settle) return
    burstWarned = true
    burstTimer = setTimeout(burstNow, BURST_JOIN_MS + 1)
    burstTimer.unref?.()
  }
  function burstNow(): void {
    if (burstTimer === null) return
    clearTimeout(burstTimer)
    burstTimer = null
    burst(burstIndex, burstGap, burstEvents)
  }

  function burst(index: number, gap: number, n: number): void {
    emit({
      type: 'diagnosis',
      conn,
      code: 'WT_SSE_BUFFERED',
      severity: 'warning',
      title: index === 0 ? `First bytes held back ${(gap / 1000).toFixed(1)} s, then ${n} events at once` : `${n} events arrived at once after ${(gap / 1000).toFixed(1)} s of silence`,
      explanation:
        'Events that a server sends one by one arrive together: something in the path buffers the stream (a reverse proxy with response buffering, compression, an antivirus or corporate proxy holding bytes until a threshold or the end). The chunk events show the timing.',
      suggestions: [
        'Compare with a direct connection (no proxy).',
        'On nginx: proxy_buffering off or X-Accel-Buffering: no; disable gzip for text/event-stream.',
        'Send a padding comment (2 KB of ":") first if an intermediary waits for a threshold.',
      ],
    })
  }

  function checkResume(firstId: string): void {
    const last = resumeFrom!
    resumeFrom = null
    if (!NUMERIC.test(last) || !NUMERIC.test(firstId)) return
    const l = Number(last)
    const f = Number(firstId)
    const duplicates = f <= l ? l - f + 1 : 0
    const gap = f > l + 1 ? f - l - 1 : 0
    emit({ type: 'sse.resume', conn, lastEventId: last, firstId, duplicates, gap })
    if (duplicates || gap) {
      emit({
        type: 'diagnosis',
        conn,
        code: 'WT_SSE_RESUME',
        severity: 'warning',
        title: duplicates ? `${duplicates} event(s) repeated after resume` : `${gap} event(s) missed after resume`,
        explanation: duplicates
          ? `We resumed with Last-Event-ID ${last} and the first event had id ${firstId}: the server replayed events the client already had.`
          : `We resumed with Last-Event-ID ${last} and the first event had id ${firstId}: ids ${l + 1}..${f - 1} never arrived.`,
        suggestions: ['Check the server reads the Last-Event-ID header and replays from the event after it.'],
      })
    }
  }

  function finishAttempt(r: AttemptResult): void {
    const s = settle
    if (!s) return
    burstNow()
    settle = null
    stopHeartbeat()
    try {
      controller?.abort(new WiretraceError('WT_ABORTED', r.reason))
    } catch {
      /* already done */
    }
    s(r)
  }

  function startHeartbeat(): void {
    if (heartbeatMs <= 0) return
    hbWarned = false
    const check = (): void => {
      hbTimer = null
      if (!settle) return
      const idle = mono() - (c.lastInAt || 0)
      if (idle >= heartbeatMs) {
        if (!hbWarned) {
          hbWarned = true
          const msg = `no byte from the server for ${Math.round(idle)} ms (expected a heartbeat at least every ${heartbeatMs} ms)`
          emit({ type: 'error', conn, code: 'WT_SSE_HEARTBEAT_MISSED', phase: 'open', message: msg, fatal: false, detail: { idleMs: Math.round(idle), expectMs: heartbeatMs } })
          emit({
            type: 'diagnosis',
            conn,
            code: 'WT_SSE_HEARTBEAT_MISSED',
            severity: 'warning',
            title: `No heartbeat for ${(idle / 1000).toFixed(1)} s`,
            explanation:
              'Nothing (no event, no comment) arrived within the expected heartbeat interval. Either the server stopped sending heartbeats, or something in the path buffers the stream (a proxy or compression holding bytes until a threshold).',
            suggestions: ['Compare with a direct connection (no proxy).', 'Check the server sends ":" comments regularly and disables response buffering (X-Accel-Buffering: no).'],
          })
        }
        hbTimer = setTimeout(check, heartbeatMs)
      } else {
        hbWarned = false
        hbTimer = setTimeout(check, heartbeatMs - idle + 1)
      }
      hbTimer.unref?.()
    }
    hbTimer = setTimeout(check, heartbeatMs)
    hbTimer.unref?.()
  }

  function stopHeartbeat(): void {
    if (hbTimer) clearTimeout(hbTimer)
    hbTimer = null
  }

  function requestHeaders(dialed: DialResult): HeaderPairs {
    const id = parser.lastEventId
    // A Last-Event-ID the user set says where the stream starts; once the stream has given an id
    // field (even an empty one, which resets it), a reconnect follows the stream, as EventSource does.
    const h: HeaderPairs = streamGaveId ? (spec.headers ?? []).filter(([k]) => k.toLowerCase() !== 'last-event-id') : [...(spec.headers ?? [])]
    if (!hasHeader(h, 'accept')) h.push(['Accept', 'text/event-stream'])
    if (!hasHeader(h, 'cache-control')) h.push(['Cache-Control', 'no-store'])
    if (id !== '' && !hasHeader(h, 'last-event-id')) {
      const value = utf8HeaderValue(id)
      // An SSE id may hold control characters (only NUL, CR, LF are impossible); undici refuses them in headers.
      if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
        emit({ type: 'note', conn, text: `the last event id ${JSON.stringify(id)} has control characters an HTTP header cannot carry here: reconnecting without Last-Event-ID`, source: 'engine' })
      } else h.push(['Last-Event-ID', value])
    }
    if (body && !hasHeader(h, 'content-type')) h.push(['Content-Type', 'application/json'])
    for (const p of dialed.forward?.headers ?? []) h.push(p)
    return h
  }

  async function runAttempt(attempt: number): Promise<AttemptResult> {
    const startedAt = mono()
    emit({ type: 'conn.state', conn, state: 'connecting', attempt })
    let dialed: DialResult
    try {
      dialed = await ctx.dial({ url, secure: url.protocol === 'https:', alpn: ['http/1.1'], tls: spec.tls, network: spec.network, purpose: 'http', signal: ctx.signal })
    } catch (e) {
      if (ctx.signal.aborted || stopped) return { kind: 'stopped', reason: 'stopped' }
      const we = e instanceof WiretraceError ? e : new WiretraceError('WT_INTERNAL', String(e))
      // Retrying cannot fix these (EventSource would loop on them forever): fail for good.
      const fatal = NO_RETRY.has(we.code)
      const phase = (we.detail?.phase as 'tcp' | 'tls' | 'dns' | 'proxy' | undefined) ?? 'tcp'
      emit({ type: 'error', conn, code: we.code, phase, message: we.message, fatal: fatal || !reconnectOn, ...(we.detail ? { detail: we.detail } : {}) })
      return { kind: fatal ? 'fatal' : 'failed', code: we.code, reason: we.message }
    }
    if (stopped) {
      dialed.socket.destroy()
      return { kind: 'stopped', reason: 'stopped' }
    }
    socket = dialed.socket as Socket
    const headers = requestHeaders(dialed)
    const sentLastEventId = parser.lastEventId
    resumeFrom = sentLastEventId !== '' ? sentLastEventId : null
    const capture = new HeadCapture(limits.maxHeaderBytes)
    let requestAt = mono()
    capture.attach(socket, (head) => {
      requestAt = capture.writtenAt
      c.lastOutAt = requestAt
      const p = parseRequestHead(head)
      c.bytesOut += head.length + 4 + (body?.length ?? 0)
      emit({
        type: 'http.request',
        conn,
        method: p.method || method,
        url: maybeRedactUrl(spec, url.toString()),
        headers: maybeRedactHeaders(spec, p.headers.length ? p.headers : headers),
        ...(body ? { bodySize: body.length } : {}),
      })
    })
    const cl = pipelineClient(ctx, url, dialed, { headersTimeoutMs: limits.connectTimeoutMs, maxHeaderBytes: limits.maxHeaderBytes })
    client = cl
    chunkIndex = 0
    // A new response: a burst is counted within one attempt only.
    burstOpen = false
    burstEvents = 0
    parser.reset()

    const result = await new Promise<AttemptResult>((resolve) => {
      settle = resolve
      let gotHead = false
      let httpVersion = '1.1'
      let failing: { code: ErrorCode; status: number; statusText: string; pairs: HeaderPairs; contentType?: string; proxy: ReturnType<typeof forwardedProxyAnswer> } | null = null
      const preview: Buffer[] = []
      let previewLen = 0
      const failNow = (): void => {
        const f = failing!
        const text = Buffer.concat(preview).subarray(0, limits.maxBodyPreviewBytes).toString('utf8')
        emit({
          type: 'http.response',
          conn,
          status: f.status,
          statusText: f.statusText,
          httpVersion,
          headers: maybeRedactHeaders(spec, f.pairs),
          durationMs: ms(mono() - requestAt),
          ...(text ? { bodyPreview: text } : {}),
        })
        let message: string
        if (f.proxy) {
          // Forward mode: the proxy answered itself (407, or 502-504 with its Via / error header).
          message = f.proxy.message
          emit({ type: 'error', conn, code: f.proxy.code, phase: 'proxy', message, fatal: true, detail: { status: f.status, route: dialed.route, mode: 'forward' } })
          emit(f.proxy.diagnosis)
          return finishAttempt({ kind: 'fatal', code: f.proxy.code, reason: message })
        }
        if (f.code === 'WT_SSE_CONTENT_TYPE') {
          message = `the response Content-Type is ${f.contentType ? JSON.stringify(f.contentType) : 'missing'}, not text/event-stream`
          emit({ type: 'error', conn, code: f.code, phase: 'handshake', message, fatal: true, detail: { status: f.status, contentType: f.contentType ?? null } })
          emit({ conn, ...diagnoseContentType(f.contentType, text) })
        } else {
          message =
            f.code === 'WT_SSE_NO_CONTENT'
              ? 'the server answered 204 No Content: it asks the client to stop reconnecting'
              : `the server answered ${f.status}${f.statusText ? ` ${f.statusText}` : ''}; an event stream needs 200`
          emit({ type: 'error', conn, code: f.code, phase: 'handshake', message, fatal: true, detail: { status: f.status } })
          emit({ conn, ...diagnoseStatus(f.code, f.status, f.statusText, f.pairs, 'an event stream', text) })
        }
        finishAttempt({ kind: 'fatal', code: f.code, reason: message })
      }
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(ctl) {
          controller = ctl
          if (socket) sniffStatusLine(socket, (v) => (httpVersion = v))
        },
        onResponseStart(ctl, status, _h, statusText) {
          if (!settle) return
          const pairs = rawPairs(ctl.rawHeaders as Buffer[] | null)
          c.bytesIn += headBytes(status, statusText ?? '', pairs)
          c.lastInAt = mono()
          if (status < 200) return
          gotHead = true
          const ct = headerOf(pairs, 'content-type')
          if (status !== 200 || !ct || ct.split(';')[0]!.trim().toLowerCase() !== 'text/event-stream') {
            failing = {
              code: status === 204 ? 'WT_SSE_NO_CONTENT' : status !== 200 ? 'WT_HTTP_STATUS' : 'WT_SSE_CONTENT_TYPE',
              status,
              statusText: statusText ?? '',
              pairs,
              contentType: ct,
              proxy: status !== 200 ? forwardedProxyAnswer(conn, spec, dialed, status, statusText ?? '', pairs) : null,
            }
            if (status === 204) return failNow()
            // Read a preview of the error body, briefly.
            const t = setTimeout(() => failing && settle && failNow(), 1000)
            t.unref?.()
            return
          }
          emit({
            type: 'http.response',
            conn,
            status,
            statusText: statusText ?? '',
            httpVersion,
            headers: maybeRedactHeaders(spec, pairs),
            durationMs: ms(mono() - requestAt),
          })
          const now = mono()
          lastChunkAt = now
          emit({ type: 'open', conn, durationMs: ms(now - startedAt), phases: { ...dialed.phases, handshake: ms(now - requestAt) } })
          emit({ type: 'conn.state', conn, state: 'open', attempt })
          startHeartbeat()
        },
        onResponseData(_ctl, chunk) {
          if (!settle) return
          const now = mono()
          c.bytesIn += chunk.length
          c.lastInAt = now
          if (failing) {
            if (previewLen < limits.maxBodyPreviewBytes) {
              preview.push(chunk)
              previewLen += chunk.length
            }
            if (previewLen >= limits.maxBodyPreviewBytes) failNow()
            return
          }
          const gap = now - lastChunkAt
          const index = chunkIndex++
          chunkTs = Math.round((TIME_ORIGIN + now) * 1000) / 1000
          ctx.emit({ seq: 0, ts: chunkTs, conn, type: 'chunk', size: chunk.length, index, gapMs: ms(gap) } as ChunkEvent)
          lastChunkAt = now
          const before = c.msgsIn
          parser.push(chunk)
          // The chunk ended the attempt (a parser limit): nothing more is told about it.
          if (!settle) return
          if (burstOpen && gap > BURST_JOIN_MS) {
            // The delivery being counted is over: warn now if it crossed the threshold.
            burstOpen = false
            burstNow()
          }
          if (!burstOpen && !burstWarned && gap >= BURST_GAP_MS) {
            burstOpen = true
            burstIndex = index
            burstGap = gap
            burstEvents = 0
          }
          if (burstOpen) {
            burstEvents += c.msgsIn - before
            // While chunks keep coming back to back the warning waits for the whole count.
            if (burstTimer !== null) burstTimer.refresh()
            else if (!burstWarned && burstEvents >= (burstIndex === 0 ? 2 : BURST_EVENTS)) burstSoon()
          }
        },
        onResponseEnd() {
          if (!settle) return
          if (failing) return failNow()
          const end = parser.end()
          if (end.discardedEvent) {
            emit({ type: 'note', conn, text: `the stream ended in the middle of an event: ${end.discardedBytes} bytes discarded${end.partialLine ? ' (last line without a line end)' : ''}, as the SSE rules say`, source: 'engine' })
          }
          finishAttempt({ kind: 'ended', reason: 'the server ended the stream' })
        },
        onResponseError(_ctl, err) {
          if (!settle) return
          if (failing) return failNow()
          if (stopped) return finishAttempt({ kind: 'stopped', reason: 'stopped' })
          const m = mapHttpError(err, gotHead)
          const fatal = m.code === 'WT_HTTP_HEADERS_TOO_LARGE' || m.code === 'WT_HTTP_PROTOCOL'
          const ev: EventDraft = { type: 'error', conn, code: m.code, phase: m.phase, message: m.message, fatal: fatal || !reconnectOn }
          if (m.code === 'WT_CONNECTION_CLOSED' || m.code === 'WT_CONNECTION_RESET') {
            // The silence each way on this connection when it broke (idle-cut diagnosis); the
            // last byte in is the last chunk's arrival time, already read for it.
            const now = mono()
            ev.sinceLastInMs = Math.round(now - Math.max(c.lastInAt, startedAt))
            ev.sinceLastOutMs = Math.round(now - Math.max(c.lastOutAt, startedAt))
          }
          emit(ev)
          finishAttempt({ kind: fatal ? 'fatal' : gotHead ? 'ended' : 'failed', code: m.code, reason: m.message })
        },
      }
      try {
        cl.dispatch(
          {
            origin: url.origin,
            path: requestTarget(url, dialed),
            method: method as Dispatcher.HttpMethod,
            headers: flatHeaders(headers),
            body: body ?? null,
          },
          handler,
        )
      } catch (e) {
        const message = `the request cannot be sent: ${(e as Error).message}`
        emit({ type: 'error', conn, code: 'WT_OPTION_INVALID', phase: 'handshake', message, fatal: true })
        finishAttempt({ kind: 'fatal', code: 'WT_OPTION_INVALID', reason: message })
      }
    })
    capture.detach()
    controller = null
    cl.destroy().catch(() => {})
    socket?.destroy()
    socket = null
    client = null
    return result
  }

  return {
    async start(): Promise<void> {
      let attempt = 0
      let failures = 0
      for (;;) {
        attempt++
        const msgsBefore = c.msgsIn
        const attemptAt = mono()
        const r = await runAttempt(attempt)
        if (stopped || ctx.signal.aborted || r.kind === 'stopped') {
          emit({ type: 'conn.state', conn, state: 'closed', attempt, reason: 'stopped' })
          return ctx.finish('stopped', 0)
        }
        if (r.kind === 'fatal') {
          emit({ type: 'conn.state', conn, state: 'failed', attempt, reason: r.reason })
          return ctx.finish(r.reason, exitCodeFor(r.code ?? 'WT_INTERNAL'))
        }
        // Consecutive attempts that came to nothing (refused, or opened and ended at once with no
        // event): what backoff counts. One that delivered events, or stayed open a while (a quiet
        // stream with only comments, cut by an idle timeout), starts it over.
        failures = c.msgsIn > msgsBefore || (r.kind === 'ended' && mono() - attemptAt >= PRODUCTIVE_OPEN_MS) ? 1 : failures + 1
        if (!reconnectOn || (policy.maxAttempts > 0 && attempt > policy.maxAttempts)) {
          const clean = r.kind === 'ended' && !r.code
          emit({ type: 'conn.state', conn, state: clean ? 'closed' : 'failed', attempt, reason: r.reason })
          return ctx.finish(r.reason, clean ? 0 : exitCodeFor(r.code ?? 'WT_CONNECTION_CLOSED'))
        }
        const base = serverRetry ?? ourRetry
        // setTimeout fires at once above 2^31-1 ms: a huge `retry:` must not become a reconnect storm.
        const delay = Math.min(2_147_483_647, o.backoff ? backoffAbove(failures, base, policy) : base)
        emit({ type: 'conn.state', conn, state: 'reconnecting', attempt, delayMs: delay, reason: r.reason })
        if (!(await waker.sleep(ctx, delay)) || stopped) {
          emit({ type: 'conn.state', conn, state: 'closed', attempt, reason: 'stopped' })
          return ctx.finish('stopped', 0)
        }
      }
    },
    send(_item: SendItem): void {
      throw new WiretraceError('WT_OPTION_INVALID', 'an SSE connection cannot send messages (the request body is sent once, at the start)')
    },
    close(): void {
      stopped = true
      waker.stop()
      finishAttempt({ kind: 'stopped', reason: 'closed' })
      client?.destroy().catch(() => {})
    },
    destroy(): void {
      stopped = true
      waker.stop()
      finishAttempt({ kind: 'stopped', reason: 'destroyed' })
      stopHeartbeat()
      client?.destroy().catch(() => {})
      socket?.destroy()
    },
    sample(): Partial<StatsEvent> {
      return socket ? { writableLength: socket.writableLength } : {}
    },
  }
}
