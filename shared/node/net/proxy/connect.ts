/**
 * The HTTP CONNECT exchange, owned by us so every leg is recorded: the request line and
 * headers (Proxy-Authorization redacted), the status line (HTTP/1.0 proxies too), headers and a
 * preview of the body (the 407 page), then the next authentication leg (Basic, Digest, NTLM).
 */
import type { Socket } from 'node:net'
import type { EventDraft, HeaderPairs } from '../../../common/events/index.ts'
import type { ProxyAuth } from '../../../common/spec/index.ts'
import { WiretraceError, type ErrorCode } from '../../../common/errors/index.ts'
import { redactHeaders } from '../../../common/redact.ts'
import { proxyErrorHeader } from '../../../common/diagnose/index.ts'
import { mono, ms } from '../../engine/clock.ts'
import { SocketReader } from './reader.ts'
import { HeadError, ResponseHeadParser, headerValue, headerValues, type ResponseHead } from './http-head.ts'
import {
  basicHeader,
  chooseScheme,
  digestHeader,
  ntlmType1,
  ntlmType3,
  parseChallenges,
  parseNtlmType2,
  SUPPORTED_SCHEMES,
  type AuthScheme,
  type Challenge,
} from './auth.ts'

export interface ConnectOptions {
  conn: string
  emit: (d: EventDraft) => unknown
  /** The proxy as shown in events (no credentials). */
  proxyLabel: string
  /** host:port of the origin; IPv6 in brackets. */
  authority: string
  auth?: ProxyAuth
  signal: AbortSignal
  maxHeaderBytes: number
  maxBodyPreviewBytes: number
  /** Opens a (new) connection to the proxy, TLS included for HTTPS proxies. */
  open: () => Promise<Socket>
  userAgent?: string
}

/** Most request/response rounds in one CONNECT (NTLM needs 3). */
export const MAX_CONNECT_LEGS = 5
/** Body bytes we drain after a non-2xx answer so the connection can carry the next leg. */
const MAX_DRAIN_BYTES = 256 * 1024

interface Body {
  preview: string
  reusable: boolean
}

async function readBody(reader: SocketReader, head: ResponseHead, previewMax: number): Promise<Body> {
  const h = head.headers
  const conn = (headerValues(h, 'connection').join(',') + ',' + headerValues(h, 'proxy-connection').join(',')).toLowerCase()
  let reusable = head.httpVersion === '1.1' ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn)
  const te = (headerValue(h, 'transfer-encoding') ?? '').toLowerCase()
  const clText = headerValue(h, 'content-length')
  let bytes: Buffer
  if (clText !== undefined && /^\d+$/.test(clText.trim()) && !te) {
    const len = Number(clText.trim())
    if (len > MAX_DRAIN_BYTES) {
      bytes = await reader.readSome(previewMax, 1000)
      reusable = false
    } else {
      bytes = len ? await reader.read(len) : Buffer.alloc(0)
    }
  } else if (te.includes('chunked')) {
    bytes = await readChunked(reader, previewMax).catch(() => {
      reusable = false
      return Buffer.alloc(0)
    })
  } else {
    // No length: the body runs to the close. Keep a preview, and do not reuse the connection.
    bytes = await reader.readSome(previewMax, 500)
    reusable = false
  }
  const cut = bytes.subarray(0, previewMax)
  return { preview: cut.toString('utf8'), reusable }
}

async function readChunked(reader: SocketReader, previewMax: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let kept = 0
  let total = 0
  for (;;) {
    let line = ''
    for (;;) {
      const b = await reader.read(1)
      if (b[0] === 0x0a) break
      line += String.fromCharCode(b[0]!)
      if (line.length > 1024) throw new Error('chunk size line too long')
    }
    const size = parseInt(line.trim().split(';')[0] ?? '', 16)
    if (!Number.isFinite(size)) throw new Error('bad chunk size')
    if (size === 0) {
      // Trailers until the blank line.
      for (let guard = 0; guard < 64; guard++) {
        let t = ''
        for (;;) {
          const b = await reader.read(1)
          if (b[0] === 0x0a) break
          t += String.fromCharCode(b[0]!)
        }
        if (!t.trim()) break
      }
      return Buffer.concat(parts)
    }
    total += size
    if (total > MAX_DRAIN_BYTES) throw new Error('body too large')
    const data = await reader.read(size + 2)
    if (kept < previewMax) {
      parts.push(data.subarray(0, Math.min(size, previewMax - kept)))
      kept += Math.min(size, previewMax - kept)
    }
  }
}

function errorFor(status: number): ErrorCode {
  if (status === 403) return 'WT_PROXY_CONNECT_REFUSED'
  if (status === 502 || status === 503 || status === 504) return 'WT_PROXY_ORIGIN_UNREACHABLE'
  if (status === 407) return 'WT_PROXY_AUTH_REQUIRED'
  return 'WT_PROXY_BAD_RESPONSE'
}

export interface ConnectResult {
  socket: Socket
  legs: number
  durationMs: number
}

/** Runs CONNECT (with authentication legs) and returns the tunnelled socket. */
export async function httpConnect(o: ConnectOptions): Promise<ConnectResult> {
  const t0 = mono()
  let socket = await o.open()
  let ntlmStage: 0 | 1 | 3 = 0
  let used: AuthScheme | null = null
  let authHeader: string | null = null
  let staleRetried = false
  for (let leg = 1; leg <= MAX_CONNECT_LEGS; leg++) {
    const headers: HeaderPairs = [
      ['Host', o.authority],
      ['User-Agent', o.userAgent ?? 'wiretrace'],
      ['Proxy-Connection', 'keep-alive'],
    ]
    if (authHeader) headers.push(['Proxy-Authorization', authHeader])
    const requestLine = `CONNECT ${o.authority} HTTP/1.1`
    const text = `${requestLine}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`
    const legStart = mono()
    const reader = new SocketReader(socket, o.signal, 'the CONNECT exchange')
    let head: ResponseHead
    let body: Body
    try {
      socket.write(text)
      const parser = new ResponseHeadParser(o.maxHeaderBytes)
      head = await reader.until((chunk) => {
        const r = parser.push(chunk)
        if (!r) return null
        reader.unshift(r.rest)
        return r.head
      })
      if (head.status >= 200 && head.status < 300) {
        body = { preview: '', reusable: true }
      } else {
        body = await readBody(reader, head, o.maxBodyPreviewBytes)
      }
    } catch (e) {
      reader.release()
      socket.destroy()
      if (e instanceof HeadError) {
        throw new WiretraceError(e.kind === 'too-large' ? 'WT_PROXY_BAD_RESPONSE' : 'WT_PROXY_BAD_RESPONSE', e.message, { phase: 'proxy', proxy: o.proxyLabel, leg })
      }
      if (e instanceof WiretraceError) {
        if (e.code === 'WT_PROXY_CLOSED') {
          throw new WiretraceError('WT_PROXY_CLOSED', `the proxy ${o.proxyLabel} closed the connection before answering the CONNECT${leg > 1 ? ` (authentication leg ${leg}, ${used})` : ''}`, { phase: 'proxy', proxy: o.proxyLabel, leg, auth: used })
        }
        throw e
      }
      const err = e as NodeJS.ErrnoException
      throw new WiretraceError(err.code === 'ECONNRESET' ? 'WT_PROXY_CLOSED' : 'WT_PROXY_BAD_RESPONSE', `the proxy ${o.proxyLabel} failed during CONNECT: ${err.code ?? err.message}`, { phase: 'proxy', proxy: o.proxyLabel, leg, errno: err.code })
    }
    const durationMs = ms(mono() - legStart)
    o.emit({
      type: 'proxy.connect',
      conn: o.conn,
      proxy: o.proxyLabel,
      mode: 'connect',
      leg,
      auth: used,
      requestLine,
      requestHeaders: redactHeaders(headers),
      statusLine: head.statusLine,
      status: head.status,
      httpVersion: head.httpVersion,
      responseHeaders: head.headers,
      ...(body.preview ? { bodyPreview: body.preview } : {}),
      durationMs,
    })
    if (head.status >= 200 && head.status < 300) {
      reader.release()
      return { socket, legs: leg, durationMs: ms(mono() - t0) }
    }
    reader.release()
    const detail = {
      phase: 'proxy',
      proxy: o.proxyLabel,
      status: head.status,
      statusLine: head.statusLine,
      httpVersion: head.httpVersion,
      headers: head.headers,
      bodyPreview: body.preview.slice(0, 1024),
      leg,
      auth: used,
      authority: o.authority,
    }
    if (head.status !== 407) {
      socket.destroy()
      // The proxy's own error header (X-Squid-Error, X-Lab-Error, X-Proxy-Error, ...), named as received.
      const eh = proxyErrorHeader(head.headers)
      const squid = headerValue(head.headers, 'x-squid-error')
      const named = eh ? `, ${eh.name}: ${eh.value}` : ''
      const what =
        head.status === 403
          ? `the proxy ${o.proxyLabel} refused to CONNECT to ${o.authority} (${head.statusLine}${named})`
          : head.status >= 502 && head.status <= 504
            ? `the proxy ${o.proxyLabel} could not reach ${o.authority} (${head.statusLine}${named})`
            : `the proxy ${o.proxyLabel} answered the CONNECT with ${head.statusLine}${named}`
      throw new WiretraceError(errorFor(head.status), what, { ...detail, ...(squid ? { squidError: squid } : {}), ...(eh ? { errorHeader: eh } : {}) })
    }
    // 407: pick or continue an authentication scheme.
    const challenges = parseChallenges(headerValues(head.headers, 'proxy-authenticate'))
    const offered = challenges.map((c) => c.scheme)
    const authDetail = { ...detail, offered, supported: [...SUPPORTED_SCHEMES] }
    if (!o.auth) {
      socket.destroy()
      throw new WiretraceError('WT_PROXY_AUTH_REQUIRED', `the proxy ${o.proxyLabel} requires authentication (offers ${offered.join(', ') || 'no scheme'}) and no credentials are configured`, authDetail)
    }
    let next: string | null = null
    if (used === 'ntlm' && ntlmStage === 1) {
      const ch = challenges.find((c) => c.name === 'ntlm' && c.token)
      if (!ch?.token) {
        socket.destroy()
        throw new WiretraceError('WT_PROXY_AUTH_REJECTED', `the proxy ${o.proxyLabel} did not send an NTLM challenge after our NTLM negotiate message`, authDetail)
      }
      let t2
      try {
        t2 = parseNtlmType2(Buffer.from(ch.token, 'base64'))
      } catch (e) {
        socket.destroy()
        throw new WiretraceError('WT_PROXY_BAD_RESPONSE', `the proxy's NTLM challenge is malformed: ${(e as Error).message}`, authDetail)
      }
      next = `NTLM ${ntlmType3(t2, o.auth.username, o.auth.password, o.auth.domain ?? '', o.auth.workstation ?? '').toString('base64')}`
      ntlmStage = 3
    } else if (used === 'digest' && !staleRetried && challenges.some((c) => c.name === 'digest' && c.params.stale?.toLowerCase() === 'true')) {
      // The nonce expired, not the credentials: answer the fresh nonce once.
      staleRetried = true
      next = digestHeader(challenges.find((c) => c.name === 'digest')!, o.auth.username, o.auth.password, 'CONNECT', o.authority)
    } else if (used) {
      socket.destroy()
      throw new WiretraceError('WT_PROXY_AUTH_REJECTED', `the proxy ${o.proxyLabel} rejected the ${used} credentials for user "${o.auth.username}"`, authDetail)
    } else {
      const scheme = chooseScheme(challenges, o.auth.schemes)
      if (!scheme) {
        socket.destroy()
        throw new WiretraceError('WT_PROXY_AUTH_UNSUPPORTED', `the proxy ${o.proxyLabel} offers ${offered.join(', ') || 'no scheme'}; we can do ${(o.auth.schemes ?? SUPPORTED_SCHEMES).join(', ')}`, authDetail)
      }
      used = scheme
      const ch = challenges.find((c) => c.name === scheme) as Challenge
      if (scheme === 'basic') next = basicHeader(o.auth.username, o.auth.password)
      else if (scheme === 'digest') next = digestHeader(ch, o.auth.username, o.auth.password, 'CONNECT', o.authority)
      else {
        next = `NTLM ${ntlmType1().toString('base64')}`
        ntlmStage = 1
      }
    }
    authHeader = next
    if (!body.reusable || socket.destroyed) {
      if (used === 'ntlm' && ntlmStage === 3) {
        socket.destroy()
        throw new WiretraceError('WT_PROXY_AUTH_REJECTED', `the proxy ${o.proxyLabel} closed the connection after its NTLM challenge; NTLM needs one kept-alive connection`, authDetail)
      }
      socket.destroy()
      socket = await o.open()
    }
  }
  socket.destroy()
  throw new WiretraceError('WT_PROXY_AUTH_REJECTED', `the proxy ${o.proxyLabel} kept asking for authentication after ${MAX_CONNECT_LEGS} attempts`, { phase: 'proxy', proxy: o.proxyLabel })
}
