/**
 * Diagnoses: pure functions turning what happened (errors, proxy exchanges, TLS, responses,
 * closes) into a plain-words `diagnosis` draft with a stable code, a title, an explanation and
 * suggestions. No Node, no DOM: the engine, the CLI and the UI (over a recording) share them.
 */
import type { CertInfo, DistributiveOmit, HeaderPairs, WiretraceEvent } from '../events/index.ts'

export type DiagnosisDraft = Extract<DistributiveOmit<WiretraceEvent, 'seq' | 'ts'>, { type: 'diagnosis' }>

/** Every diagnosis code, with what it means. Each is also a stable code in the ERRORS table (a test checks it). */
export const DIAGNOSIS_CODES = {
  WT_PROXY_AUTH_REQUIRED: 'The proxy wants credentials (407, over CONNECT or to a forwarded request); the schemes it offers are named.',
  WT_PROXY_AUTH_REJECTED: 'The proxy refused the credentials we sent.',
  WT_PROXY_AUTH_UNSUPPORTED: 'The proxy offers only schemes Wiretrace cannot do (Negotiate/Kerberos; in forward mode, anything but Basic).',
  WT_PROXY_CONNECT_REFUSED: 'The proxy refused the CONNECT (403), usually a port policy.',
  WT_PROXY_ORIGIN_UNREACHABLE: 'The proxy could not reach the origin (502/503/504 to the CONNECT or to a forwarded request, with its error header).',
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
  WT_IDLE_CUT: 'The connection (WebSocket, SSE, long-poll, stream, HTTP/2) was cut after a period of silence: an idle timeout on the path.',
  WT_PROXY_TLS: 'TLS to an HTTPS proxy itself failed (its certificate, or the handshake).',
  WT_SYSTEM_PROXY_LOOKUP: 'The desktop host could not look up the system proxy (session.resolveProxy failed or timed out): the route went DIRECT (a warning).',
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

/** errno names and numbers (as in X-Squid-Error "ERR_READ_ERROR 104") in words. */
const ERRNO_WORDS: Record<string, string> = {
  ECONNREFUSED: 'the origin refused the connection: nothing listens on that port',
  ECONNRESET: 'the origin reset the connection',
  ETIMEDOUT: 'connecting to the origin timed out',
  EHOSTUNREACH: 'no route to the origin host',
  ENETUNREACH: 'the origin\'s network is unreachable',
  ENOTFOUND: 'the origin\'s name does not resolve',
  EAI_AGAIN: 'the origin\'s name could not be resolved (temporary DNS failure)',
  EPIPE: 'the origin closed the connection while the proxy was writing',
}
const ERRNO_NUMBERS: Record<string, string> = {
  '104': 'the connection was reset',
  '111': 'connection refused',
  '110': 'timed out',
  '113': 'no route to host',
  '101': 'network unreachable',
  '32': 'broken pipe',
}

/** Error headers proxies put on their own answers, best known first; then any other X-...-Error. */
const KNOWN_ERROR_HEADERS = ['x-squid-error', 'x-lab-error', 'x-proxy-error', 'x-cache-error']
const ERROR_HEADER = /^x-[a-z0-9]+(?:-[a-z0-9]+)*-error$/i

/** The proxy's error header (X-Squid-Error, X-Lab-Error, X-Proxy-Error, ...) as received, if any. */
export function proxyErrorHeader(pairs: unknown): { name: string; value: string } | undefined {
  if (!Array.isArray(pairs)) return undefined
  let generic: { name: string; value: string } | undefined
  for (const known of KNOWN_ERROR_HEADERS) {
    for (const h of pairs as HeaderPairs) if (Array.isArray(h) && String(h[0]).toLowerCase() === known) return { name: String(h[0]), value: String(h[1]) }
  }
  for (const h of pairs as HeaderPairs) {
    if (!generic && Array.isArray(h) && ERROR_HEADER.test(String(h[0]))) generic = { name: String(h[0]), value: String(h[1]) }
  }
  return generic
}

/** An error header's value in words, when known: "ERR_READ_ERROR 104" -> "reading from the origin failed; errno 104: the connection was reset". */
export function errorHeaderWords(value: string): string | undefined {
  const [first = '', second] = value.trim().split(/\s+/)
  const words: string[] = []
  const w = SQUID_ERRORS[first] ?? ERRNO_WORDS[first]
  if (w) words.push(w)
  if (second && second !== '0' && ERRNO_NUMBERS[second]) words.push(`errno ${second}: ${ERRNO_NUMBERS[second]}`)
  return words.length ? words.join('; ') : undefined
}

function errorHeaderText(eh: { name: string; value: string } | undefined): string {
  if (!eh) return ''
  const words = errorHeaderWords(eh.value)
  return `${eh.name}: ${eh.value}${words ? ` (${words})` : ''}`
}

/**
 * Authentication scheme names offered in Proxy-Authenticate values, in order: a challenge
 * starts with a token followed by a space or the end; `name=value` items are its parameters.
 */
export function offeredSchemes(values: string[]): string[] {
  const out: string[] = []
  for (const v of values) {
    let item = ''
    let quoted = false
    const take = (): void => {
      const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s|$)/.exec(item)
      if (m && !/^\s*[^\s=]+\s*=/.test(item)) out.push(m[1]!)
      item = ''
    }
    for (let i = 0; i < v.length && out.length < 32; i++) {
      const ch = v[i]!
      if (ch === '"' && v[i - 1] !== '\\') quoted = !quoted
      if (ch === ',' && !quoted) take()
      else item += ch
    }
    take()
  }
  return out
}

const CAN_DO = ['basic', 'digest', 'ntlm']
const join = (xs: string[], last = 'or'): string => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} ${last} ${xs[xs.length - 1]}`)
/** "the proxy http://p:3128" or "the proxy" (never "the proxy the proxy"). */
const theProxy = (label: string): string => (label ? `the proxy ${label}` : 'the proxy')
const cap = (t: string): string => t.charAt(0).toUpperCase() + t.slice(1)

/** A diagnosis for an error that ended the dial (proxy exchange, SOCKS, PAC, TLS through a proxy). */
export function diagnoseError(conn: string, err: ErrorLike, ctx: { route?: string; viaProxy?: boolean } = {}): DiagnosisDraft | null {
  const d = err.detail ?? {}
  const label = str(d.proxy) || (ctx.route && ctx.route !== 'DIRECT' ? ctx.route : '')
  const proxy = theProxy(label)
  switch (err.code) {
    case 'WT_PROXY_AUTH_REQUIRED': {
      const offered = Array.isArray(d.offered) ? (d.offered as string[]) : []
      const can = offered.filter((s) => CAN_DO.includes(s.toLowerCase()))
      return draft(conn, 'WT_PROXY_AUTH_REQUIRED', 'error', `${cap(proxy)} requires authentication`,
        `It answered the CONNECT with 407 Proxy Authentication Required and offers ${offered.length ? offered.join(', ') : 'no scheme at all'}. ` +
          (can.length ? `Wiretrace can answer with ${can.join(', ')}.` : 'Wiretrace cannot answer any of these (it does Basic, Digest and NTLM).'),
        [
          can.length ? `Add credentials to the proxy: user:password@ in the proxy URL (${can.join(' or ')} will be used).` : 'Ask for a proxy account that can use Basic, Digest or NTLM, or a route that does not need authentication.',
          'Credentials are never written to recordings or logs.',
        ])
    }
    case 'WT_PROXY_AUTH_REJECTED':
      return draft(conn, 'WT_PROXY_AUTH_REJECTED', 'error', `${cap(proxy)} rejected the credentials`,
        `We answered with ${str(d.auth) || 'the configured scheme'} and the proxy replied 407 again: the user name, password or domain is wrong, or the account may not use this proxy. ${err.message}.`,
        ['Check the user name and password (for NTLM also the domain, e.g. CORP\\user).', 'Try another scheme if the proxy offers several.', 'Test the same credentials with curl -v --proxy-user.'])
    case 'WT_PROXY_AUTH_UNSUPPORTED':
      return draft(conn, 'WT_PROXY_AUTH_UNSUPPORTED', 'error', `${cap(proxy)} offers no authentication scheme Wiretrace can do`,
        `It offers ${Array.isArray(d.offered) ? (d.offered as string[]).join(', ') : 'unknown schemes'}; Wiretrace does Basic, Digest and NTLM.`,
        ['If the proxy offers Negotiate (Kerberos), ask for NTLM or Basic to be enabled for this client, or use another route.'])
    case 'WT_PROXY_CONNECT_REFUSED': {
      const authority = str(d.authority)
      const port = authority.slice(authority.lastIndexOf(':') + 1)
      const eh = (d.errorHeader as { name: string; value: string } | undefined) ?? proxyErrorHeader(d.headers)
      return draft(conn, 'WT_PROXY_CONNECT_REFUSED', 'error', `${cap(proxy)} refused to open a tunnel to ${authority || 'the origin'}`,
        `It answered ${str(d.statusLine) || '403 Forbidden'}${eh ? ` with ${errorHeaderText(eh)}` : ''}. Proxies commonly allow CONNECT only to port 443` + (port && port !== '443' ? `, and this target uses port ${port}.` : '.') + (str(d.bodyPreview) ? ` The proxy said: "${str(d.bodyPreview).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)}"` : ''),
        [port && port !== '443' ? `Serve the endpoint on port 443 (wss://) or ask for port ${port} to be allowed in the proxy's CONNECT policy (squid: SSL_ports).` : 'Ask the proxy administrator which destinations may be tunnelled.',
          'For ws:// through a proxy, try --proxy-mode forward (absolute-URI request), which needs no CONNECT.'])
    }
    case 'WT_PROXY_ORIGIN_UNREACHABLE': {
      const eh = (d.errorHeader as { name: string; value: string } | undefined) ?? (str(d.squidError) ? { name: 'X-Squid-Error', value: str(d.squidError) } : proxyErrorHeader(d.headers))
      return draft(conn, 'WT_PROXY_ORIGIN_UNREACHABLE', 'error', `${cap(proxy)} could not reach the origin`,
        `It answered ${str(d.statusLine) || str(d.status)}` + (eh ? ` with ${errorHeaderText(eh)}` : '') + '. The proxy is reachable and accepted us; the failure is between the proxy and the origin.',
        ['Check that the origin is reachable from the proxy\'s network (name, port, firewall).', 'Compare with a direct connection, if your network allows one.'])
    }
    case 'WT_PROXY_UNREACHABLE':
      return draft(conn, 'WT_PROXY_UNREACHABLE', 'error', `${cap(proxy)} could not be reached`, err.message, ['Check the proxy host and port (and that it is running).', 'If a PAC file chose it, check the PAC result in the proxy.rule event.'])
    case 'WT_PROXY_CLOSED':
      return draft(conn, 'WT_PROXY_CLOSED', 'error', `${cap(proxy)} closed the connection`, `${err.message}. Some proxies drop the connection instead of answering when a policy or authentication step fails.`, ['Check the proxy\'s logs, or try the same request with curl -v through it.'])
    case 'WT_PROXY_BAD_RESPONSE':
      return draft(conn, 'WT_PROXY_BAD_RESPONSE', 'error', `${cap(proxy)} gave an unexpected answer`, err.message, ['Check the proxy kind: a SOCKS proxy configured as HTTP (or the reverse) gives this.', 'An HTTPS proxy needs https:// in the proxy URL.'])
    case 'WT_CONNECT_TIMEOUT':
      if (d.phase !== 'proxy') return null
      return draft(conn, 'WT_CONNECT_TIMEOUT', 'error', `${cap(proxy)} did not answer in time`,
        `${err.message}. The TCP connection to the proxy was open, but the proxy exchange (CONNECT or SOCKS) did not complete. A proxy that silently drops requests it does not like, or a SOCKS proxy configured as HTTP (or the reverse), behaves like this.`,
        ['Check the proxy kind in the URL (http:// vs socks5://).', 'Raise connectTimeoutMs if the proxy is just slow (authentication helpers, upstream DNS).'])
    case 'WT_SOCKS_FAILED':
      return draft(conn, 'WT_SOCKS_FAILED', 'error', `The SOCKS proxy${label ? ` ${label}` : ''} refused: ${str(d.replyText) || 'request failed'}`,
        `${err.message}.` + (d.replyCode === 2 ? ' Reply 2 means the proxy\'s rules do not allow this destination.' : d.replyCode === 4 || d.replyCode === 3 ? ' The proxy could not route to the origin.' : d.replyCode === 5 ? ' The proxy reached the origin host but nothing listens on that port.' : ''),
        ['Check the destination host and port.', 'With socks5:// names are resolved locally; use socks5h:// to let the proxy resolve names it can see and you cannot.'])
    case 'WT_SOCKS_AUTH':
      return draft(conn, 'WT_SOCKS_AUTH', 'error', `SOCKS authentication with ${proxy} failed`, err.message, ['Add or correct user:password@ in the socks5:// URL.'])
    case 'WT_PAC_ERROR':
    case 'WT_PAC_TIMEOUT':
      return draft(conn, err.code, 'error', err.code === 'WT_PAC_TIMEOUT' ? 'The PAC file ran too long and was stopped' : 'The PAC file could not be used',
        `${err.message}. PAC files run in a sandboxed worker with a time and memory limit so a broken one cannot freeze Wiretrace.`,
        ['Open the PAC file and check FindProxyForURL for loops, exceptions and its return value (e.g. "PROXY host:port; DIRECT").', 'Use a manual proxy or --proxy-env to get past it.'])
    case 'WT_SYSTEM_PROXY_LOOKUP':
      // A warning: the connection goes on, DIRECT. `why` is the host's failure text (already masked).
      return draft(conn, 'WT_SYSTEM_PROXY_LOOKUP', 'warning', 'The system proxy could not be looked up: going DIRECT',
        `Asking the operating system for the proxy of this URL (Electron session.resolveProxy: OS settings, WPAD, PAC) failed: ${str(d.why) || err.message}. The connection goes DIRECT; behind a proxy that only lets proxied traffic out, it will fail or reach a different network path than a browser.`,
        ['Check the system proxy settings (a PAC or WPAD URL that cannot be fetched is the usual cause).', 'Use a Manual or PAC network profile with the proxy your browser uses.'])
    case 'WT_TLS_UNTRUSTED':
    case 'WT_TLS_HANDSHAKE':
    case 'WT_TLS_HOSTNAME':
      if (d.hop === 'proxy') {
        return draft(conn, 'WT_PROXY_TLS', 'error', `TLS to the HTTPS proxy${label ? ` ${label}` : ''} failed`,
          `${err.message}. This is the connection to the proxy itself (https:// proxy URL), before any tunnel to the origin.`,
          ['Trust the proxy\'s CA for the proxy hop only: --proxy-ca FILE (the profile\'s proxyTls.ca).', 'Check that the proxy really listens with TLS; most proxies are plain http:// even for https:// sites.'])
      }
      return diagnoseOriginTls(conn, err, ctx)
    default:
      return null
  }
}

/** A response to a request sent through a forwarding proxy (absolute-URI request, no CONNECT). */
export interface ForwardedAnswer {
  status: number
  statusText?: string
  headers: HeaderPairs
}

/**
 * In forward mode the proxy answers some requests itself: 407 (it wants credentials) and
 * 502/503/504 with its Via or its error header (it could not reach the origin). Diagnosed as
 * over CONNECT, saying it is the proxy's answer; null for answers that are the origin's.
 * `sentBasic`: our request carried Proxy-Authorization (forward mode can send only Basic, with
 * each request); `hasCredentials`: the profile has proxy credentials at all.
 */
export function diagnoseForwardedAnswer(conn: string, res: ForwardedAnswer, ctx: { route: string; sentBasic: boolean; hasCredentials: boolean }): DiagnosisDraft | null {
  const proxy = theProxy(ctx.route)
  const head = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`
  const via = headers(res.headers, 'via').join(', ')
  if (res.status === 407) {
    const offered = offeredSchemes(headers(res.headers, 'proxy-authenticate'))
    const lower = offered.map((s) => s.toLowerCase())
    const basic = lower.includes('basic')
    const tunnel = offered.filter((s) => ['digest', 'ntlm'].includes(s.toLowerCase()))
    const offers = offered.length ? `It offers ${offered.join(', ')}.` : 'It offers no scheme at all (no Proxy-Authenticate header).'
    const modes = `In forward mode Wiretrace can send only Basic, with each request; ` +
      (tunnel.length ? `over a CONNECT tunnel it can answer with ${tunnel.join(', ')}.` : 'over a CONNECT tunnel it also does Digest and NTLM.')
    const intro = `${cap(proxy)} answered the forwarded request (forward mode, absolute URI) itself with ${head}: the request never reached the origin. ${offers} `
    const connectTip = `Use a CONNECT tunnel: --proxy-mode connect (httpMode: 'connect', the default), where Wiretrace answers ${tunnel.length ? tunnel.join(' or ') : 'Digest and NTLM'} challenges.`
    if (!ctx.hasCredentials) {
      return draft(conn, 'WT_PROXY_AUTH_REQUIRED', 'error', `${cap(proxy)} requires authentication`, intro + modes,
        [
          basic ? 'Add credentials to the proxy: user:password@ in the proxy URL (Basic is sent with each forwarded request).' : `The proxy does not offer Basic. ${connectTip}`,
          ...(basic && tunnel.length ? [connectTip] : []),
          'Credentials are never written to recordings or logs.',
        ])
    }
    if (ctx.sentBasic && (basic || !offered.length)) {
      return draft(conn, 'WT_PROXY_AUTH_REJECTED', 'error', `${cap(proxy)} rejected the credentials`,
        `We sent Basic credentials with the forwarded request and the proxy answered 407 again (${offered.length ? `it offers ${offered.join(', ')}` : 'no scheme named'}): the user name or password is wrong, or the account may not use this proxy.`,
        ['Check the user name and password.', ...(tunnel.length ? [connectTip] : []), 'Test the same credentials with curl -v --proxy-user --proxy-basic.'])
    }
    const can = offered.filter((s) => CAN_DO.includes(s.toLowerCase()))
    return draft(conn, 'WT_PROXY_AUTH_UNSUPPORTED', 'error', `${cap(proxy)} wants ${offered.length ? join(offered) : 'a scheme it does not name'}, which forward mode cannot send`,
      intro + modes + (can.length ? '' : ' Wiretrace cannot do any of the offered schemes in either mode (Negotiate/Kerberos).'),
      [can.length ? connectTip : 'Ask for NTLM or Basic to be enabled for this client, or use another route.'])
  }
  if (res.status !== 502 && res.status !== 503 && res.status !== 504) return null
  const eh = proxyErrorHeader(res.headers)
  if (!eh && !via) return null
  const meaning =
    res.status === 504
      ? 'A 504 means the proxy gave up waiting for the origin\'s answer (its read timeout).'
      : res.status === 502
        ? 'A 502 means the answer from the origin was missing or broken (it closed or reset the connection, or sent something that is not HTTP).'
        : 'A 503 means the proxy could not open a connection to the origin, or refuses service.'
  return draft(conn, 'WT_PROXY_ORIGIN_UNREACHABLE', 'error', `${cap(proxy)} could not reach the origin`,
    `${cap(proxy)} answered the forwarded request itself with ${head}` + (eh ? ` and ${errorHeaderText(eh)}` : '') + (via ? ` (Via: ${via})` : '') + '. ' +
      (eh
        ? 'The proxy is reachable and took the request; the failure is between the proxy and the origin. '
        : `It carries the proxy's Via header and no proxy error header: most likely the proxy's own answer, though a gateway in front of the origin answering ${res.status} through the proxy looks the same. `) +
      meaning,
    [
      'Check that the origin is reachable from the proxy\'s network (name, port, firewall).',
      ...(res.status === 504 ? ['For held requests (long-poll, quiet streams), answer or send a byte before the proxy\'s read timeout, or ask for it to be raised.'] : []),
      'Compare with a CONNECT tunnel (--proxy-mode connect) or a direct connection.',
    ])
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
          [`If "${issuer}" is your organisation's CA, trust it for the origin: for every connection through this network, add it to the network profile (Origin CA files under "TLS to the origin"; originTls.caFiles in a profile); for this connection only, --ca FILE (PEM; tls.ca in a spec).`, 'Ask the proxy administrator to exempt this host from TLS inspection.', 'Do not use --insecure beyond a quick check: it accepts any certificate.'])
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
      ['This is expected on networks with TLS inspection; to trust a corporate CA for the origin, add it to the network profile (Origin CA files under "TLS to the origin"; originTls.caFiles) for every connection through it, or with --ca FILE (PEM; tls.ca in a spec) for one connection.', 'If traffic behaves differently than direct, ask for this host to be exempted from inspection.']))
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
  const who = via ? `Via: ${via}` : server ? `Server: ${server}` : ctx.viaProxy && ctx.route && ctx.route !== 'DIRECT' ? ctx.route : ''
  return draft(conn, 'WT_UPGRADE_STRIPPED', 'error', `The WebSocket upgrade was answered with ${res.status} instead of 101`,
    `${ctx.mode === 'forward' ? 'The request went to the proxy in absolute-URI form (forward mode). ' : ''}A proxy in the path ${who ? `(${who}) ` : ''}removed the Upgrade and Connection headers, so the origin saw a plain GET and answered it${upgrade ? '' : ' without an Upgrade header'}. WebSocket cannot work through a forwarding hop that strips Upgrade.`,
    ['Use a CONNECT tunnel (--proxy-mode connect, the default), or wss:// so the proxy cannot see or change the request.', 'Ask the proxy administrator to allow WebSocket upgrades (squid: http_upgrade_request_protocols WebSocket allow all).'])
}

const secs = (n: number): string => `${(n / 1000).toFixed(1)} s`

/**
 * A connection that dropped after silence: likely an idle cut by a proxy, load balancer or NAT.
 * `how` ends the sentence "... before the connection ..." (e.g. "dropped without a close frame
 * (code 1006)"). Null under a second of silence (a cut that soon is not an idle timeout).
 */
export function diagnoseIdleCut(
  conn: string,
  cut: { sinceLastInMs: number; sinceLastOutMs: number; how: string; keepAlive: string },
  ctx: { viaProxy?: boolean; route?: string },
): DiagnosisDraft | null {
  const silentIn = cut.sinceLastInMs
  const silentOut = cut.sinceLastOutMs
  const silence = Math.min(silentIn, silentOut)
  if (!(silence >= 1000)) return null
  const recommend = Math.max(1000, Math.floor((silence * 0.5) / 1000) * 1000)
  const route = ctx.viaProxy && ctx.route && ctx.route !== 'DIRECT' ? ctx.route : ''
  return draft(conn, 'WT_IDLE_CUT', 'warning', `The connection was cut after about ${secs(silence)} of silence`,
    `Nothing was received for ${secs(silentIn)} and nothing sent for ${secs(silentOut)} before the connection ${cut.how}. ` +
      `${ctx.viaProxy ? `${cap(theProxy(route))} ` : 'A proxy, load balancer or NAT '}on the path probably closes idle connections after about ${secs(silence)}.`,
    [`Send something more often than the cut: ${cut.keepAlive} every ${secs(recommend)} or less.`, 'Repeat with a shorter and a longer silence to find the exact timeout.'])
}

/** A WebSocket close after silence (1006, no close frame): the idle cut of diagnoseIdleCut. */
export function diagnoseIdleClose(
  conn: string,
  close: { code: number; initiator: string; wasClean: boolean; sinceLastInMs?: number; sinceLastOutMs?: number },
  ctx: { viaProxy?: boolean; route?: string; heartbeatMs?: number; openForMs?: number },
): DiagnosisDraft | null {
  if (close.wasClean || close.initiator === 'local') return null
  const silentIn = close.sinceLastInMs ?? 0
  return diagnoseIdleCut(conn, { sinceLastInMs: silentIn, sinceLastOutMs: close.sinceLastOutMs ?? silentIn, how: `dropped without a close frame (code ${close.code})`, keepAlive: 'a ping' }, ctx)
}

/** What keeps each transport's connection busy, for the idle-cut advice. */
const KEEP_ALIVE: Record<string, string> = {
  sse: 'a server comment line (":\\n")',
  poll: 'an answer to the held request (even empty)',
  stream: 'a byte from the server',
  h2: 'an HTTP/2 PING (--h2-ping)',
}

/**
 * Watches one connection's events and returns diagnoses for stream-level triggers (upgrade
 * stripped, idle cut). O(1) per event; keeps only the route, the proxy mode and the last
 * idle cut reported (a reconnecting stream cut at the same silence is reported once).
 */
export class Diagnoser {
  private viaProxy = false
  private route = 'DIRECT'
  private mode: 'connect' | 'forward' | undefined
  private upgradeSeen = false
  private transport = ''
  private lastCutMs = 0

  constructor(readonly conn: string) {}

  observe(ev: WiretraceEvent): DiagnosisDraft | null {
    switch (ev.type) {
      case 'conn.start':
        this.transport = ev.spec?.transport ?? ''
        return null
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
      case 'error': {
        // SSE, long-poll, streams and HTTP/2 put the silence each way on the error that ended an open exchange.
        if (ev.sinceLastInMs === undefined || ev.sinceLastOutMs === undefined) return null
        const silence = Math.min(ev.sinceLastInMs, ev.sinceLastOutMs)
        if (this.lastCutMs && Math.abs(silence - this.lastCutMs) <= this.lastCutMs * 0.1) return null
        const d = diagnoseIdleCut(this.conn, {
          sinceLastInMs: ev.sinceLastInMs,
          sinceLastOutMs: ev.sinceLastOutMs,
          how: `was ${ev.code === 'WT_CONNECTION_RESET' ? 'reset' : 'closed'} (${ev.code}: ${ev.message})`,
          keepAlive: KEEP_ALIVE[this.transport] ?? 'a byte either way',
        }, { viaProxy: this.viaProxy, route: this.route })
        if (d) this.lastCutMs = silence
        return d
      }
      default:
        return null
    }
  }
}
