/**
 * Diagnoses: pure functions turning what happened (errors, proxy exchanges, TLS, responses,
 * closes) into a plain-words `diagnosis` draft with a stable code, a title, an explanation and
 * suggestions. No Node, no DOM: the engine, the CLI and the UI (over a recording) share them.
 */
import type { CertInfo, DistributiveOmit, HeaderPairs, WiretraceEvent } from '../events/index.ts'

export type DiagnosisDraft = Extract<DistributiveOmit<WiretraceEvent, 'seq' | 'ts'>, { type: 'diagnosis' }>

/** Every diagnosis code, with what it means. Each is also a stable code in the ERRORS table (a test checks it). */
export const DIAGNOSIS_CODES = {
  WT_PROXY_AUTH_REQUIRED: 'The proxy wants credentials (407); the schemes it offers are named.',
  WT_PROXY_AUTH_REJECTED: 'The proxy refused the credentials we sent.',
  WT_PROXY_AUTH_UNSUPPORTED: 'The proxy offers only schemes Wiretrace cannot do (Negotiate/Kerberos).',
  WT_PROXY_CONNECT_REFUSED: 'The proxy refused the CONNECT (403), usually a port policy.',
  WT_PROXY_ORIGIN_UNREACHABLE: 'The proxy could not reach the origin (502/503/504, with its error header).',
  WT_PROXY_UNREACHABLE: 'The proxy itself could not be reached.',
  WT_CONNECT_TIMEOUT: 'The proxy accepted the TCP connection but the exchange did not finish within connectTimeoutMs.',
  WT_PROXY_CLOSED: 'The proxy closed the connection during the exchange.',
  WT_PROXY_BAD_RESPONSE: 'The proxy answered with something that is not HTTP or not the expected answer.',
  WT_SOCKS_FAILED: 'The SOCKS proxy refused the request; its reply code in words.',
  WT_SOCKS_AUTH: 'SOCKS authentication failed or no method was acceptable.',
  WT_PAC_ERROR: 'The PAC file failed to load, threw or returned nothing usable.',
  WT_PAC_TIMEOUT: 'The PAC file ran too long (or used too much memory) and was stopped.',
  WT_UPGRADE_STRIPPED: 'A forwarding proxy answered the WebSocket upgrade with 200/426 instead of 101: Upgrade was stripped.',
  WT_TLS_INTERCEPTED: 'The certificate was issued by a CA that is not the origin\'s: a proxy is intercepting TLS.',
  WT_PROXY_TLS_HOSTNAME: 'The certificate does not name the host and comes through a proxy that intercepts TLS.',
  WT_H2_ALPN: 'h2 was offered but the TLS peer (an intercepting proxy) chose HTTP/1.1.',
  WT_IDLE_CUT: 'The connection was cut after a period of silence: an idle timeout on the path.',
  WT_PROXY_TLS: 'TLS to an HTTPS proxy itself failed (its certificate, or the handshake).',
} as const

export type DiagnosisCode = keyof typeof DIAGNOSIS_CODES

export interface ErrorLike {
  code: string
  message: string
  detail?: Record<string, unknown>
}

function draft(conn: string, code: DiagnosisCode, severity: DiagnosisDraft['severity'], title: string, explanation: string, suggestions: string[]): DiagnosisDraft {
  return { type: 'diagnosis', conn, code, severity, title, explanation, suggestions }
}

function header(headers: unknown, name: string): string | undefined {
  if (!Array.isArray(headers)) return undefined
  const n = name.toLowerCase()
  for (const h of headers as HeaderPairs) if (Array.isArray(h) && String(h[0]).toLowerCase() === n) return String(h[1])
  return undefined
}

function headers(headers: unknown, name: string): string[] {
  if (!Array.isArray(headers)) return []
  const n = name.toLowerCase()
  return (headers as HeaderPairs).filter((h) => Array.isArray(h) && String(h[0]).toLowerCase() === n).map((h) => String(h[1]))
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))

/** Squid's X-Squid-Error values in words. */
export const SQUID_ERRORS: Record<string, string> = {
  ERR_CONNECT_FAIL: 'the proxy could not open a TCP connection to the origin',
  ERR_DNS_FAIL: 'the proxy could not resolve the origin\'s name',
  ERR_READ_TIMEOUT: 'the origin did not answer the proxy in time',
  ERR_CONNECT_TIMEOUT: 'the proxy timed out connecting to the origin',
  ERR_ACCESS_DENIED: 'the proxy\'s access rules deny this request',
  ERR_CACHE_ACCESS_DENIED: 'the proxy requires authentication for this request',
  ERR_ZERO_SIZE_OBJECT: 'the origin closed without answering',
  ERR_READ_ERROR: 'reading from the origin failed',
  ERR_GATEWAY_FAILURE: 'the proxy\'s upstream failed',
  ERR_SECURE_CONNECT_FAIL: 'the proxy\'s own TLS connection to the origin failed',
}

/** A diagnosis for an error that ended the dial (proxy exchange, SOCKS, PAC, TLS through a proxy). */
export function diagnoseError(conn: string, err: ErrorLike, ctx: { route?: string; viaProxy?: boolean } = {}): DiagnosisDraft | null {
  const d = err.detail ?? {}
  const proxy = str(d.proxy) || ctx.route || 'the proxy'
  switch (err.code) {
    case 'WT_PROXY_AUTH_REQUIRED': {
      const offered = Array.isArray(d.offered) ? (d.offered as string[]) : []
      const can = offered.filter((s) => ['basic', 'digest', 'ntlm'].includes(s.toLowerCase()))
      return draft(conn, 'WT_PROXY_AUTH_REQUIRED', 'error', `The proxy ${proxy} requires authentication`,
        `It answered the CONNECT with 407 Proxy Authentication Required and offers ${offered.length ? offered.join(', ') : 'no scheme at all'}. ` +
          (can.length ? `Wiretrace can answer with ${can.join(', ')}.` : 'Wiretrace cannot answer any of these (it does Basic, Digest and NTLM).'),
        [
          can.length ? `Add credentials to the proxy: user:password@ in the proxy URL (${can.join(' or ')} will be used).` : 'Ask for a proxy account that can use Basic, Digest or NTLM, or a route that does not need authentication.',
          'Credentials are never written to recordings or logs.',
        ])
    }
    case 'WT_PROXY_AUTH_REJECTED':
      return draft(conn, 'WT_PROXY_AUTH_REJECTED', 'error', `The proxy ${proxy} rejected the credentials`,
        `We answered with ${str(d.auth) || 'the configured scheme'} and the proxy replied 407 again: the user name, password or domain is wrong, or the account may not use this proxy. ${err.message}.`,
        ['Check the user name and password (for NTLM also the domain, e.g. CORP\\user).', 'Try another scheme if the proxy offers several.', 'Test the same credentials with curl -v --proxy-user.'])
    case 'WT_PROXY_AUTH_UNSUPPORTED':
      return draft(conn, 'WT_PROXY_AUTH_UNSUPPORTED', 'error', `The proxy ${proxy} offers no authentication scheme Wiretrace can do`,
        `It offers ${Array.isArray(d.offered) ? (d.offered as string[]).join(', ') : 'unknown schemes'}; Wiretrace does Basic, Digest and NTLM.`,
        ['If the proxy offers Negotiate (Kerberos), ask for NTLM or Basic to be enabled for this client, or use another route.'])
    case 'WT_PROXY_CONNECT_REFUSED': {
      const authority = str(d.authority)
      const port = authority.slice(authority.lastIndexOf(':') + 1)
      return draft(conn, 'WT_PROXY_CONNECT_REFUSED', 'error', `The proxy ${proxy} refused to open a tunnel to ${authority || 'the origin'}`,
        `It answered ${str(d.statusLine) || '403 Forbidden'}. Proxies commonly allow CONNECT only to port 443` + (port && port !== '443' ? `, and this target uses port ${port}.` : '.') + (str(d.bodyPreview) ? ` The proxy said: "${str(d.bodyPreview).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)}"` : ''),
        [port && port !== '443' ? `Serve the endpoint on port 443 (wss://) or ask for port ${port} to be allowed in the proxy's CONNECT policy (squid: SSL_ports).` : 'Ask the proxy administrator which destinations may be tunnelled.',
          'For ws:// through a proxy, try --proxy-mode forward (absolute-URI request), which needs no CONNECT.'])
    }
    case 'WT_PROXY_ORIGIN_UNREACHABLE': {
      const squid = str(d.squidError)
      const squidWord = squid ? SQUID_ERRORS[squid.split(/\s/)[0] ?? ''] : undefined
      return draft(conn, 'WT_PROXY_ORIGIN_UNREACHABLE', 'error', `The proxy ${proxy} could not reach the origin`,
        `It answered ${str(d.statusLine) || str(d.status)}` + (squid ? ` with X-Squid-Error: ${squid}${squidWord ? ` (${squidWord})` : ''}` : '') + '. The proxy is reachable and accepted us; the failure is between the proxy and the origin.',
        ['Check that the origin is reachable from the proxy\'s network (name, port, firewall).', 'Compare with a direct connection, if your network allows one.'])
    }
    case 'WT_PROXY_UNREACHABLE':
      return draft(conn, 'WT_PROXY_UNREACHABLE', 'error', `The proxy ${proxy} could not be reached`, err.message, ['Check the proxy host and port (and that it is running).', 'If a PAC file chose it, check the PAC result in the proxy.rule event.'])
    case 'WT_PROXY_CLOSED':
      return draft(conn, 'WT_PROXY_CLOSED', 'error', `The proxy ${proxy} closed the connection`, `${err.message}. Some proxies drop the connection instead of answering when a policy or authentication step fails.`, ['Check the proxy\'s logs, or try the same request with curl -v through it.'])
    case 'WT_PROXY_BAD_RESPONSE':
      return draft(conn, 'WT_PROXY_BAD_RESPONSE', 'error', `The proxy ${proxy} gave an unexpected answer`, err.message, ['Check the proxy kind: a SOCKS proxy configured as HTTP (or the reverse) gives this.', 'An HTTPS proxy needs https:// in the proxy URL.'])
    case 'WT_CONNECT_TIMEOUT':
      if (d.phase !== 'proxy') return null
      return draft(conn, 'WT_CONNECT_TIMEOUT', 'error', `The proxy ${proxy} did not answer in time`,
        `${err.message}. The TCP connection to the proxy was open, but the proxy exchange (CONNECT or SOCKS) did not complete. A proxy that silently drops requests it does not like, or a SOCKS proxy configured as HTTP (or the reverse), behaves like this.`,
        ['Check the proxy kind in the URL (http:// vs socks5://).', 'Raise connectTimeoutMs if the proxy is just slow (authentication helpers, upstream DNS).'])
    case 'WT_SOCKS_FAILED':
      return draft(conn, 'WT_SOCKS_FAILED', 'error', `The SOCKS proxy ${proxy} refused: ${str(d.replyText) || 'request failed'}`,
        `${err.message}.` + (d.replyCode === 2 ? ' Reply 2 means the proxy\'s rules do not allow this destination.' : d.replyCode === 4 || d.replyCode === 3 ? ' The proxy could not route to the origin.' : d.replyCode === 5 ? ' The proxy reached the origin host but nothing listens on that port.' : ''),
        ['Check the destination host and port.', 'With socks5:// names are resolved locally; use socks5h:// to let the proxy resolve names it can see and you cannot.'])
    case 'WT_SOCKS_AUTH':
      return draft(conn, 'WT_SOCKS_AUTH', 'error', `SOCKS authentication with ${proxy} failed`, err.message, ['Add or correct user:password@ in the socks5:// URL.'])
    case 'WT_PAC_ERROR':
    case 'WT_PAC_TIMEOUT':
      return draft(conn, err.code, 'error', err.code === 'WT_PAC_TIMEOUT' ? 'The PAC file ran too long and was stopped' : 'The PAC file could not be used',
        `${err.message}. PAC files run in a sandboxed worker with a time and memory limit so a broken one cannot freeze Wiretrace.`,
        ['Open the PAC file and check FindProxyForURL for loops, exceptions and its return value (e.g. "PROXY host:port; DIRECT").', 'Use a manual proxy or --proxy-env to get past it.'])
    case 'WT_TLS_UNTRUSTED':
    case 'WT_TLS_HANDSHAKE':
    case 'WT_TLS_HOSTNAME':
      if (d.hop === 'proxy') {
        return draft(conn, 'WT_PROXY_TLS', 'error', `TLS to the HTTPS proxy ${proxy} failed`,
          `${err.message}. This is the connection to the proxy itself (https:// proxy URL), before any tunnel to the origin.`,
          ['Trust the proxy\'s CA for the proxy hop only: --proxy-ca FILE (the profile\'s proxyTls.ca).', 'Check that the proxy really listens with TLS; most proxies are plain http:// even for https:// sites.'])
      }
      return diagnoseOriginTls(conn, err, ctx)
    default:
      return null
  }
}

function diagnoseOriginTls(conn: string, err: ErrorLike, ctx: { route?: string; viaProxy?: boolean }): DiagnosisDraft | null {
  const d = err.detail ?? {}
  switch (err.code) {
    case 'WT_TLS_UNTRUSTED':
    case 'WT_TLS_HANDSHAKE': {
      if (!ctx.viaProxy) return null
      const issuer = str(d.issuer)
      if (err.code === 'WT_TLS_HANDSHAKE' && /no.application.protocol|alpn/i.test(err.message)) {
        return draft(conn, 'WT_H2_ALPN', 'error', `No common ALPN protocol through ${ctx.route ?? 'the proxy'}`,
          `${err.message}. The TLS peer refused every protocol we offered; through a proxy this is typically an intercepting proxy that only speaks HTTP/1.1 answering an h2-only client.`,
          ['Offer http/1.1 as well (HTTP/2 transports fall back when allowed), or use an HTTP/1.1 transport on this path.', 'Ask for the host to be exempted from TLS inspection.'])
      }
      if (err.code === 'WT_TLS_UNTRUSTED' && issuer) {
        return draft(conn, 'WT_TLS_INTERCEPTED', 'error', `TLS through ${ctx.route ?? 'the proxy'} is probably intercepted (issuer: ${issuer})`,
          `The origin's certificate was issued by "${issuer}", which is not trusted here. Through a proxy, that usually means the proxy decrypts and re-signs traffic with its own (corporate) CA.`,
          [`If "${issuer}" is your organisation's CA, trust it: --proxy-ca ca.pem or the profile's TLS CA list (extra CA for the origin).`, 'Ask the proxy administrator to exempt this host from TLS inspection.', 'Do not use --insecure beyond a quick check: it accepts any certificate.'])
      }
      return null
    }
    case 'WT_TLS_HOSTNAME': {
      if (!ctx.viaProxy) return null
      const issuer = str(d.issuer)
      return draft(conn, 'WT_PROXY_TLS_HOSTNAME', 'error', `The certificate does not name the host (through ${ctx.route ?? 'the proxy'})`,
        `${err.message}. Through an intercepting proxy this happens when the proxy makes its certificate for a different name (an IP, an SNI it did not see, or its own name)` + (issuer ? `; the certificate was issued by "${issuer}"` : '') + '.',
        ['Connect by host name rather than IP so the proxy sees the name in SNI.', 'Ask the proxy administrator to exempt this host from TLS inspection.'])
    }
    default:
      return null
  }
}

/** Interceptor names seen in issuers; a hit makes the interception verdict certain. */
const INTERCEPTOR_MARKERS = /zscaler|netskope|blue ?coat|symantec web|fortinet|fortigate|palo ?alto|forcepoint|websense|mcafee web|sophos|cisco umbrella|squid|mitmproxy|charles proxy|fiddler|proxyman|http toolkit|wiretrace lab|kaspersky|avast|eset ssl|bitdefender/i

/** A successful TLS handshake to the origin through a proxy: interception and ALPN downgrade. */
export function diagnoseTls(
  conn: string,
  tls: { hop: string; chain: CertInfo[]; alpn: string | null; alpnOffered: string[]; authorized: boolean },
  ctx: { viaProxy: boolean; route?: string; /** Subjects of CAs the user added (their corporate CA). */ userCaSubjects?: string[]; /** Subjects of the platform's public roots. */ isPublicRoot?: (subject: string) => boolean },
): DiagnosisDraft[] {
  const out: DiagnosisDraft[] = []
  if (tls.hop !== 'origin' || !ctx.viaProxy) return out
  const leaf = tls.chain[0]
  const root = tls.chain[tls.chain.length - 1]
  const issuer = leaf?.issuer ?? ''
  const byMarker = INTERCEPTOR_MARKERS.test(issuer) || (root ? INTERCEPTOR_MARKERS.test(root.subject) : false)
  const byUserCa = !!ctx.userCaSubjects?.some((s) => s === issuer || (root && s === root.subject))
  const nonPublic = root && ctx.isPublicRoot ? !ctx.isPublicRoot(root.issuer) : false
  const intercepted = byMarker || (tls.authorized && byUserCa && nonPublic)
  if (intercepted) {
    out.push(draft(conn, 'WT_TLS_INTERCEPTED', 'warning', `TLS is intercepted by ${ctx.route ?? 'the proxy'} (issuer: ${issuer})`,
      `The certificate for the origin was issued by "${issuer}", a CA outside public PKI` + (byUserCa ? ' that you added as trusted' : '') + '. The proxy decrypts this connection and re-encrypts it: it can read and change every message.',
      ['This is expected on networks with TLS inspection; to trust a corporate CA, add it with --proxy-ca or the profile\'s CA list.', 'If traffic behaves differently than direct, ask for this host to be exempted from inspection.']))
  }
  if (tls.alpnOffered.includes('h2') && tls.alpn !== 'h2' && (intercepted || byUserCa)) {
    out.push(draft(conn, 'WT_H2_ALPN', 'warning', 'HTTP/2 was dropped by the intercepting proxy',
      `We offered ALPN ${tls.alpnOffered.join(', ')} and the TLS peer chose ${tls.alpn ?? 'nothing'}. Through an intercepting proxy, the proxy (not the origin) answers the TLS handshake and only speaks HTTP/1.1.`,
      ['Use an HTTP/1.1 transport (SSE, long-poll, WebSocket) on this path, or ask for the host to be exempted from inspection.']))
  }
  return out
}

/** The handshake response of a WebSocket through a proxy: 200 or 426 instead of 101. */
export function diagnoseUpgradeResponse(
  conn: string,
  res: { status: number; statusText?: string; headers: HeaderPairs },
  ctx: { viaProxy: boolean; mode?: 'connect' | 'forward'; route?: string },
): DiagnosisDraft | null {
  if (res.status === 101) return null
  if (res.status !== 200 && res.status !== 426 && !(res.status === 400 && ctx.viaProxy)) return null
  const upgrade = header(res.headers, 'upgrade')
  const via = headers(res.headers, 'via').join(', ')
  const server = header(res.headers, 'server') ?? ''
  // 426 means the origin wanted the Upgrade it did not get; 200 counts when a proxy is known to be in the path.
  if (!ctx.viaProxy && !via && res.status !== 426 && !/nginx|squid|envoy|haproxy|apache|traefik|cloudflare/i.test(server)) return null
  return draft(conn, 'WT_UPGRADE_STRIPPED', 'error', `The WebSocket upgrade was answered with ${res.status} instead of 101`,
    `${ctx.mode === 'forward' ? 'The request went to the proxy in absolute-URI form (forward mode). ' : ''}A proxy in the path ${via ? `(Via: ${via}) ` : server ? `(Server: ${server}) ` : ''}removed the Upgrade and Connection headers, so the origin saw a plain GET and answered it${upgrade ? '' : ' without an Upgrade header'}. WebSocket cannot work through a forwarding hop that strips Upgrade.`,
    ['Use a CONNECT tunnel (--proxy-mode connect, the default), or wss:// so the proxy cannot see or change the request.', 'Ask the proxy administrator to allow WebSocket upgrades (squid: http_upgrade_request_protocols WebSocket allow all).'])
}

/** An abnormal close after silence: likely an idle cut by a proxy or NAT. */
export function diagnoseIdleClose(
  conn: string,
  close: { code: number; initiator: string; wasClean: boolean; sinceLastInMs?: number; sinceLastOutMs?: number },
  ctx: { viaProxy?: boolean; route?: string; heartbeatMs?: number; openForMs?: number },
): DiagnosisDraft | null {
  if (close.wasClean || close.initiator === 'local') return null
  const silentIn = close.sinceLastInMs ?? 0
  const silentOut = close.sinceLastOutMs ?? silentIn
  const silence = Math.min(silentIn, silentOut)
  if (silence < 1000) return null
  const s = (n: number): string => `${(n / 1000).toFixed(1)} s`
  const recommend = Math.max(1000, Math.floor((silence * 0.5) / 1000) * 1000)
  return draft(conn, 'WT_IDLE_CUT', 'warning', `The connection was cut after about ${s(silence)} of silence`,
    `Nothing was received for ${s(silentIn)} and nothing sent for ${s(silentOut)} before the connection dropped without a close frame (code ${close.code}). ` +
      `${ctx.viaProxy ? `The proxy ${ctx.route ?? ''} ` : 'A proxy, load balancer or NAT '}on the path probably closes idle connections after about ${s(silence)}.`,
    [`Send a heartbeat more often than the cut: a ping every ${s(recommend)} or less.`, 'Repeat with a shorter and a longer silence to find the exact timeout.'])
}

/**
 * Watches one connection's events and returns diagnoses for stream-level triggers (upgrade
 * stripped, idle cut). O(1) per event; keeps only the route and proxy mode.
 */
export class Diagnoser {
  private viaProxy = false
  private route = 'DIRECT'
  private mode: 'connect' | 'forward' | undefined
  private upgradeSeen = false

  constructor(readonly conn: string) {}

  observe(ev: WiretraceEvent): DiagnosisDraft | null {
    switch (ev.type) {
      case 'proxy.rule':
        this.route = ev.chosen
        this.viaProxy = ev.chosen !== 'DIRECT'
        this.mode = ev.detail?.includes('forward') ? 'forward' : 'connect'
        return null
      case 'http.request':
        this.upgradeSeen = ev.headers.some(([k, v]) => k.toLowerCase() === 'upgrade' && /websocket/i.test(v))
        return null
      case 'http.response':
        if (!this.upgradeSeen) return null
        return diagnoseUpgradeResponse(this.conn, ev, { viaProxy: this.viaProxy, mode: this.mode, route: this.route })
      case 'ws.close':
        if (ev.dir === 'out') return null
        return diagnoseIdleClose(this.conn, ev, { viaProxy: this.viaProxy, route: this.route })
      default:
        return null
    }
  }
}
