/**
 * Long-poll: a loop of requests on an undici Client whose connections come from ctx.dial.
 * The next request's cursor comes from the previous response (JSON path or header) and goes
 * into a query parameter or header. Each cycle is one `poll.cycle` event: what was sent, how
 * long the server held it, status, headers, body (capped at maxPollBodyBytes, the cap
 * recorded), outcome. The scheduler (delay, backoff with jitter, caps) and the doctor
 * (constant hold-time cuts, 502/504 from an intermediary, empty replies) are pure, in
 * shared/common/parsers/poll.ts.
 */
import type { Client, Dispatcher } from 'undici'
import type { Socket } from 'node:net'
import type { EventDraft, HeaderPairs, PollCycleEvent, StatsEvent } from '../../common/events/index.ts'
import type { SendItem } from '../../common/spec/index.ts'
import { WiretraceError, exitCodeFor, type ErrorCode } from '../../common/errors/index.ts'
import { resolveReconnect } from '../../common/backoff.ts'
import {
  PollDoctor,
  PollScheduler,
  applyCursor,
  extractCursor,
  parseJsonPath,
  type PathSegment,
  type PollOutcome,
} from '../../common/parsers/poll.ts'
import type { DialResult, Transport, TransportContext } from '../engine/types.ts'
import { mono, ms } from '../engine/clock.ts'
import { parseTargetUrl } from '../engine/validate.ts'
import {
  Waker,
  bodyOf,
  flatHeaders,
  headBytes,
  mapHttpError,
  maybeRedactHeaders,
  maybeRedactUrl,
  payloadOf,
  pipelineClient,
  rawPairs,
} from './http/exchange.ts'
import { forwardedProxyAnswer } from './http/diagnose.ts'

interface CycleResult {
  outcome: PollOutcome
  status: number | null
  statusText: string
  heldMs: number
  durationMs: number
  headers: HeaderPairs
  body: Buffer | null
  bodySize: number
  errorCode?: ErrorCode
  errorMessage?: string
  noResponse: boolean
  /** On a closed or reset exchange: the silence each way on its connection (idle-cut diagnosis). */
  sinceLastInMs?: number
  sinceLastOutMs?: number
}

/** Per poll loop: when its current connection started and its last byte in (mono ms). */
interface LoopTrack {
  socketAt: number
  lastIn: number
}

export function createPollTransport(ctx: TransportContext): Transport {
  const spec = ctx.spec
  const url = parseTargetUrl(spec.url, 'poll')
  const o = spec.poll ?? {}
  const limits = ctx.limits
  const conn = ctx.id
  const c = ctx.counters
  const body = bodyOf(spec)
  const method = (spec.method ?? (body ? 'POST' : 'GET')).toUpperCase()
  const timeoutMs = o.timeoutMs ?? 60_000
  const policy = resolveReconnect({ initialDelayMs: 500, maxDelayMs: 30_000, ...spec.reconnect })
  const bodyCap = Math.min(limits.maxPollBodyBytes, limits.maxRecordedPayload)
  const loops = Math.max(1, Math.floor(o.concurrency ?? 1))
  let jsonPath: PathSegment[] | undefined
  if (o.cursorFrom?.json) {
    try {
      jsonPath = parseJsonPath(o.cursorFrom.json)
    } catch (e) {
      throw new WiretraceError('WT_OPTION_INVALID', `poll.cursorFrom.json: ${(e as Error).message}`)
    }
  }
  if (o.cursorFrom && !o.cursorTo) throw new WiretraceError('WT_OPTION_INVALID', 'poll.cursorFrom is set but not poll.cursorTo (a query parameter or header for the next request)')

  const clients = new Set<Client>()
  const sockets = new Set<Socket>()
  const controllers = new Set<Dispatcher.DispatchController>()
  let stopped = false
  const waker = new Waker()
  let opened = false
  let cycleIndex = 0
  let requestRecorded = false
  const doctor = new PollDoctor()
  let lastFailure: { code: ErrorCode; message: string } | null = null
  const proxyReported = new Set<string>()

  const emit = (d: EventDraft): void => {
    ctx.emit(d)
  }

  function oneCycle(cl: Client, path: string, headers: HeaderPairs, track: LoopTrack): Promise<CycleResult> {
    return new Promise((resolve) => {
      const t0 = mono()
      let sentAt = t0
      let headAt = 0
      let status: number | null = null
      let statusText = ''
      let pairs: HeaderPairs = []
      const kept: Buffer[] = []
      let keptLen = 0
      let size = 0
      let done = false
      let ctl: Dispatcher.DispatchController | null = null
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        ctl?.abort(new WiretraceError('WT_POLL_TIMEOUT', `no complete response within ${timeoutMs} ms`))
      }, timeoutMs)
      const finish = (r: Omit<CycleResult, 'durationMs' | 'statusText'>): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        if (ctl) controllers.delete(ctl)
        resolve({ ...r, statusText, durationMs: ms(mono() - t0) })
      }
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          ctl = controller
          controllers.add(controller)
          sentAt = mono()
          c.lastOutAt = sentAt
          if (stopped) controller.abort(new WiretraceError('WT_ABORTED', 'stopped'))
        },
        onResponseStart(controller, st, _h, text) {
          if (st < 200) return
          headAt = mono()
          status = st
          statusText = text ?? ''
          pairs = rawPairs(controller.rawHeaders as Buffer[] | null)
          c.bytesIn += headBytes(st, statusText, pairs)
          c.lastInAt = track.lastIn = headAt
        },
        onResponseData(_controller, chunk) {
          size += chunk.length
          c.bytesIn += chunk.length
          c.lastInAt = track.lastIn = mono()
          if (keptLen < bodyCap) {
            const take = Math.min(chunk.length, bodyCap - keptLen)
            kept.push(take === chunk.length ? chunk : chunk.subarray(0, take))
            keptLen += take
          }
        },
        onResponseEnd() {
          const st = status ?? 0
          const outcome: PollOutcome = st >= 400 ? 'http-error' : size === 0 ? 'empty' : 'data'
          finish({ outcome, status, heldMs: ms(headAt - sentAt), headers: pairs, body: Buffer.concat(kept), bodySize: size, noResponse: false })
        },
        onResponseError(_controller, err) {
          const gotHead = status !== null
          const now = mono()
          if (timedOut) {
            finish({ outcome: 'timeout', status, heldMs: ms(now - sentAt), headers: pairs, body: kept.length ? Buffer.concat(kept) : null, bodySize: size, errorCode: 'WT_POLL_TIMEOUT', errorMessage: `no complete response within ${timeoutMs} ms (client timeout)`, noResponse: false })
            return
          }
          const m = mapHttpError(err, gotHead)
          const cut = m.code === 'WT_CONNECTION_CLOSED' || m.code === 'WT_CONNECTION_RESET'
          finish({
            outcome: 'error', status, heldMs: ms((gotHead ? headAt : now) - sentAt), headers: pairs, body: kept.length ? Buffer.concat(kept) : null, bodySize: size, errorCode: m.code, errorMessage: m.message, noResponse: m.noResponse,
            ...(cut ? { sinceLastInMs: Math.round(now - Math.max(track.lastIn, track.socketAt)), sinceLastOutMs: Math.round(now - Math.max(sentAt, track.socketAt)) } : {}),
          })
        },
      }
      try {
        cl.dispatch({ origin: url.origin, path, method: method as Dispatcher.HttpMethod, headers: flatHeaders(headers), body: body ?? null }, handler)
      } catch (e) {
        finish({ outcome: 'error', status: null, heldMs: 0, headers: [], body: null, bodySize: 0, errorCode: 'WT_OPTION_INVALID', errorMessage: `the request cannot be sent: ${(e as Error).message}`, noResponse: false })
      }
    })
  }

  async function loop(loopIndex: number): Promise<{ clean: boolean; reason: string }> {
    const scheduler = new PollScheduler({
      delayMs: o.delayMs ?? 0,
      initialDelayMs: policy.initialDelayMs,
      maxDelayMs: policy.maxDelayMs,
      // backoff: false retries a failed cycle after the same delay every time (no growth, no jitter).
      multiplier: o.backoff === false ? 1 : policy.multiplier,
      jitter: o.backoff === false ? 'none' : policy.jitter,
      maxCycles: o.maxCycles ?? 0,
      maxConsecutiveErrors: o.maxConsecutiveErrors ?? 10,
    })
    // The first connection is dialled up front, so the route (forward proxy or not) is known.
    let dialed: DialResult | null = null
    for (;;) {
      try {
        dialed = await ctx.dial({ url, secure: url.protocol === 'https:', alpn: ['http/1.1'], tls: spec.tls, network: spec.network, purpose: 'http', signal: ctx.signal })
        break
      } catch (e) {
        if (stopped || ctx.signal.aborted) return { clean: true, reason: 'stopped' }
        const we = e instanceof WiretraceError ? e : new WiretraceError('WT_INTERNAL', String(e))
        lastFailure = { code: we.code, message: we.message }
        const d = scheduler.next('error')
        const phase = (we.detail?.phase as 'tcp' | 'tls' | 'dns' | 'proxy' | undefined) ?? 'tcp'
        emit({ type: 'error', conn, code: we.code, phase, message: we.message, fatal: d.action === 'stop', ...(we.detail ? { detail: we.detail } : {}) })
        if (d.action === 'stop') return { clean: false, reason: d.reason }
        emit({ type: 'conn.state', conn, state: 'reconnecting', attempt: scheduler.cycles + 1, delayMs: d.delayMs, reason: we.message })
        if (!(await waker.sleep(ctx, d.delayMs)) || stopped) return { clean: true, reason: 'stopped' }
      }
    }
    const track: LoopTrack = { socketAt: mono(), lastIn: 0 }
    const cl = pipelineClient(ctx, url, dialed, {
      headersTimeoutMs: timeoutMs,
      maxHeaderBytes: limits.maxHeaderBytes,
      onSocket: (s) => {
        track.socketAt = mono()
        sockets.add(s)
        s.once('close', () => sockets.delete(s))
      },
    })
    clients.add(cl)
    let cursor = o.initialCursor
    const baseHeaders: HeaderPairs = [...(spec.headers ?? []), ...(dialed.forward?.headers ?? [])]
    if (body && !baseHeaders.some(([k]) => k.toLowerCase() === 'content-type')) baseHeaders.push(['Content-Type', 'application/json'])
    try {
      for (;;) {
        if (stopped) return { clean: true, reason: 'stopped' }
        const req = applyCursor(url.toString(), baseHeaders, o.cursorTo ?? {}, cursor)
        // The request target: origin-form (or absolute-form through a forward proxy), without re-parsing when possible.
        const prefix = url.origin + '/'
        const hash = req.url.indexOf('#')
        const noHash = hash === -1 ? req.url : req.url.slice(0, hash)
        const path = dialed.forward ? noHash : noHash.startsWith(prefix) ? noHash.slice(url.origin.length) : ((t) => t.pathname + t.search)(new URL(noHash))
        if (!requestRecorded) {
          requestRecorded = true
          emit({
            type: 'http.request',
            conn,
            method,
            url: maybeRedactUrl(spec, req.url),
            headers: maybeRedactHeaders(spec, req.headers),
            ...(body ? { bodySize: body.length } : {}),
            ref: 'poll-0',
          })
        }
        c.msgsOut++
        c.bytesOut += (body?.length ?? 0) + 64
        const r = await oneCycle(cl, path, req.headers, track)
        if (stopped && r.outcome !== 'data' && r.outcome !== 'empty') return { clean: true, reason: 'stopped' }
        const index = cycleIndex++
        let nextCursor: string | undefined
        if (o.cursorFrom && r.outcome === 'empty') {
          // Nothing new, but a header may still move the cursor; an empty body has no JSON to read (not an error).
          const got = extractCursor(o.cursorFrom, r.headers, null, jsonPath)
          if (got.ok) nextCursor = got.value
        } else if (o.cursorFrom && r.outcome === 'data') {
          const got = extractCursor(o.cursorFrom, r.headers, r.body ? r.body.toString('utf8') : null, jsonPath)
          if (got.ok) nextCursor = got.value
          else {
            const truncated = r.bodySize > bodyCap ? ` (the body was cut at maxPollBodyBytes = ${bodyCap})` : ''
            emit({ type: 'error', conn, code: 'WT_POLL_CURSOR', phase: 'open', message: `cycle ${index}: cannot read the cursor: ${got.reason}${truncated}; keeping the previous cursor`, fatal: false })
          }
        }
        if (!opened && r.status !== null) {
          opened = true
          emit({ type: 'open', conn, durationMs: r.heldMs, phases: { ...dialed.phases, handshake: r.heldMs } })
          emit({ type: 'conn.state', conn, state: 'open', attempt: 1 })
        }
        const ev = {
          seq: 0,
          ts: 0,
          conn,
          type: 'poll.cycle',
          index,
          method,
          url: maybeRedactUrl(spec, req.url),
          status: r.status,
          heldMs: r.heldMs,
          durationMs: r.durationMs,
          outcome: r.outcome,
        } as PollCycleEvent
        if (cursor !== undefined) ev.cursor = cursor
        if (nextCursor !== undefined) ev.nextCursor = nextCursor
        if (r.headers.length) ev.headers = maybeRedactHeaders(spec, r.headers)
        if (r.body && r.bodySize > 0) {
          const p = payloadOf(r.body, bodyCap)
          p.size = r.bodySize
          if (r.bodySize > r.body.length) {
            p.truncated = true
            ev.bodyCap = bodyCap
          }
          ev.body = p
        }
        // Forward mode: a 407, or a 502-504 with the proxy's Via / error header, is the proxy's own answer.
        const proxy = r.outcome === 'http-error' && r.status !== null ? forwardedProxyAnswer(conn, spec, dialed, r.status, r.statusText, r.headers) : null
        if (r.errorCode) ev.errorCode = r.errorCode
        else if (proxy) ev.errorCode = proxy.code
        if (loops > 1) ev.loop = loopIndex
        // A message is a reply that carried data: what msgsIn and maxMessages count (not timeouts, errors or empty replies).
        if (r.outcome === 'data') c.msgsIn++
        ctx.emit(ev)
        if (r.errorCode && r.errorMessage) {
          lastFailure = { code: r.errorCode, message: r.errorMessage }
          const err: EventDraft = { type: 'error', conn, code: r.errorCode, phase: r.status === null ? 'handshake' : 'open', message: `cycle ${index}: ${r.errorMessage}`, fatal: false }
          if (r.sinceLastInMs !== undefined && r.sinceLastOutMs !== undefined) {
            err.sinceLastInMs = r.sinceLastInMs
            err.sinceLastOutMs = r.sinceLastOutMs
          }
          emit(err)
        } else if (proxy) {
          lastFailure = { code: proxy.code, message: `cycle ${index}: ${proxy.message}` }
          emit({ type: 'error', conn, code: proxy.code, phase: 'proxy', message: `cycle ${index}: ${proxy.message}`, fatal: false, detail: { status: r.status, route: dialed.route, mode: 'forward' } })
          // Once per code: a proxy asking for credentials on every cycle is one finding.
          if (!proxyReported.has(proxy.code)) {
            proxyReported.add(proxy.code)
            emit(proxy.diagnosis)
          }
        } else if (r.outcome === 'http-error') {
          lastFailure = { code: 'WT_HTTP_STATUS', message: `cycle ${index}: status ${r.status}` }
        }
        for (const d of doctor.observe({ outcome: r.outcome, status: r.status, heldMs: r.heldMs, bodySize: r.bodySize, headers: r.headers, errorCode: r.errorCode, noResponse: r.noResponse })) {
          // The proxy's own 502/504 is named above; the doctor's guess about "an intermediary" would repeat it.
          if (proxy && d.code === 'WT_POLL_INTERMEDIARY') continue
          emit({ conn, ...d })
        }
        if (r.outcome === 'data') ctx.countMessageIn()
        if (nextCursor !== undefined) cursor = nextCursor
        const d = scheduler.next(r.outcome)
        if (d.action === 'stop') {
          if (!d.clean && lastFailure) emit({ type: 'error', conn, code: 'WT_POLL_FAILED', phase: 'open', message: `${d.reason}; last: ${lastFailure.message}`, fatal: true })
          return { clean: d.clean, reason: d.reason }
        }
        if (stopped) return { clean: true, reason: 'stopped' }
        if (d.backoff) emit({ type: 'conn.state', conn, state: 'reconnecting', attempt: scheduler.consecutiveErrors + 1, delayMs: d.delayMs, reason: r.errorMessage ?? `status ${r.status}` })
        if (d.delayMs > 0 && !(await waker.sleep(ctx, d.delayMs))) return { clean: true, reason: 'stopped' }
        if (d.backoff && !stopped) emit({ type: 'conn.state', conn, state: 'open', attempt: scheduler.consecutiveErrors + 1 })
      }
    } finally {
      clients.delete(cl)
      cl.destroy().catch(() => {})
    }
  }

  return {
    async start(): Promise<void> {
      emit({ type: 'conn.state', conn, state: 'connecting', attempt: 1 })
      const results = await Promise.all(Array.from({ length: loops }, (_, i) => loop(i)))
      const bad = results.find((r) => !r.clean)
      if (stopped || ctx.signal.aborted || !bad) {
        emit({ type: 'conn.state', conn, state: 'closed', attempt: 1, reason: results[0]!.reason })
        return ctx.finish(stopped ? 'stopped' : results[0]!.reason, 0)
      }
      emit({ type: 'conn.state', conn, state: 'failed', attempt: 1, reason: bad.reason })
      ctx.finish(bad.reason, exitCodeFor(lastFailure?.code ?? 'WT_POLL_FAILED'))
    },
    send(_item: SendItem): void {
      throw new WiretraceError('WT_OPTION_INVALID', 'a long-poll connection cannot send messages (each request carries the configured body)')
    },
    close(): void {
      stopped = true
      waker.stop()
      for (const ctl of controllers) ctl.abort(new WiretraceError('WT_ABORTED', 'closed'))
    },
    destroy(): void {
      stopped = true
      waker.stop()
      for (const ctl of controllers) ctl.abort(new WiretraceError('WT_ABORTED', 'destroyed'))
      for (const cl of clients) cl.destroy().catch(() => {})
      for (const s of sockets) s.destroy()
    },
    sample(): Partial<StatsEvent> {
      let w = 0
      for (const s of sockets) w += s.writableLength
      return sockets.size ? { writableLength: w } : {}
    },
  }
}
