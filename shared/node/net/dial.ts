/**
 * The one network pipeline every transport uses: route (direct or proxy), DNS, TCP, the
 * proxy exchange, TLS to the origin. Each step is emitted as an event with its timing, and
 * each failure becomes a WiretraceError with a stable code and the phase it happened in.
 */
import net from 'node:net'
import tls from 'node:tls'
import dns from 'node:dns'
import type { EventDraft, CertInfo } from '../../common/events/index.ts'
import type { Limits } from '../../common/limits.ts'
import type { TlsOptions } from '../../common/spec/index.ts'
import { WiretraceError, type ErrorCode } from '../../common/errors/index.ts'
import type { DialRequest, DialResult } from '../engine/types.ts'
import { mono, ms } from '../engine/clock.ts'
import { diagnoseError } from '../../common/diagnose/index.ts'

export interface DialContext {
  conn: string
  emit: (draft: EventDraft) => unknown
  limits: Limits
}

export function defaultPort(url: URL): number {
  if (url.port) return Number(url.port)
  return url.protocol === 'https:' || url.protocol === 'wss:' ? 443 : 80
}

/** Host name without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
}

/** The runtime's tls.getCACertificates (Node 22.15+, Electron 45+), when it has one. */
type GetCaCertificates = (type: 'default' | 'system' | 'bundled' | 'extra') => string[]
export function osCaReader(): GetCaCertificates | undefined {
  const get = (tls as unknown as { getCACertificates?: GetCaCertificates }).getCACertificates
  return typeof get === 'function' ? get : undefined
}

/**
 * The connection's TLS to the origin with its network profile's `originTls` added: CAs
 * concatenated (the connection's first), insecure when either says so, the OS store's CAs
 * when the profile asks and the runtime can read them (WT_TLS_CONFIG when it cannot).
 */
export function originTlsOptions(own: TlsOptions | undefined, network: DialRequest['network'], read: GetCaCertificates | undefined = osCaReader()): TlsOptions | undefined {
  const p = network?.originTls
  if (!p || (!p.ca?.length && !p.insecure && !p.osCaStore)) return own
  const ca = [...(own?.ca ?? []), ...(p.ca ?? [])]
  if (p.osCaStore) {
    if (!read) {
      throw new WiretraceError(
        'WT_TLS_CONFIG',
        `originTls.osCaStore: this runtime (Node ${process.versions.node}) cannot read the operating system's CA store (tls.getCACertificates needs Node 22.15 or later, Electron 45 or later); add the CA's PEM file to the profile's origin CA files instead${network?.name ? ` (profile "${network.name}")` : ''}`,
        { phase: 'tls', hop: 'origin', field: 'originTls.osCaStore' },
      )
    }
    ca.push(...read('system'))
  }
  const out: TlsOptions = { ...own }
  if (ca.length) out.ca = ca
  if (p.insecure) out.insecure = true
  return out
}

export async function dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
  // TLS to the origin: the connection's own, plus what its network profile adds (before any I/O).
  if (req.secure && req.network?.originTls) req = { ...req, tls: originTlsOptions(req.tls, req.network) }
  const timeout = AbortSignal.timeout(ctx.limits.connectTimeoutMs)
  const signal = AbortSignal.any([req.signal, timeout])
  const network = req.network
  // The route being tried (from its proxy.rule event), so a timeout can name the proxy.
  let route = ''
  try {
    if (network && network.mode !== 'direct') {
      // Proxies, PAC, env and system routes live in ./proxy (resolveRoute + connectViaProxy).
      const proxy = await import('./proxy/index.ts')
      const rctx: DialContext = {
        ...ctx,
        emit: (d) => {
          if (d.type === 'proxy.rule') route = d.chosen
          return ctx.emit(d)
        },
      }
      return await proxy.dialViaRoutes(req, rctx, signal)
    }
    ctx.emit({ type: 'proxy.rule', conn: ctx.conn, source: 'direct', rule: 'DIRECT', chosen: 'DIRECT', fallbacks: [] })
    const host = hostOf(req.url)
    const port = defaultPort(req.url)
    const socket = await connectTcp(host, port, 'origin', ctx, signal)
    const phases: DialResult['phases'] = { ...lastPhases(socket) }
    if (!req.secure) return { socket, alpn: null, phases, route: 'DIRECT' }
    const { socket: secure, alpn, durationMs } = await startTls(socket, host, req.tls, req.alpn ?? [], 'origin', ctx, signal)
    phases.tls = durationMs
    return { socket: secure, alpn, phases, route: 'DIRECT' }
  } catch (e) {
    if (timeout.aborted && !req.signal.aborted) {
      const phase = (e as WiretraceError).detail?.phase ?? 'tcp'
      const viaProxy = route !== '' && route !== 'DIRECT' && route !== 'none'
      const err = new WiretraceError('WT_CONNECT_TIMEOUT', `connecting${viaProxy ? ` through ${route}` : ''} took longer than ${ctx.limits.connectTimeoutMs} ms`, { phase, ...(viaProxy ? { proxy: route } : {}) })
      if (phase === 'proxy') {
        const d = diagnoseError(ctx.conn, err.toJSON(), viaProxy ? { route, viaProxy } : {})
        if (d) ctx.emit(d)
      }
      throw err
    }
    throw e
  }
}

const phaseMemo = new WeakMap<net.Socket, { dns?: number; tcp?: number }>()
export function lastPhases(s: net.Socket): { dns?: number; tcp?: number } {
  return phaseMemo.get(s) ?? {}
}

/** Resolves (recording `dns`) and connects (recording `tcp`), trying each address in turn. */
export async function connectTcp(
  host: string,
  port: number,
  target: 'origin' | 'proxy',
  ctx: DialContext,
  signal: AbortSignal,
): Promise<net.Socket> {
  let addresses: Array<{ address: string; family: number }>
  let dnsMs = 0
  const family = net.isIP(host)
  if (family) {
    addresses = [{ address: host, family }]
    ctx.emit({ type: 'dns', conn: ctx.conn, host, addresses, durationMs: 0, via: 'literal', target })
  } else {
    const t0 = mono()
    try {
      addresses = await dns.promises.lookup(host, { all: true, verbatim: true })
    } catch (e) {
      throw new WiretraceError('WT_DNS_FAILED', `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { phase: 'dns', host, target })
    }
    dnsMs = ms(mono() - t0)
    ctx.emit({ type: 'dns', conn: ctx.conn, host, addresses, durationMs: dnsMs, via: 'local', target })
  }
  let lastErr: unknown
  for (const a of addresses) {
    if (signal.aborted) break
    const t0 = mono()
    try {
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: a.address, port, family: a.family })
        const onAbort = (): void => {
          s.destroy()
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        s.once('connect', () => {
          signal.removeEventListener('abort', onAbort)
          s.removeListener('error', reject)
          resolve(s)
        })
        s.once('error', (err) => {
          signal.removeEventListener('abort', onAbort)
          reject(err)
        })
      })
      socket.setNoDelay(true)
      const tcpMs = ms(mono() - t0)
      ctx.emit({
        type: 'tcp',
        conn: ctx.conn,
        remoteAddress: socket.remoteAddress ?? a.address,
        remotePort: socket.remotePort ?? port,
        localAddress: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
        durationMs: tcpMs,
        target,
      })
      phaseMemo.set(socket, { dns: dnsMs, tcp: tcpMs })
      return socket
    } catch (e) {
      lastErr = e
    }
  }
  if (signal.aborted) throw new WiretraceError('WT_ABORTED', 'stopped while connecting', { phase: 'tcp' })
  throw tcpError(lastErr, host, port, target)
}

export function tcpError(e: unknown, host: string, port: number, target: 'origin' | 'proxy'): WiretraceError {
  const code = (e as NodeJS.ErrnoException)?.code
  const where = `${target === 'proxy' ? 'the proxy at ' : ''}${host}:${port}`
  const map: Record<string, [ErrorCode, string]> = {
    ECONNREFUSED: ['WT_TCP_REFUSED', `connection refused by ${where}: nothing listens on that port`],
    EHOSTUNREACH: ['WT_TCP_UNREACHABLE', `${where} is unreachable (no route to host)`],
    ENETUNREACH: ['WT_TCP_UNREACHABLE', `${where} is unreachable (network unreachable)`],
    ECONNRESET: ['WT_CONNECTION_RESET', `${where} reset the connection`],
    ETIMEDOUT: ['WT_CONNECT_TIMEOUT', `connecting to ${where} timed out`],
  }
  const hit = code ? map[code] : undefined
  const [wt, message] = hit ?? ['WT_TCP_UNREACHABLE', `cannot connect to ${where}: ${(e as Error)?.message ?? String(e)}`]
  return new WiretraceError(target === 'proxy' && wt !== 'WT_CONNECT_TIMEOUT' ? 'WT_PROXY_UNREACHABLE' : wt, message, { phase: 'tcp', host, port, errno: code, target })
}

function nameOf(x: Record<string, unknown> | undefined): string {
  if (!x) return ''
  return Object.entries(x)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ')
}

export function certChain(socket: tls.TLSSocket): CertInfo[] {
  const out: CertInfo[] = []
  let cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined
  const seen = new Set<string>()
  while (cert && cert.fingerprint256 && !seen.has(cert.fingerprint256) && out.length < 10) {
    seen.add(cert.fingerprint256)
    const info: CertInfo = {
      subject: nameOf(cert.subject as unknown as Record<string, unknown>),
      issuer: nameOf(cert.issuer as unknown as Record<string, unknown>),
      validFrom: cert.valid_from,
      validTo: cert.valid_to,
      fingerprint256: cert.fingerprint256,
      serialNumber: cert.serialNumber,
    }
    if (cert.subjectaltname) info.subjectAltName = cert.subjectaltname
    if (info.subject === info.issuer) info.selfSigned = true
    out.push(info)
    cert = cert.issuerCertificate
  }
  return out
}

function tlsErrorCode(reason: string): ErrorCode {
  if (/ALTNAME|hostname|Hostname|IP: .* is not in the cert/i.test(reason)) return 'WT_TLS_HOSTNAME'
  if (/CERT|SELF_SIGNED|UNABLE_TO|ISSUER|EXPIRED|NOT_YET_VALID|certificate/i.test(reason)) return 'WT_TLS_UNTRUSTED'
  return 'WT_TLS_HANDSHAKE'
}

function explainTls(reason: string, servername: string): string {
  const known: Record<string, string> = {
    DEPTH_ZERO_SELF_SIGNED_CERT: 'the server presented a self-signed certificate',
    SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed root that is not trusted',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the issuer of the server certificate is unknown',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer of the server certificate is not among the trusted CAs',
    CERT_HAS_EXPIRED: 'the server certificate has expired',
    CERT_NOT_YET_VALID: 'the server certificate is not valid yet',
    ERR_TLS_CERT_ALTNAME_INVALID: `the certificate does not name ${servername}`,
  }
  return known[reason] ?? reason
}

/** TLS over an established socket, recording the handshake and the chain even when verification fails. */
export async function startTls(
  socket: net.Socket,
  host: string,
  opts: TlsOptions | { ca?: string[]; insecure?: boolean; servername?: string } | undefined,
  alpn: string[],
  hop: 'origin' | 'proxy',
  ctx: DialContext,
  signal: AbortSignal,
): Promise<{ socket: tls.TLSSocket; alpn: string | null; durationMs: number }> {
  const o = (opts ?? {}) as TlsOptions
  const servername = o.servername ?? (net.isIP(host) ? '' : host)
  const t0 = mono()
  let secure: tls.TLSSocket
  try {
    const ca = o.ca?.length ? [...(o.systemCa === false ? [] : tls.rootCertificates), ...o.ca] : undefined
    secure = tls.connect({
      socket,
      servername: servername || undefined,
      ALPNProtocols: alpn.length ? alpn : undefined,
      ca,
      cert: o.cert,
      key: o.key,
      pfx: o.pfx ? Buffer.from(o.pfx, 'base64') : undefined,
      passphrase: o.passphrase,
      // We verify ourselves after the handshake so the chain is recorded even when it is rejected.
      rejectUnauthorized: false,
      // Node would check against options.host, which defaults to "localhost" when a socket is given.
      checkServerIdentity: (_name, cert) => tls.checkServerIdentity(servername || host, cert),
    })
  } catch (e) {
    socket.destroy()
    throw new WiretraceError('WT_TLS_CONFIG', `the TLS options are unusable: ${(e as Error).message}`, { phase: 'tls', hop })
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        secure.destroy()
        reject(new WiretraceError('WT_ABORTED', 'stopped during the TLS handshake', { phase: 'tls' }))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      secure.once('secureConnect', () => {
        signal.removeEventListener('abort', onAbort)
        secure.removeListener('error', reject)
        resolve()
      })
      secure.once('error', (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      })
    })
  } catch (e) {
    if (e instanceof WiretraceError) throw e
    const err = e as NodeJS.ErrnoException
    const isConfig = /PEM|key|mac verify|passphrase|bad decrypt/i.test(err.message) && !/alert/i.test(err.message)
    throw new WiretraceError(isConfig ? 'WT_TLS_CONFIG' : 'WT_TLS_HANDSHAKE', `TLS handshake with ${hop === 'proxy' ? 'the proxy ' : ''}${host} failed: ${err.message}`, {
      phase: 'tls',
      hop,
      errno: err.code,
    })
  }
  const durationMs = ms(mono() - t0)
  const chain = certChain(secure)
  const cipher = secure.getCipher()
  const alpnGot = secure.alpnProtocol || null
  const reason = secure.authorizationError ? String(secure.authorizationError) : undefined
  ctx.emit({
    type: 'tls',
    conn: ctx.conn,
    hop,
    servername,
    protocol: secure.getProtocol() ?? null,
    cipher: cipher?.name ?? null,
    alpn: alpnGot,
    alpnOffered: alpn,
    authorized: secure.authorized,
    ...(reason ? { authorizationError: reason } : {}),
    chain,
    durationMs,
    sessionReused: secure.isSessionReused(),
  })
  if (!secure.authorized && !o.insecure) {
    secure.destroy()
    const r = reason ?? 'unknown'
    const code = tlsErrorCode(r)
    const issuer = chain[0]?.issuer ?? 'unknown issuer'
    throw new WiretraceError(code, `TLS verification of ${host} failed: ${explainTls(r, servername || host)} (${r}; issuer: ${issuer})`, {
      phase: 'tls',
      hop,
      reason: r,
      issuer,
    })
  }
  return { socket: secure, alpn: alpnGot, durationMs }
}
