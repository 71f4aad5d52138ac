/**
 * HTTP/2 over node:http2 on a socket from ctx.dial: TLS with ALPN h2, or h2c with prior
 * knowledge for http:// URLs. One session, several streams (the request repeated N times at
 * once and/or a list of paths), responses read as they arrive. Recorded: session SETTINGS
 * (local and remote), PING RTT on an interval, GOAWAY (code, last stream id), and per
 * stream: headers sent, response headers, each DATA chunk's size, trailers, RST_STREAM with
 * its code name, end. Flow-control windows go into stats through sample().
 *
 * When ALPN does not give h2, we say what was negotiated (WT_H2_ALPN) instead of trying.
 * Every wait has a timeout that names where it stuck (WT_H2_TIMEOUT): the server's SETTINGS,
 * each stream's response headers, PING acks; a stream that goes quiet longer than the
 * timeout is reported (once) without being cut, since streaming responses may pause.
 */
import http2 from 'node:http2'
import type { Socket } from 'node:net'
import type { EventDraft, H2StreamEvent, HeaderPairs, StatsEvent } from '../../common/events/index.ts'
import type { SendItem } from '../../common/spec/index.ts'
import { WiretraceError, exitCodeFor, type ErrorCode } from '../../common/errors/index.ts'
import type { DialResult, Transport, TransportContext } from '../engine/types.ts'
import { TIME_ORIGIN, mono, ms } from '../engine/clock.ts'
import { parseTargetUrl } from '../engine/validate.ts'
import { SECRET_HEADERS } from '../../common/redact.ts'
import { bodyOf, maybeRedactHeaders, maybeRedactUrl } from './http/exchange.ts'

const C = http2.constants
/** nghttp2's NGHTTP2_ERR_PROTO (not in http2.constants): node:http2 reports a peer that is not HTTP/2 with it. */
const NGHTTP2_ERR_PROTO = -505

/** HTTP/2 error code -> name (RFC 9113 section 7). */
export const H2_ERROR_NAMES: Record<number, string> = {
  0: 'NO_ERROR',
  1: 'PROTOCOL_ERROR',
  2: 'INTERNAL_ERROR',
  3: 'FLOW_CONTROL_ERROR',
  4: 'SETTINGS_TIMEOUT',
  5: 'STREAM_CLOSED',
  6: 'FRAME_SIZE_ERROR',
  7: 'REFUSED_STREAM',
  8: 'CANCEL',
  9: 'COMPRESSION_ERROR',
  10: 'CONNECT_ERROR',
  11: 'ENHANCE_YOUR_CALM',
  12: 'INADEQUATE_SECURITY',
  13: 'HTTP_1_1_REQUIRED',
}
export function h2ErrorName(code: number): string {
  return H2_ERROR_NAMES[code] ?? `UNKNOWN_${code}`
}

/** Headers HTTP/2 forbids (connection-specific); dropped with a note. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host'])

function settingsRecord(s: http2.Settings | undefined): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {}
  if (!s) return out
  for (const [k, v] of Object.entries(s)) if (typeof v === 'number' || typeof v === 'boolean') out[k] = v
  return out
}

function headerPairs(h: http2.IncomingHttpHeaders): HeaderPairs {
  // for-in instead of Object.entries: no [k, v] array per header (one response per stream, 20,000 streams).
  const out: HeaderPairs = []
  for (const k in h) {
    const v = h[k]
    if (v === undefined) continue
    if (typeof v === 'string') out.push([k, v])
    else if (Array.isArray(v)) for (const x of v) out.push([k, x])
    else out.push([k, String(v)])
  }
  return out
}

/**
 * DATA chunks are recorded per stream in batches: one `h2.stream` `data` event carries every
 * chunk's size (`sizes`) and arrival time (`times`, wall-clock ms like `ts`), `size` being their
 * sum. Nothing is lost; a 512 MiB stream gives ~40 events instead of ~40,000. A batch is emitted
 * when it holds DATA_BATCH_MAX chunks, when its first chunk is DATA_FLUSH_MS old (checked on
 * every chunk and by one timer per connection), and before the stream's trailers, RST or end.
 */
const DATA_BATCH_MAX = 1024
const DATA_FLUSH_MS = 20

export function createH2Transport(ctx: TransportContext): Transport {
  const spec = ctx.spec
  const url = parseTargetUrl(spec.url, 'h2')
  const o = spec.h2 ?? {}
  const conn = ctx.id
  const c = ctx.counters
  const body = bodyOf(spec)
  const method = (spec.method ?? (body ? 'POST' : 'GET')).toUpperCase()
  const secure = url.protocol === 'https:'
  const noBodyDefault = method === 'GET' || method === 'HEAD'
  const timeoutMs = o.timeoutMs ?? 10_000
  const copies = Math.max(1, Math.floor(o.concurrency ?? 1))
  const paths = o.paths?.length ? o.paths : [url.pathname + url.search]
  for (const p of paths) if (!p.startsWith('/')) throw new WiretraceError('WT_OPTION_INVALID', `h2.paths entries must start with "/", got ${JSON.stringify(p)}`)
  if (!secure && o.priorKnowledge === false) {
    throw new WiretraceError('WT_OPTION_INVALID', 'h2 over http:// needs prior knowledge (h2c upgrade from HTTP/1.1 is not supported): use an https:// URL or leave priorKnowledge on')
  }
  const totalStreams = paths.length * copies
  const settings: http2.Settings = { enablePush: false }
  if (o.initialWindowSize !== undefined) settings.initialWindowSize = o.initialWindowSize
  if (o.maxFrameSize !== undefined) settings.maxFrameSize = o.maxFrameSize

  let session: http2.ClientHttp2Session | null = null
  let socket: Socket | null = null
  let stopped = false
  let pingTimer: NodeJS.Timeout | null = null
  let settle: ((r: { exit: number; reason: string }) => void) | null = null
  /** Streams in flight, by their records (a stream reaches its record through K_REC: no map lookup per callback). */
  const live = new Set<LiveRec>()
  let sweepTimer: NodeJS.Timeout | null = null
  const sentCache = new Map<string, HeaderPairs>()
  /** Request headers per path (at most paths.length entries). */
  const reqHeaders = new Map<string, http2.OutgoingHttpHeaders>()
  /** Streams with a DATA batch started in the last DATA_FLUSH_MS (listed once each; the flush timer prunes it). */
  const pendingData: LiveRec[] = []
  let flushTimer: NodeJS.Timeout | null = null
  let flushAll: () => void = () => {}
  /** Request header pairs as recorded, computed once per path (copies share them). */
  const sentPairs = (path: string, h: http2.OutgoingHttpHeaders): HeaderPairs => {
    let p = sentCache.get(path)
    if (!p) {
      p = maybeRedactHeaders(spec, headerPairs(h as http2.IncomingHttpHeaders))
      if (sentCache.size < 1000) sentCache.set(path, p)
    }
    return p
  }

  const emit = (d: EventDraft): void => {
    ctx.emit(d)
  }
  const done = (exit: number, reason: string): void => {
    const s = settle
    if (!s) return
    settle = null
    if (pingTimer) clearInterval(pingTimer)
    pingTimer = null
    if (sweepTimer) clearInterval(sweepTimer)
    sweepTimer = null
    if (flushTimer) clearTimeout(flushTimer)
    flushTimer = null
    flushAll()
    s({ exit, reason })
  }
  const fail = (code: ErrorCode, phase: 'handshake' | 'open' | 'tls', message: string, detail?: Record<string, unknown>): void => {
    // One fatal error per run: after the run ended (stopped, or an earlier failure), nothing more is claimed.
    if (!settle) return
    emit({ type: 'error', conn, code, phase, message, fatal: true, ...(detail ? { detail } : {}) })
    done(exitCodeFor(code), message)
  }

  const userHeaders: Record<string, string | string[]> = {}
  for (const [k, v] of spec.headers ?? []) {
    const lower = k.toLowerCase()
    if (CONNECTION_HEADERS.has(lower)) continue
    const prev = userHeaders[lower]
    userHeaders[lower] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  const dropped = (spec.headers ?? []).filter(([k]) => CONNECTION_HEADERS.has(k.toLowerCase())).map(([k]) => k)

  async function run(): Promise<{ exit: number; reason: string }> {
    const startedAt = mono()
    emit({ type: 'conn.state', conn, state: 'connecting', attempt: 1 })
    if (dropped.length) emit({ type: 'note', conn, text: `dropped connection-specific headers HTTP/2 forbids: ${dropped.join(', ')}`, source: 'engine' })
    let dialed: DialResult
    try {
      // h2c through a plain HTTP proxy must be tunnelled (CONNECT), never forwarded: dial sees 'h2' offered and tunnels.
      dialed = await ctx.dial({ url, secure, alpn: ['h2', 'http/1.1'], tls: spec.tls, network: spec.network, purpose: 'http', signal: ctx.signal })
    } catch (e) {
      if (stopped || ctx.signal.aborted) return { exit: 0, reason: 'stopped' }
      const we = e instanceof WiretraceError ? e : new WiretraceError('WT_INTERNAL', String(e))
      const phase = (we.detail?.phase as 'tcp' | 'tls' | 'dns' | 'proxy' | undefined) ?? 'tcp'
      emit({ type: 'error', conn, code: we.code, phase, message: we.message, fatal: true, ...(we.detail ? { detail: we.detail } : {}) })
      return { exit: exitCodeFor(we.code), reason: we.message }
    }
    socket = dialed.socket as Socket
    // What the path already read on this socket (a proxy's CONNECT or SOCKS reply): not the server's answer.
    const bytesAtDial = socket.bytesRead ?? 0
    if (secure && dialed.alpn !== 'h2') {
      const got = dialed.alpn ?? 'nothing'
      const message = `ALPN negotiated ${dialed.alpn ? `"${dialed.alpn}"` : 'no protocol'} instead of "h2" (offered h2, http/1.1): the server${dialed.route !== 'DIRECT' ? ' or the proxy in the path' : ' (or a TLS-intercepting proxy)'} does not speak HTTP/2 here`
      emit({ type: 'error', conn, code: 'WT_H2_ALPN', phase: 'tls', message, fatal: true, detail: { alpn: dialed.alpn, offered: ['h2', 'http/1.1'], route: dialed.route } })
      emit({
        type: 'diagnosis',
        conn,
        code: 'WT_H2_ALPN',
        severity: 'error',
        title: `HTTP/2 not negotiated: ALPN gave ${got}`,
        explanation:
          'The TLS handshake finished without selecting h2. Either the server does not enable HTTP/2 on this port, or something that terminates TLS in between (a corporate interception proxy, a load balancer) only speaks HTTP/1.1. Check the issuer in the TLS event: an unexpected issuer means interception.',
        suggestions: ['Try --transport stream or sse (HTTP/1.1) for the same URL.', 'Compare with a direct connection, without the proxy.'],
      })
      socket.destroy()
      return { exit: exitCodeFor('WT_H2_ALPN'), reason: message }
    }
    return await new Promise((resolve) => {
      settle = resolve
      const s = http2.connect(url.origin, {
        createConnection: () => socket!,
        settings,
        maxSessionMemory: 64,
      } as http2.ClientSessionOptions)
      session = s
      let gotRemote = false
      let streamLimit = 100
      let started = 0
      let finished = 0
      let failedStreams = 0
      let lastStreamError: ErrorCode | null = null
      /** The silence each way on this connection when it broke (idle-cut diagnosis). */
      const silence = (): { sinceLastInMs: number; sinceLastOutMs: number } => {
        const now = mono()
        return { sinceLastInMs: Math.round(now - Math.max(c.lastInAt, startedAt)), sinceLastOutMs: Math.round(now - Math.max(c.lastOutAt, startedAt)) }
      }
      // The TCP (or TLS) connection closed under unfinished streams, without GOAWAY: node then
      // closes each stream with CANCEL, which is not an RST_STREAM from the server. Reported
      // once, with the silence each way (idle-cut diagnosis), instead of one reset per stream.
      let connectionLost = false
      let lostMessage = ''
      socket!.once('close', () => {
        // Before the server's SETTINGS no stream was opened: the session's error or close says what happened.
        if (stopped || !settle || !gotRemote || finished >= totalStreams || lastStreamError === 'WT_H2_GOAWAY') return
        connectionLost = true
        lostMessage = `the connection closed with ${totalStreams - finished} of ${totalStreams} stream(s) unfinished (no GOAWAY from the server)`
        emit({ type: 'error', conn, code: 'WT_CONNECTION_CLOSED', phase: 'open', message: lostMessage, fatal: true, ...silence() })
      })
      /**
       * Bytes the server sent on this h2c connection, read off the socket (null over TLS, where
       * the count would be TLS records, handshake included, not HTTP/2 bytes).
       */
      const h2cBytesIn = (): number | null => (secure ? null : Math.max(0, (socket?.bytesRead ?? 0) - bytesAtDial))
      /**
       * The server answered, but not with an HTTP/2 SETTINGS frame: nghttp2 said so (`why`), or
       * the server sent bytes and closed before a complete one (`why` null). node:http2 reads
       * the socket natively (nghttp2 consumes the TCP handle, a 'data' listener sees nothing)
       * and the server speaks only after the preface node:http2 writes itself, so those bytes
       * never reach JavaScript and cannot be quoted; their count and nghttp2's verdict can.
       */
      const notHttp2 = (why: string | null): void => {
        if (!settle) return
        const n = h2cBytesIn()
        const got = n === null ? '' : ` (${n} byte(s) received)`
        const verdict = why
          ? `the server's first bytes${got} were not an HTTP/2 SETTINGS frame (node:http2: ${why})`
          : `the server sent bytes${got} and closed without a complete HTTP/2 SETTINGS frame`
        const message = secure
          ? `${verdict}: ALPN selected h2 but the server does not speak HTTP/2`
          : `${verdict}: the server does not speak HTTP/2 with prior knowledge (h2c) on this port; an HTTP/1.1 server answers the h2c preface ("PRI * HTTP/2.0") with an HTTP/1.1 error such as 400 and closes`
        fail('WT_H2_PROTOCOL', 'handshake', message, { waitingFor: 'settings', priorKnowledge: !secure, ...(n === null ? {} : { bytesReceived: n }) })
        if (!secure) {
          emit({
            type: 'diagnosis',
            conn,
            code: 'WT_H2_PROTOCOL',
            severity: 'error',
            title: 'The server does not speak h2c on this port',
            explanation: `HTTP/2 over http:// starts with prior knowledge: the client sends the HTTP/2 preface at once and expects the server's SETTINGS frame back. This server answered with ${n} byte(s) that are not HTTP/2, which is what an HTTP/1.1-only server does (it reads "PRI * HTTP/2.0" as a bad HTTP/1.1 request). Most servers and proxies offer HTTP/2 only over TLS, negotiated by ALPN; h2c needs to be enabled explicitly, and some servers only offer it after an HTTP/1.1 Upgrade, which Wiretrace does not send.`,
            suggestions: [
              'Use the https:// URL: HTTP/2 is then negotiated by ALPN (and WT_H2_ALPN says plainly if it is not).',
              'To watch this endpoint over HTTP/1.1, use --transport stream or sse (or poll) with the same URL.',
              'If the server should speak h2c, check that prior-knowledge h2c is enabled on this port (not only the Upgrade path).',
            ],
          })
        } else {
          emit({
            type: 'diagnosis',
            conn,
            code: 'WT_H2_PROTOCOL',
            severity: 'error',
            title: 'ALPN chose h2, but what answered does not speak HTTP/2',
            explanation:
              'The TLS handshake selected h2, so the client sent the HTTP/2 preface; what came back was not an HTTP/2 SETTINGS frame. Whatever terminates TLS here advertises h2 without speaking it, or hands the connection to an HTTP/1.1 backend: a misconfigured load balancer or TLS terminator, or an intercepting proxy (see the issuer in the TLS event).',
            suggestions: [
              'Watch the same URL over HTTP/1.1: --transport stream or sse.',
              'Compare with a direct connection, without the proxy, and check the TLS issuer.',
              'Ask the operator of the endpoint to offer h2 in ALPN only where HTTP/2 is served.',
            ],
          })
        }
        s.destroy()
      }
      const settingsTimer = setTimeout(() => {
        if (gotRemote) return
        fail('WT_H2_TIMEOUT', 'handshake', `waiting for the server's SETTINGS frame: nothing within ${timeoutMs} ms${secure ? '' : ' (with prior knowledge over http://, an HTTP/1.1-only server may just wait)'}`, { waitingFor: 'settings', timeoutMs })
        s.destroy()
      }, timeoutMs)

      s.on('localSettings', (ls) => {
        emit({ type: 'h2.session', conn, alpn: secure ? dialed.alpn : 'h2c', localSettings: settingsRecord(ls), remoteSettings: settingsRecord(s.remoteSettings), which: 'local-settings' })
      })
      s.on('remoteSettings', (rs) => {
        const first = !gotRemote
        gotRemote = true
        // session.remoteSettings allocates on every read: keep the limit from the event.
        streamLimit = Math.max(1, Math.min(1000, rs.maxConcurrentStreams ?? 100))
        clearTimeout(settingsTimer)
        emit({ type: 'h2.session', conn, alpn: secure ? dialed.alpn : 'h2c', localSettings: settingsRecord(s.localSettings), remoteSettings: settingsRecord(rs), which: 'remote-settings' })
        if (!first) return
        if (o.sessionWindowSize !== undefined) {
          try {
            s.setLocalWindowSize(o.sessionWindowSize)
          } catch (e) {
            emit({ type: 'error', conn, code: 'WT_OPTION_INVALID', phase: 'open', message: `h2.sessionWindowSize: ${(e as Error).message}`, fatal: false })
          }
        }
        const now = mono()
        emit({ type: 'open', conn, durationMs: ms(now - startedAt), protocol: secure ? 'h2' : 'h2c', phases: { ...dialed.phases, handshake: ms(now - startedAt - sumPhases(dialed.phases)) } })
        emit({ type: 'conn.state', conn, state: 'open', attempt: 1 })
        startPings(s)
        startSweep()
        pump()
      })
      s.on('connect', () => {
        emit({ type: 'h2.session', conn, alpn: secure ? dialed.alpn : 'h2c', localSettings: settingsRecord(s.localSettings), remoteSettings: {}, which: 'connect' })
      })
      s.on('goaway', (errorCode: number, lastStreamID: number, opaqueData?: Buffer) => {
        emit({
          type: 'h2.goaway',
          conn,
          errorCode,
          errorName: h2ErrorName(errorCode),
          lastStreamId: lastStreamID,
          ...(opaqueData && opaqueData.length ? { opaqueData: opaqueData.toString('utf8') } : {}),
        })
        if (errorCode !== 0) {
          lastStreamError = 'WT_H2_GOAWAY'
          emit({ type: 'error', conn, code: 'WT_H2_GOAWAY', phase: 'open', message: `the server sent GOAWAY ${h2ErrorName(errorCode)} (last stream ${lastStreamID})`, fatal: false, detail: { errorCode, lastStreamId: lastStreamID } })
        }
      })
      s.on('error', (e: Error & { code?: string; errno?: number }) => {
        // After the run ended (stopped, or already failed): nothing more to claim.
        if (!settle) return
        const m = e.message
        if (!gotRemote) {
          // node:http2 turns nghttp2's "unexpected data while we expected SETTINGS frame" into
          // ERR_HTTP2_ERROR with NGHTTP2_ERR_PROTO: the peer answered, but not with HTTP/2.
          if (e.code === 'ERR_HTTP2_ERROR' && e.errno === NGHTTP2_ERR_PROTO) notHttp2(m)
          else fail('WT_H2_PROTOCOL', 'handshake', `the HTTP/2 session failed before the server's SETTINGS: ${m}${secure ? '' : ' (is the server speaking HTTP/2 with prior knowledge on this port?)'}`, { errno: e.code })
        } else {
          const code: ErrorCode = e.code === 'ERR_HTTP2_SESSION_ERROR' || e.code === 'ERR_HTTP2_ERROR' ? 'WT_H2_PROTOCOL' : 'WT_CONNECTION_RESET'
          const message = `the HTTP/2 session failed: ${m}`
          emit({ type: 'error', conn, code, phase: 'open', message, fatal: true, detail: { errno: e.code }, ...(code === 'WT_CONNECTION_RESET' ? silence() : {}) })
          done(exitCodeFor(code), message)
        }
      })
      s.on('close', () => {
        clearTimeout(settingsTimer)
        for (const r of live) r.st.destroy()
        if (stopped) return done(0, 'stopped')
        // Already reported (a fatal error, the settings timeout): one fatal error per run.
        if (!settle) return
        if (!gotRemote) {
          const n = h2cBytesIn()
          if (n !== null && n > 0) return notHttp2(null)
          const message = secure
            ? 'the server closed the connection after ALPN h2, before sending its SETTINGS frame'
            : 'the server closed the connection before sending its SETTINGS frame (nothing received; with prior knowledge over http://: does the server speak HTTP/2 on this port?)'
          emit({ type: 'error', conn, code: 'WT_CONNECTION_CLOSED', phase: 'handshake', message, fatal: true, detail: { waitingFor: 'settings', ...(n === null ? {} : { bytesReceived: n }) }, ...silence() })
          return done(exitCodeFor('WT_CONNECTION_CLOSED'), message)
        }
        if (finished < totalStreams && !connectionLost) {
          const code: ErrorCode = lastStreamError ?? 'WT_CONNECTION_CLOSED'
          const message = `the session closed with ${totalStreams - finished} of ${totalStreams} stream(s) unfinished`
          emit({ type: 'error', conn, code, phase: 'open', message, fatal: true, ...(code === 'WT_CONNECTION_CLOSED' ? silence() : {}) })
          return done(exitCodeFor(code), message)
        }
        if (connectionLost) return done(exitCodeFor('WT_CONNECTION_CLOSED'), lostMessage)
        done(failedStreams ? exitCodeFor(lastStreamError ?? 'WT_H2_STREAM_RESET') : 0, failedStreams ? `${failedStreams} of ${totalStreams} stream(s) failed` : `${totalStreams} stream(s) done`)
      })

      /**
       * One timer for every stream's waits (cheaper than two timers per stream): response
       * headers overdue -> cancel the stream and say so; DATA quiet for too long -> say so once.
       */
      function startSweep(): void {
        sweepTimer = setInterval(() => {
          const now = mono()
          for (const r of live) {
            if (!r.gotResponse) {
              if (!r.quietWarned && now - r.openedAt >= timeoutMs) {
                r.quietWarned = true
                emit({ type: 'error', conn, code: 'WT_H2_TIMEOUT', phase: 'open', message: `stream ${r.id || '?'} (${r.path}): no response headers within ${timeoutMs} ms; cancelling it`, fatal: false, detail: { waitingFor: 'response-headers', streamId: r.id, path: r.path, timeoutMs } })
                lastStreamError = 'WT_H2_TIMEOUT'
                r.st.close(C.NGHTTP2_CANCEL)
              }
            } else if (!r.quietWarned && now - r.lastData >= timeoutMs) {
              r.quietWarned = true
              emit({ type: 'error', conn, code: 'WT_H2_TIMEOUT', phase: 'open', message: `stream ${r.id} (${r.path}): no DATA for ${Math.round(now - r.lastData)} ms; still waiting`, fatal: false, detail: { waitingFor: 'data', streamId: r.id, path: r.path, timeoutMs } })
            }
          }
        }, Math.max(20, Math.min(1000, Math.floor(timeoutMs / 5))))
        sweepTimer.unref?.()
      }

      /** Emits a stream's pending DATA chunks as one event (no-op when none are pending). */
      function flushData(r: LiveRec): void {
        const sizes = r.dSizes
        if (sizes === null) return
        const times = r.dTimes!
        r.dSizes = r.dTimes = null
        const size = r.dBytes
        r.dBytes = 0
        // A one-chunk batch keeps the plain shape ({size}) plus its arrival time.
        ctx.emit({ seq: 0, ts: 0, conn, type: 'h2.stream', streamId: r.id, phase: 'data', size, ...(sizes.length > 1 ? { sizes } : {}), times } as H2StreamEvent)
      }
      /** The per-connection timer: emits every batch whose first chunk is DATA_FLUSH_MS old. */
      function flushAllData(): void {
        flushTimer = null
        const now = mono()
        let keep = 0
        let next = Infinity
        for (let i = 0; i < pendingData.length; i++) {
          const r = pendingData[i]!
          if (r.dSizes !== null && now - r.dFirst >= DATA_FLUSH_MS - 1) flushData(r)
          if (r.dSizes === null) r.dQueued = false
          else {
            pendingData[keep++] = r
            next = Math.min(next, r.dFirst + DATA_FLUSH_MS - now)
          }
        }
        pendingData.length = keep
        if (keep > 0) armFlush(Math.max(1, next))
      }
      function armFlush(delay: number): void {
        flushTimer = setTimeout(flushAllData, delay)
        flushTimer.unref?.()
      }
      flushAll = (): void => {
        for (const r of pendingData) {
          flushData(r)
          r.dQueued = false
        }
        pendingData.length = 0
      }

      /** Starts requests while the server's concurrency limit allows. */
      function pump(): void {
        const limit = streamLimit
        while (started < totalStreams && live.size < limit && !s.closed && !s.destroyed && !stopped) {
          const path = paths[started % paths.length]!
          started++
          openStream(path)
        }
      }

      // Per-stream listeners are shared functions (node calls them with `this` = the stream) and
      // per-stream state lives in one record: no closures per stream, which matters at 20,000 streams.
      const recOf = (st: http2.ClientHttp2Stream): LiveRec => {
        const r = (st as StreamWithRec)[K_REC]!
        if (!r.id) r.id = st.id ?? 0
        return r
      }
      function onReady(this: http2.ClientHttp2Stream): void {
        const r = recOf(this)
        const path = r.path
        // Copies of a request carry the same headers: recorded on the first stream of each path only.
        const first = !sentCache.has(path)
        const ev = { seq: 0, ts: 0, conn, type: 'h2.stream', streamId: r.id, phase: 'headers-sent' } as H2StreamEvent
        if (first) ev.headers = sentPairs(path, r.headers)
        ctx.emit(ev)
        if (first && finished === 0 && started === 1) {
          emit({ type: 'http.request', conn, method, url: maybeRedactUrl(spec, new URL(path, url).toString()), headers: sentPairs(path, r.headers), ref: `h2-${r.id}`, ...(body ? { bodySize: body.length } : {}) })
        }
      }
      function onResponse(this: http2.ClientHttp2Stream, h: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
        const r = recOf(this)
        r.gotResponse = true
        const now = mono()
        r.lastData = now
        const status = Number(h[':status'] ?? 0)
        const pairs = headerPairs(h)
        let secret = false
        for (let i = 0; i < pairs.length; i++) {
          const k = pairs[i]![0]
          c.bytesIn += k.length + pairs[i]![1].length
          if (SECRET_HEADERS.has(k)) secret = true
        }
        c.lastInAt = now
        ctx.emit({ seq: 0, ts: 0, conn, type: 'h2.stream', streamId: r.id, phase: 'response', status, headers: secret ? maybeRedactHeaders(spec, pairs) : pairs } as H2StreamEvent)
        if (status >= 400) {
          if (lastStreamError !== 'WT_H2_STATUS') {
            // Once per connection: 20,000 copies answered 503 should not give 20,000 errors.
            emit({ type: 'error', conn, code: 'WT_H2_STATUS', phase: 'open', message: `stream ${r.id} (${r.path}) answered ${status}`, fatal: false, detail: { status, streamId: r.id } })
          }
          lastStreamError = 'WT_H2_STATUS'
          failedStreams++
        }
      }
      function onData(this: http2.ClientHttp2Stream, chunk: Buffer): void {
        const r = recOf(this)
        const now = mono()
        const n = chunk.length
        r.lastData = now
        c.bytesIn += n
        c.lastInAt = now
        c.msgsIn++
        let sizes = r.dSizes
        if (sizes === null) {
          sizes = r.dSizes = []
          r.dTimes = []
          r.dFirst = now
          if (!r.dQueued) {
            r.dQueued = true
            pendingData.push(r)
          }
          if (flushTimer === null) armFlush(DATA_FLUSH_MS)
        }
        sizes.push(n)
        r.dTimes!.push(Math.round((TIME_ORIGIN + now) * 1000) / 1000)
        r.dBytes += n
        if (sizes.length >= DATA_BATCH_MAX || now - r.dFirst >= DATA_FLUSH_MS) flushData(r)
        ctx.countMessageIn()
      }
      function onTrailers(this: http2.ClientHttp2Stream, h: http2.IncomingHttpHeaders): void {
        const r = recOf(this)
        flushData(r)
        emit({ type: 'h2.stream', conn, streamId: r.id, phase: 'trailers', headers: maybeRedactHeaders(spec, headerPairs(h)) })
      }
      function onStreamError(): void {
        /* reported on close with the RST code */
      }
      function onClose(this: http2.ClientHttp2Stream): void {
        const r = recOf(this)
        const id = r.id
        flushData(r)
        live.delete(r)
        finished++
        const code = this.rstCode ?? 0
        if (code !== C.NGHTTP2_NO_ERROR || (!this.readableEnded && !stopped)) {
          if (!(stopped && code === C.NGHTTP2_CANCEL)) {
            const name = h2ErrorName(code)
            emit({ type: 'h2.stream', conn, streamId: id, phase: 'rst', rstCode: code, rstName: name })
            if (connectionLost && code === C.NGHTTP2_CANCEL) failedStreams++
            else if (!stopped) {
              if (lastStreamError !== 'WT_H2_TIMEOUT') lastStreamError = 'WT_H2_STREAM_RESET'
              failedStreams++
              emit({ type: 'error', conn, code: 'WT_H2_STREAM_RESET', phase: 'open', message: `stream ${id} (${r.path}) was reset with ${name} (${code})${r.gotResponse ? ' during the response body' : ' before any response'}`, fatal: false, detail: { streamId: id, rstCode: code, rstName: name } })
            }
          }
        } else {
          ctx.emit({ seq: 0, ts: 0, conn, type: 'h2.stream', streamId: id, phase: 'end' } as H2StreamEvent)
        }
        maybeEnd()
        pump()
      }

      function openStream(path: string): void {
        // One headers object per path, shared by its copies (node copies it in request()).
        let headers = reqHeaders.get(path)
        if (headers === undefined) {
          headers = { ...userHeaders, ':method': method, ':path': path, ':scheme': secure ? 'https' : 'http', ':authority': url.host }
          reqHeaders.set(path, headers)
        }
        let st: http2.ClientHttp2Stream
        try {
          // GET/HEAD without a body: node ends the stream by default; no options object to copy and validate.
          st = body ? s.request(headers, { endStream: false }) : noBodyDefault ? s.request(headers) : s.request(headers, { endStream: true })
        } catch (e) {
          failedStreams++
          finished++
          lastStreamError = 'WT_H2_PROTOCOL'
          emit({ type: 'error', conn, code: 'WT_H2_PROTOCOL', phase: 'open', message: `cannot open a stream for ${path}: ${(e as Error).message}`, fatal: false })
          return maybeEnd()
        }
        c.msgsOut++
        if (body) {
          st.end(body)
          c.bytesOut += body.length
        }
        const at = mono()
        c.lastOutAt = at
        const rec: LiveRec = { openedAt: at, lastData: 0, gotResponse: false, quietWarned: false, path, id: 0, st, headers, dSizes: null, dTimes: null, dBytes: 0, dFirst: 0, dQueued: false }
        ;(st as StreamWithRec)[K_REC] = rec
        live.add(rec)
        // 'ready' may already have fired inside request() when the session was up.
        if (st.id) onReady.call(st)
        else st.on('ready', onReady) // fires once; on() avoids once()'s wrapper closure per stream
        st.on('response', onResponse)
        st.on('data', onData)
        st.on('trailers', onTrailers)
        st.on('error', onStreamError)
        st.on('close', onClose)
      }

      function maybeEnd(): void {
        if (finished >= totalStreams && !s.closed) s.close()
      }
    })
  }

  function startPings(s: http2.ClientHttp2Session): void {
    const every = o.pingIntervalMs ?? 0
    if (every <= 0) return
    let waiting = false
    const ping = (): void => {
      if (s.closed || s.destroyed || waiting) return
      waiting = true
      c.lastOutAt = mono()
      const t = setTimeout(() => {
        if (!waiting) return
        emit({ type: 'error', conn, code: 'WT_H2_TIMEOUT', phase: 'open', message: `PING not acknowledged within ${timeoutMs} ms`, fatal: false, detail: { waitingFor: 'ping-ack', timeoutMs } })
      }, timeoutMs)
      t.unref?.()
      const ok = s.ping((err, duration) => {
        waiting = false
        clearTimeout(t)
        if (!err) {
          c.lastInAt = mono()
          emit({ type: 'h2.ping', conn, rttMs: ms(duration) })
        }
      })
      if (!ok) {
        waiting = false
        clearTimeout(t)
      }
    }
    ping()
    pingTimer = setInterval(ping, every)
    pingTimer.unref?.()
  }

  return {
    async start(): Promise<void> {
      const r = await run()
      emit({ type: 'conn.state', conn, state: r.exit === 0 ? 'closed' : 'failed', attempt: 1, reason: r.reason })
      ctx.finish(r.reason, r.exit)
    },
    send(_item: SendItem): void {
      throw new WiretraceError('WT_OPTION_INVALID', 'an h2 connection cannot send messages after the requests started')
    },
    close(): void {
      stopped = true
      const s = session
      if (!s || s.closed) return done(0, 'closed')
      for (const r of live) r.st.close(C.NGHTTP2_CANCEL)
      s.close()
      setTimeout(() => {
        if (!s.destroyed) s.destroy()
        done(0, 'closed')
      }, 1000).unref()
    },
    destroy(): void {
      stopped = true
      session?.destroy()
      socket?.destroy()
      done(0, 'destroyed')
    },
    sample(): Partial<StatsEvent> {
      const s = session
      if (!s || s.destroyed) return socket ? { writableLength: socket.writableLength } : {}
      const st = s.state
      return {
        ...(st.localWindowSize !== undefined ? { h2LocalWindow: st.localWindowSize } : {}),
        ...(st.remoteWindowSize !== undefined ? { h2RemoteWindow: st.remoteWindowSize } : {}),
        ...(socket ? { writableLength: socket.writableLength } : {}),
      }
    },
  }
}

/** A stream's record, kept on the stream itself (one property, the same for every stream). */
const K_REC = Symbol('wiretrace.h2.rec')
type StreamWithRec = http2.ClientHttp2Stream & { [K_REC]?: LiveRec }

interface LiveRec {
  openedAt: number
  lastData: number
  gotResponse: boolean
  quietWarned: boolean
  path: string
  id: number
  st: http2.ClientHttp2Stream
  headers: http2.OutgoingHttpHeaders
  /** Pending DATA chunks (see DATA_BATCH_MAX): sizes, wall-clock arrival times, total bytes. */
  dSizes: number[] | null
  dTimes: number[] | null
  dBytes: number
  dFirst: number
  /** In pendingData (so a stream is listed once). */
  dQueued: boolean
}

function sumPhases(p: DialResult['phases']): number {
  return (p.dns ?? 0) + (p.tcp ?? 0) + (p.proxy ?? 0) + (p.tls ?? 0)
}
