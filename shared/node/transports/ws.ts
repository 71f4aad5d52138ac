/**
 * The WebSocket transport, on `ws`. We own the socket (dialled through the network
 * pipeline and handed to ws with createConnection), so we see the exact bytes: the upgrade
 * request as written, the response head as received, and every frame header (a sans-IO
 * inspector runs on the same chunks before ws parses them). Messages are recorded as ws
 * delivers them, with the wire facts of their frames attached.
 */
import WebSocket from 'ws'
import type { Socket } from 'node:net'
import type { ClientRequest, IncomingMessage } from 'node:http'
import type { EventDraft, StatsEvent, WsMessageEvent } from '../../common/events/index.ts'
import type { FloodOptions, SendItem } from '../../common/spec/index.ts'
import { WiretraceError, exitCodeFor, type ErrorCode } from '../../common/errors/index.ts'
import { backoffDelay, mayRetry, resolveReconnect } from '../../common/backoff.ts'
import { closeCodeMeaning, isSendableCloseCode } from '../../common/close-codes.ts'
import { base64ToBytes } from '../../common/bytes.ts'
import { WsFrameInspector, findHeadEnd, parseHead, type FrameRoute } from '../../common/parsers/ws-frames.ts'
import { isUtf8 as bytesAreUtf8 } from 'node:buffer'
import { redactHeaders, redactUrl } from '../../common/redact.ts'
import type { Transport, TransportContext } from '../engine/types.ts'
import { mono, ms, TIME_ORIGIN } from '../engine/clock.ts'
import { parseTargetUrl } from '../engine/validate.ts'
import { forwardedProxyAnswer } from './http/diagnose.ts'

/** ws error codes -> ours. */
const WS_ERRORS: Record<string, ErrorCode> = {
  WS_ERR_INVALID_UTF8: 'WT_WS_INVALID_UTF8',
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'WT_WS_MAX_PAYLOAD',
  WS_ERR_INVALID_OPCODE: 'WT_WS_PROTOCOL',
  WS_ERR_UNEXPECTED_RSV_1: 'WT_WS_PROTOCOL',
  WS_ERR_UNEXPECTED_RSV_2_3: 'WT_WS_PROTOCOL',
  WS_ERR_EXPECTED_FIN: 'WT_WS_PROTOCOL',
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 'WT_WS_PROTOCOL',
  WS_ERR_UNEXPECTED_MASK: 'WT_WS_PROTOCOL',
  WS_ERR_EXPECTED_MASK: 'WT_WS_PROTOCOL',
  WS_ERR_INVALID_CLOSE_CODE: 'WT_WS_PROTOCOL',
}

class Attempt {
  ws: WebSocket | null = null
  socket: Socket | null = null
  closeSent = false
  /** Our ping payloads awaiting a pong: payload text -> send time (bounded). */
  readonly pings = new Map<string, number>()
  heartbeat: NodeJS.Timeout | null = null
  pongTimer: NodeJS.Timeout | null = null
  halfOpen = false
  opened = false
  startedAt = mono()
  // Wire facts of completed data messages, FIFO, bounded by maxInspectorBacklog.
  metaFrames: Uint32Array
  metaWire: Float64Array
  metaComp: Uint8Array
  metaHead = 0
  metaTail = 0
  // The data message being assembled on the wire.
  curFrames = 0
  curWire = 0
  curComp = false
  curFrameList: Array<{ fin: boolean; rsv1: boolean; opcode: number; masked: boolean; payloadLength: number; wireLength: number }> | null = null
  controlWire: number[] = []
  backlogReported = false
  /** ts-clock time of the socket read being parsed. */
  chunkTs = 0
  constructor(size: number) {
    this.metaFrames = new Uint32Array(size)
    this.metaWire = new Float64Array(size)
    this.metaComp = new Uint8Array(size)
  }
}

export function createWsTransport(ctx: TransportContext): Transport {
  const spec = ctx.spec
  const url = parseTargetUrl(spec.url, 'ws')
  const wsOpts = spec.ws ?? {}
  const policy = resolveReconnect(spec.reconnect)
  const limits = ctx.limits
  const maxPayload = wsOpts.maxPayload ?? limits.maxMessageBytes
  const captureFrames = wsOpts.captureFrames === true
  /** The direct path for plain data frames (WIRETRACE_WS_DIRECT=0 turns it off, to compare). */
  const direct = process.env.WIRETRACE_WS_DIRECT !== '0'
  const autoPong = wsOpts.autoPong !== false
  const conn = ctx.id
  const c = ctx.counters
  const maxRecorded = limits.maxRecordedPayload
  let cur: Attempt | null = null
  let userClosed = false
  let destroyed = false
  let pingCounter = 0
  const sendQueue: SendItem[] = []

  const emit = (d: EventDraft): void => {
    ctx.emit(d)
  }

  const err = (code: ErrorCode, phase: 'config' | 'tcp' | 'tls' | 'proxy' | 'handshake' | 'open' | 'close', message: string, fatal: boolean, detail?: Record<string, unknown>): void => {
    emit({ type: 'error', conn, code, phase, message, fatal, ...(detail ? { detail } : {}) })
  }

  function payloadFields(data: Buffer, text: boolean): { size: number; text?: string; base64?: string; truncated?: boolean } {
    const size = data.length
    if (size > maxRecorded) return { size, base64: data.subarray(0, maxRecorded).toString('base64'), truncated: true }
    return text ? { size, text: data.toString('utf8') } : { size, base64: data.toString('base64') }
  }

  /**
   * The hot path: one event per received data message, built in one shape, no spreads.
   * `text`: the payload already decoded (the direct path validates UTF-8 that way);
   * `frames` 0: the wire facts are unknown (the inspector gave up).
   */
  function deliver(a: Attempt, data: Buffer, isBinary: boolean, text: string | undefined, frames: number, wire: number, compressed: boolean): void {
    c.msgsIn++
    const size = data.length
    const ev = {
      seq: 0,
      ts: 0,
      conn,
      type: 'ws.message',
      dir: 'in',
      opcode: isBinary ? 2 : 1,
      size,
    } as WsMessageEvent
    if (size > maxRecorded) {
      ev.base64 = data.subarray(0, maxRecorded).toString('base64')
      ev.truncated = true
    } else if (isBinary) ev.base64 = data.toString('base64')
    else ev.text = text ?? data.toString('utf8')
    if (frames > 0) {
      ev.wireSize = wire
      ev.frames = frames
      if (compressed) ev.compressed = true
    }
    ctx.emitMessage(ev, data, a.chunkTs)
    ctx.countMessageIn()
  }

  /** Called by the inspector for each incoming frame. */
  function onFrame(a: Attempt, fin: boolean, rsv1: boolean, opcode: number, masked: boolean, payloadLength: number, wireLength: number): void {
    if (opcode >= 8) {
      if (a.controlWire.length < 1024) a.controlWire.push(wireLength)
      if (captureFrames) emit({ type: 'ws.frame', conn, dir: 'in', fin, rsv1, opcode, masked, payloadLength, wireLength })
      return
    }
    if (opcode !== 0) {
      a.curFrames = 0
      a.curWire = 0
      a.curComp = rsv1
      a.curFrameList = null
    }
    a.curFrames++
    a.curWire += wireLength
    if (captureFrames) emit({ type: 'ws.frame', conn, dir: 'in', fin, rsv1, opcode, masked, payloadLength, wireLength })
    else if (!fin || a.curFrames > 1) {
      // Fragmented message: keep its frames (bounded) and emit them now, before the message.
      emit({ type: 'ws.frame', conn, dir: 'in', fin, rsv1, opcode, masked, payloadLength, wireLength })
    }
    if (fin) {
      const size = a.metaFrames.length
      if (a.metaTail - a.metaHead >= size) {
        // ws is more than maxInspectorBacklog messages behind the wire: drop the oldest facts, say so once.
        a.metaHead++
        if (!a.backlogReported) {
          a.backlogReported = true
          err('WT_LIMIT_INSPECTOR_BACKLOG', 'open', `the wire inspector is more than ${size} messages ahead of ws; wire facts (frames, wire size) of the oldest messages are dropped, the messages themselves are not`, false, { limit: size })
        }
      }
      const slot = a.metaTail++ % size
      a.metaFrames[slot] = a.curFrames
      a.metaWire[slot] = a.curWire
      a.metaComp[slot] = a.curComp ? 1 : 0
    }
  }

  function clearTimers(a: Attempt): void {
    if (a.heartbeat) clearInterval(a.heartbeat)
    if (a.pongTimer) clearTimeout(a.pongTimer)
    a.heartbeat = null
    a.pongTimer = null
  }

  function sendPing(a: Attempt, text: string | undefined, origin: 'heartbeat' | 'user'): void {
    const ws = a.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) return
    const payload = text ?? `wt-${++pingCounter}`
    const data = Buffer.from(payload)
    if (a.pings.size >= 64) a.pings.delete(a.pings.keys().next().value as string)
    a.pings.set(payload, mono())
    ws.ping(data)
    c.bytesOut += data.length + 6
    c.lastOutAt = mono()
    emit({ type: 'ws.ping', conn, dir: 'out', origin, ...payloadFields(data, true) })
    if (origin === 'heartbeat' && spec.heartbeat && spec.heartbeat.timeoutMs > 0 && !a.pongTimer) {
      const sentAt = mono()
      a.pongTimer = setTimeout(() => {
        a.pongTimer = null
        if (!a.pings.has(payload)) return
        a.halfOpen = true
        emit({
          type: 'ws.half-open',
          conn,
          pingSentAt: ms(sentAt),
          timeoutMs: spec.heartbeat!.timeoutMs,
          sinceLastInMs: Math.round(mono() - (c.lastInAt || a.startedAt)),
        })
        err('WT_HALF_OPEN', 'open', `no pong within ${spec.heartbeat!.timeoutMs} ms of our ping: the connection is half-open (last byte from the server ${Math.round(mono() - (c.lastInAt || a.startedAt))} ms ago)`, false)
        a.ws?.terminate()
      }, spec.heartbeat.timeoutMs)
    }
  }

  function doSend(item: SendItem): void {
    const a = cur
    const ws = a?.ws
    if (!a || !ws || ws.readyState !== WebSocket.OPEN) {
      if (sendQueue.length >= 10_000) throw new WiretraceError('WT_CONNECTION_CLOSED', 'not open, and 10000 messages are already queued')
      sendQueue.push(item)
      return
    }
    switch (item.kind) {
      case 'text':
      case 'json': {
        if (item.kind === 'json') {
          try {
            JSON.parse(item.text)
          } catch (e) {
            throw new WiretraceError('WT_OPTION_INVALID', `not valid JSON: ${(e as Error).message}`)
          }
        }
        const data = Buffer.from(item.text, 'utf8')
        ws.send(data, { binary: false })
        recordOut(data, 1)
        break
      }
      case 'binary': {
        let bytes: Uint8Array
        try {
          bytes = base64ToBytes(item.base64)
        } catch (e) {
          throw new WiretraceError('WT_OPTION_INVALID', `binary payload: ${(e as Error).message}`)
        }
        const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
        ws.send(data, { binary: true })
        recordOut(data, 2)
        break
      }
      case 'ping':
        sendPing(a, item.text, 'user')
        break
      case 'pong': {
        const data = Buffer.from(item.text ?? '')
        ws.pong(data)
        emit({ type: 'ws.pong', conn, dir: 'out', ...payloadFields(data, true) })
        break
      }
      case 'close':
        closeNow(item.code ?? 1000, item.reason ?? '')
        break
    }
  }

  function recordOut(data: Buffer, opcode: 1 | 2): void {
    c.msgsOut++
    c.bytesOut += data.length
    c.lastOutAt = mono()
    const ev = { seq: 0, ts: 0, conn, type: 'ws.message', dir: 'out', opcode, ...payloadFields(data, opcode === 1) } as WsMessageEvent
    ctx.emitMessage(ev, data)
  }

  function closeNow(code: number, reason: string): void {
    userClosed = true
    const a = cur
    const ws = a?.ws
    if (!a || !ws) return
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate()
      return
    }
    if (ws.readyState !== WebSocket.OPEN) return
    if (!isSendableCloseCode(code)) throw new WiretraceError('WT_OPTION_INVALID', `close code ${code} cannot be sent by a client (use 1000, 1001-1003, 1007-1014 or 3000-4999)`)
    if (Buffer.byteLength(reason) > 123) throw new WiretraceError('WT_OPTION_INVALID', 'the close reason is longer than 123 bytes')
    a.closeSent = true
    emit({ type: 'ws.close', conn, dir: 'out', code, reason, initiator: 'local', wasClean: true, meaning: closeCodeMeaning(code) })
    ws.close(code, reason)
    // A server that never answers the close: give up after 5 s.
    setTimeout(() => {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
    }, 5000).unref()
  }

  /** One attempt: dial, upgrade, run until closed. Resolves with how it ended. */
  async function runAttempt(attempt: number): Promise<{ retry: boolean; exit: number; reason: string }> {
    const a = new Attempt(Math.max(16, limits.maxInspectorBacklog))
    cur = a
    emit({ type: 'conn.state', conn, state: 'connecting', attempt })
    let dialed
    try {
      dialed = await ctx.dial({
        url,
        secure: url.protocol === 'wss:',
        alpn: ['http/1.1'],
        tls: spec.tls,
        network: spec.network,
        purpose: 'ws',
        signal: ctx.signal,
      })
    } catch (e) {
      if (ctx.signal.aborted) return { retry: false, exit: 0, reason: 'stopped' }
      const we = e instanceof WiretraceError ? e : new WiretraceError('WT_INTERNAL', String(e))
      const phase = (we.detail?.phase as 'tcp' | 'tls' | 'handshake' | undefined) ?? 'tcp'
      const fatal = ['WT_TLS_CONFIG', 'WT_OPTION_INVALID'].includes(we.code)
      err(we.code, phase, we.message, fatal || !mayRetry(attempt, policy), we.detail)
      return { retry: !fatal, exit: exitCodeFor(we.code), reason: we.message }
    }
    const socket = dialed.socket as Socket
    a.socket = socket

    // Capture the upgrade request exactly as written, and everything read, before ws sees it.
    const written: Buffer[] = []
    let writtenLen = 0
    const origWrite = socket.write
    let capturingRequest = true
    const forward = dialed.forward
    let firstWrite = true
    socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
      if (firstWrite && forward && (typeof chunk === 'string' || Buffer.isBuffer(chunk))) {
        // Forward mode through an HTTP proxy: absolute-URI request target and the proxy's headers.
        firstWrite = false
        const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1')
        const eol = text.indexOf('\r\n')
        if (eol > 0) {
          const [method, , version] = text.slice(0, eol).split(' ')
          const extra = forward.headers.map(([k, v]) => `\r\n${k}: ${v}`).join('')
          chunk = `${method} ${forward.requestTarget} ${version}${extra}${text.slice(eol)}`
          if (rest.length && typeof rest[0] === 'string') rest[0] = 'latin1'
        }
      }
      firstWrite = false
      if (capturingRequest && (typeof chunk === 'string' || Buffer.isBuffer(chunk)) && writtenLen < limits.maxHeaderBytes) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
        written.push(b)
        writtenLen += b.length
      }
      return (origWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
    } as typeof socket.write

    let headBuf: Buffer | null = Buffer.alloc(0)
    let responseHead: { firstLine: string; headers: Array<[string, string]> } | null = null
    let requestAt = mono()
    const inspector = new WsFrameInspector((fin, rsv1, opcode, masked, pl, wl) => onFrame(a, fin, rsv1, opcode, masked, pl, wl))
    // Bytes that arrived with the response head: ws unshifts them back into the socket, so they
    // reach this listener a second time. Inspect them then, and count them once.
    let redelivered = 0
    let inspecting = false
    const onData = (chunk: Buffer): void => {
      if (redelivered > 0) {
        const n = Math.min(redelivered, chunk.length)
        redelivered -= n
        c.bytesIn -= n
      }
      c.bytesIn += chunk.length
      const t = mono()
      c.lastInAt = t
      a.chunkTs = Math.round((TIME_ORIGIN + t) * 1000) / 1000
      if (headBuf) {
        const all = headBuf.length ? Buffer.concat([headBuf, chunk]) : chunk
        const end = findHeadEnd(all, Math.max(0, headBuf.length - 3))
        if (end < 0) {
          headBuf = all.length > limits.maxHeaderBytes ? all.subarray(0, limits.maxHeaderBytes) : all
          return
        }
        responseHead = parseHead(all.subarray(0, end - 4).toString('latin1'))
        headBuf = null
        redelivered = all.length - end
        // Only a 101 is followed by frames; any other body is not for the inspector.
        inspecting = /^HTTP\/\d(\.\d)? 101\b/.test(responseHead.firstLine)
        return
      }
      if (!inspecting) return
      if (libraryData) inspector.route(chunk, maxPayload, route)
      else inspector.push(chunk)
    }
    socket.prependListener('data', onData)
    // The direct path (see WsFrameInspector.route): once open without permessage-deflate, ws's
    // own 'data' listener is taken off the socket and fed only the bytes that are not plain
    // single-frame messages; those are delivered here from the inspector's single pass, so a
    // message costs one header parse instead of two. ws keeps everything else: control
    // frames, fragments, limits, protocol and UTF-8 errors, the close handshake.
    let libraryData: ((this: Socket, chunk: Buffer) => void) | null = null
    // ws stops reading a stream it gave up on (a close frame, a protocol or UTF-8 error) by
    // taking its listener off the socket; with the listener ours to call, that removal is
    // seen here instead (and an error at once on ws's receiver, whose 'error' comes a tick
    // later), and from then on no byte is delivered or handed to ws, as with ws alone.
    let libraryGone = false
    let receiver: { _errored?: boolean } | undefined
    const route: FrameRoute = {
      toLibrary(chunk, start, end) {
        if (libraryGone) return
        libraryData!.call(socket, start === 0 && end === chunk.length ? (chunk as Buffer) : (chunk as Buffer).subarray(start, end))
        if (receiver?._errored === true) libraryGone = true
      },
      message(chunk, start, end, opcode, wireLength) {
        if (libraryGone) return false
        const data = (chunk as Buffer).subarray(start, end)
        let text: string | undefined
        if (opcode === 1 && data.length <= maxRecorded) {
          text = data.toString('utf8')
          // Invalid UTF-8 always decodes with U+FFFD; ws then fails the connection with 1007.
          if (text.includes('\ufffd') && !bytesAreUtf8(data)) return false
        } else if (opcode === 1 && !bytesAreUtf8(data)) return false
        deliver(a, data, opcode === 2, text, 1, wireLength, false)
        return true
      },
    }
    const takeOverData = (): void => {
      if (captureFrames || !direct) return
      const fn = socket.listeners('data').find((f) => f.name === 'socketOnData') as ((this: Socket, chunk: Buffer) => void) | undefined
      // Both are ws internals (ws 8): without either, ws keeps the socket to itself.
      receiver = (a.ws as unknown as { _receiver?: { _errored?: boolean } } | null)?._receiver
      if (!fn || typeof receiver?._errored !== 'boolean') return
      socket.removeListener('data', fn)
      libraryData = fn
      const remove = socket.removeListener
      socket.removeListener = function (this: Socket, event: string | symbol, listener: (...args: unknown[]) => void) {
        if (event === 'data' && listener === fn) {
          libraryGone = true
          return this
        }
        return remove.call(this, event, listener)
      } as typeof socket.removeListener
    }
    let socketError: string | null = null
    socket.on('error', (e: NodeJS.ErrnoException) => {
      socketError = e.code ?? e.message
    })

    const headers: Record<string, string> = {}
    for (const [k, v] of spec.headers ?? []) headers[k] = v
    const ws = new WebSocket(url, wsOpts.subprotocols ?? [], {
      createConnection: () => socket,
      perMessageDeflate: wsOpts.deflate === false ? false : { clientMaxWindowBits: true },
      maxPayload,
      headers,
      origin: wsOpts.origin,
      autoPong,
      followRedirects: false,
      handshakeTimeout: limits.connectTimeoutMs,
    } as WebSocket.ClientOptions)
    a.ws = ws
    const req = (ws as unknown as { _req: ClientRequest | null })._req
    req?.once('finish', () => {
      requestAt = mono()
    })

    const recordRequest = (): void => {
      capturingRequest = false
      socket.write = origWrite
      const text = Buffer.concat(written).toString('latin1')
      const headEnd = text.indexOf('\r\n\r\n')
      const parsed = parseHead(headEnd >= 0 ? text.slice(0, headEnd) : text)
      const [method = 'GET', target = '/'] = parsed.firstLine.split(' ')
      emit({
        type: 'http.request',
        conn,
        method,
        url: spec.keepSecrets ? url.toString() : redactUrl(new URL(target, url).toString().replace(/^http/, 'ws')),
        headers: spec.keepSecrets ? parsed.headers : redactHeaders(parsed.headers),
      })
    }
    const recordResponse = (res: IncomingMessage, bodyPreview?: string): void => {
      const head = responseHead
      const pairs: Array<[string, string]> = head ? head.headers : pairsOf(res.rawHeaders)
      emit({
        type: 'http.response',
        conn,
        status: res.statusCode ?? 0,
        statusText: res.statusMessage ?? '',
        httpVersion: res.httpVersion,
        headers: spec.keepSecrets ? pairs : redactHeaders(pairs),
        durationMs: ms(mono() - requestAt),
        ...(bodyPreview !== undefined ? { bodyPreview } : {}),
      })
    }

    return await new Promise((resolve) => {
      let settled = false
      let lastError: { code: ErrorCode; message: string } | null = null
      const finishAttempt = (r: { retry: boolean; exit: number; reason: string }): void => {
        if (settled) return
        settled = true
        clearTimers(a)
        resolve(r)
      }

      ws.on('upgrade', (res) => {
        recordRequest()
        recordResponse(res)
      })

      ws.on('unexpected-response', (_req, res) => {
        recordRequest()
        const status = res.statusCode ?? 0
        const chunks: Buffer[] = []
        let got = 0
        let reported = false
        const done = (): void => {
          if (reported) return
          reported = true
          const preview = Buffer.concat(chunks).subarray(0, limits.maxBodyPreviewBytes).toString('utf8')
          recordResponse(res, preview)
          // Forward mode: a 407, or a 502-504 with the proxy's Via / error header, is the proxy's own answer.
          const proxy = forward ? forwardedProxyAnswer(conn, spec, dialed, status, res.statusMessage ?? '', responseHead ? responseHead.headers : pairsOf(res.rawHeaders)) : null
          if (proxy) {
            err(proxy.code, 'proxy', proxy.message, !mayRetry(attempt, policy), { status, route: dialed.route, mode: 'forward' })
            emit(proxy.diagnosis)
            lastError = { code: proxy.code, message: proxy.message }
            socket.destroy()
            finishAttempt({ retry: true, exit: exitCodeFor(proxy.code), reason: proxy.message })
            return
          }
          const stripped = status === 200 || status === 426
          const code: ErrorCode = stripped ? 'WT_UPGRADE_STRIPPED' : 'WT_HANDSHAKE_STATUS'
          const message = stripped
            ? `the server answered ${status} ${res.statusMessage ?? ''} instead of 101 Switching Protocols: the Upgrade was not honoured (an intermediary may have stripped it)`
            : `the server answered ${status} ${res.statusMessage ?? ''} instead of 101 Switching Protocols`
          err(code, 'handshake', message.replace(/\s+/g, ' '), !mayRetry(attempt, policy), { status })
          lastError = { code, message }
          socket.destroy()
          finishAttempt({ retry: true, exit: exitCodeFor(code), reason: message })
        }
        res.on('data', (d: Buffer) => {
          if (got < limits.maxBodyPreviewBytes) {
            chunks.push(d)
            got += d.length
          } else {
            res.destroy()
            done()
          }
        })
        res.on('end', done)
        res.on('error', done)
        res.on('close', done)
        setTimeout(done, 2000).unref()
      })

      ws.on('open', () => {
        a.opened = true
        // ws.extensions names the extension only; the response header has its parameters.
        const extHeader = (responseHead as { headers: Array<[string, string]> } | null)?.headers.filter(([k]) => k.toLowerCase() === 'sec-websocket-extensions').map(([, v]) => v).join(', ')
        const negotiated = extHeader || ws.extensions
        const deflate = parseDeflate(negotiated)
        if (!/permessage-deflate/i.test(negotiated ?? '') && !ws.extensions) takeOverData()
        emit({
          type: 'ws.negotiated',
          conn,
          protocol: ws.protocol,
          extensions: negotiated,
          deflate,
          offeredDeflate: wsOpts.deflate !== false,
          offeredProtocols: wsOpts.subprotocols ?? [],
        })
        emit({
          type: 'open',
          conn,
          durationMs: ms(mono() - a.startedAt),
          protocol: ws.protocol,
          extensions: negotiated,
          phases: { ...dialed.phases, handshake: ms(mono() - requestAt) },
        })
        emit({ type: 'conn.state', conn, state: 'open', attempt })
        if (spec.heartbeat && spec.heartbeat.intervalMs > 0) {
          a.heartbeat = setInterval(() => sendPing(a, undefined, 'heartbeat'), spec.heartbeat.intervalMs)
        }
        if (attempt === 1) for (const item of spec.send ?? []) sendQueue.push(item)
        const queued = sendQueue.splice(0)
        for (const item of queued) {
          try {
            doSend(item)
          } catch (e) {
            err((e as WiretraceError).code ?? 'WT_OPTION_INVALID', 'open', (e as Error).message, false)
          }
        }
      })

      // Messages ws parsed (everything the direct path did not take): wire facts from the inspector's queue.
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (a.metaHead < a.metaTail) {
          const slot = a.metaHead++ % a.metaFrames.length
          deliver(a, data, isBinary, undefined, a.metaFrames[slot]!, a.metaWire[slot]!, a.metaComp[slot] === 1)
        } else deliver(a, data, isBinary, undefined, 0, -1, false)
      })

      ws.on('ping', (data: Buffer) => {
        emit({ type: 'ws.ping', conn, dir: 'in', ...payloadFields(data, isUtf8(data)) })
        if (autoPong) emit({ type: 'ws.pong', conn, dir: 'out', auto: true, ...payloadFields(data, isUtf8(data)) })
      })

      ws.on('pong', (data: Buffer) => {
        const key = data.toString('utf8')
        const sent = a.pings.get(key)
        let rttMs: number | undefined
        if (sent !== undefined) {
          rttMs = ms(mono() - sent)
          a.pings.delete(key)
          if (a.pongTimer && a.pings.size === 0) {
            clearTimeout(a.pongTimer)
            a.pongTimer = null
          }
        }
        emit({ type: 'ws.pong', conn, dir: 'in', ...(rttMs !== undefined ? { rttMs } : {}), ...payloadFields(data, isUtf8(data)) })
      })

      ws.on('error', (e: Error & { code?: string }) => {
        const wsCode = e.code ? WS_ERRORS[e.code] : undefined
        let code: ErrorCode
        let phase: 'handshake' | 'open' = a.opened ? 'open' : 'handshake'
        if (wsCode) code = wsCode
        else if (e.code === 'ECONNRESET') code = 'WT_CONNECTION_RESET'
        else if (!a.opened && /Invalid Sec-WebSocket-Accept|Server sent|Invalid WebSocket|Sec-WebSocket|subprotocol|extension/i.test(e.message)) code = 'WT_HANDSHAKE_INVALID'
        else if (!a.opened && (e.code?.startsWith('HPE_') || /Parse Error/i.test(e.message))) code = 'WT_HANDSHAKE_INVALID'
        else if (!a.opened && /timed out/i.test(e.message)) code = 'WT_CONNECT_TIMEOUT'
        else if (!a.opened && /socket hang up|closed before/i.test(e.message)) code = 'WT_CONNECTION_CLOSED'
        else code = a.opened ? 'WT_CONNECTION_RESET' : 'WT_HANDSHAKE_INVALID'
        if (code === 'WT_HANDSHAKE_INVALID' && capturingRequest) recordRequest()
        if (code === 'WT_HANDSHAKE_INVALID' && headBuf && headBuf.length) {
          emit({ type: 'note', conn, text: `received instead of a handshake response: ${JSON.stringify(headBuf.subarray(0, 200).toString('latin1'))}`, source: 'engine' })
        }
        lastError = { code, message: e.message }
        const message = code === 'WT_HANDSHAKE_INVALID' && e.code?.startsWith('HPE_') ? `the server's answer is not HTTP (${e.code}: ${e.message})` : e.message
        err(code, phase, message, false, e.code ? { wsCode: e.code } : undefined)
        phase = 'open'
        if (!a.opened) {
          // ws emits close only for opened sockets in some paths; settle here.
          setImmediate(() => finishAttempt({ retry: true, exit: exitCodeFor(code), reason: message }))
        }
      })

      ws.on('close', (code: number, reasonBuf: Buffer) => {
        socket.removeListener('data', onData)
        const reason = reasonBuf.toString('utf8')
        const now = mono()
        const sinceLastInMs = Math.round(now - (c.lastInAt || a.startedAt))
        const sinceLastOutMs = Math.round(now - (c.lastOutAt || a.startedAt))
        if (!a.opened && code === 1006 && !settled) {
          finishAttempt({ retry: true, exit: lastError ? exitCodeFor(lastError.code) : 1, reason: lastError?.message ?? 'closed during the handshake' })
          return
        }
        const network = code === 1006
        const initiator = a.halfOpen ? 'local' : network ? 'network' : a.closeSent ? 'local' : 'remote'
        emit({
          type: 'ws.close',
          conn,
          dir: 'in',
          code,
          reason,
          initiator,
          wasClean: !network,
          meaning: closeCodeMeaning(code),
          sinceLastInMs,
          sinceLastOutMs,
        })
        if (network && !a.halfOpen && !lastError && socketError === 'ECONNRESET') {
          lastError = { code: 'WT_CONNECTION_RESET', message: 'reset' }
          err('WT_CONNECTION_RESET', 'close', `the server or an intermediary reset the TCP connection (RST, no close frame) ${sinceLastInMs} ms after the last byte from the server and ${sinceLastOutMs} ms after our last byte`, false, { sinceLastInMs, sinceLastOutMs })
        } else if (network && !a.halfOpen && !lastError) {
          err('WT_WS_ABNORMAL_CLOSE', 'close', `the connection dropped without a close frame (1006) ${sinceLastInMs} ms after the last byte from the server and ${sinceLastOutMs} ms after our last byte`, false, { sinceLastInMs, sinceLastOutMs })
        } else if (!network && !a.closeSent && code !== 1000 && code !== 1001 && code !== 1005) {
          err('WT_WS_CLOSED_BY_SERVER', 'close', `the server closed with ${code} (${closeCodeMeaning(code)})${reason ? `: ${reason}` : ''}`, false, { code })
        }
        const clean = !network && !a.halfOpen && (a.closeSent || code === 1000 || code === 1001 || code === 1005)
        const exit = clean ? 0 : a.halfOpen ? exitCodeFor('WT_HALF_OPEN') : lastError ? exitCodeFor(lastError.code) : network ? 1 : exitCodeFor('WT_WS_CLOSED_BY_SERVER')
        finishAttempt({ retry: !clean || !a.closeSent, exit, reason: `closed ${code}${reason ? ` ${reason}` : ''} (${closeCodeMeaning(code)})` })
      })
    })
  }

  return {
    async start(): Promise<void> {
      let attempt = 0
      for (;;) {
        attempt++
        const r = await runAttempt(attempt)
        cur?.ws?.removeAllListeners('message')
        if (destroyed || ctx.signal.aborted) return ctx.finish('stopped', 0)
        const stopping = userClosed
        if (stopping || !r.retry || !mayRetry(attempt, policy)) {
          emit({ type: 'conn.state', conn, state: r.exit === 0 ? 'closed' : 'failed', attempt, reason: r.reason })
          return ctx.finish(r.reason, stopping && r.exit !== 0 && cur?.opened ? r.exit : r.exit)
        }
        const delay = backoffDelay(attempt, policy)
        emit({ type: 'conn.state', conn, state: 'reconnecting', attempt, delayMs: delay, reason: r.reason })
        if (!(await ctx.sleep(delay))) return ctx.finish('stopped', 0)
        if (userClosed) return ctx.finish('closed by user while reconnecting', 0)
      }
    },
    send(item: SendItem): void {
      doSend(item)
    },
    async flood(opts: FloodOptions): Promise<void> {
      const ws = cur?.ws
      if (!ws || ws.readyState !== WebSocket.OPEN) throw new WiretraceError('WT_CONNECTION_CLOSED', 'the connection is not open')
      const hwm = opts.highWaterMark ?? 1024 * 1024
      const payload = Buffer.alloc(opts.size, 0x61)
      emit({ type: 'note', conn, text: `flood: ${opts.count} x ${opts.size} B, ${opts.mode === 'respect' ? `respecting bufferedAmount <= ${hwm}` : 'ignoring bufferedAmount'}`, source: 'engine' })
      for (let i = 0; i < opts.count; i++) {
        if (ws.readyState !== WebSocket.OPEN) break
        if (opts.mode === 'respect') {
          while (ws.bufferedAmount > hwm && ws.readyState === WebSocket.OPEN) {
            await new Promise<void>((r) => {
              const s = cur?.socket
              if (s) s.once('drain', () => r())
              setTimeout(r, 50).unref()
            })
          }
        } else if ((i & 1023) === 1023) {
          // Let timers (stats) run, but do not wait for the socket.
          await new Promise<void>((r) => setImmediate(r))
        }
        ws.send(payload, { binary: opts.binary === true })
        recordOut(payload, opts.binary ? 2 : 1)
      }
    },
    close(code = 1000, reason = ''): void {
      userClosed = true
      if (!cur?.ws || cur.ws.readyState === WebSocket.CLOSED) {
        ctx.finish('closed', 0)
        return
      }
      try {
        closeNow(code, reason)
      } catch (e) {
        err((e as WiretraceError).code ?? 'WT_OPTION_INVALID', 'close', (e as Error).message, false)
        closeNow(1000, '')
      }
    },
    destroy(): void {
      destroyed = true
      userClosed = true
      if (cur) clearTimers(cur)
      cur?.ws?.terminate()
      cur?.socket?.destroy()
    },
    sample(): Partial<StatsEvent> {
      const ws = cur?.ws
      const s = cur?.socket
      return {
        ...(ws ? { bufferedAmount: ws.bufferedAmount } : {}),
        ...(s ? { writableLength: s.writableLength } : {}),
      }
    },
  }
}

function pairsOf(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!])
  return out
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b)
    return true
  } catch {
    return false
  }
}

export function parseDeflate(extensions: string): {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits?: number
  clientMaxWindowBits?: number
} | null {
  const ext = extensions.split(',').map((s) => s.trim()).find((s) => s.startsWith('permessage-deflate'))
  if (!ext) return null
  const params = ext.split(';').slice(1).map((p) => p.trim())
  const out: { serverNoContextTakeover: boolean; clientNoContextTakeover: boolean; serverMaxWindowBits?: number; clientMaxWindowBits?: number } = {
    serverNoContextTakeover: params.includes('server_no_context_takeover'),
    clientNoContextTakeover: params.includes('client_no_context_takeover'),
  }
  for (const p of params) {
    const [k, v] = p.split('=')
    if (k === 'server_max_window_bits' && v) out.serverMaxWindowBits = Number(v)
    if (k === 'client_max_window_bits' && v) out.clientMaxWindowBits = Number(v)
  }
  return out
}
