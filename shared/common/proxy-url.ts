/** Parses a proxy URL (http://, https://, socks4://, socks4a://, socks5://, socks5h://, user:pass@). */
import type { ProxyKind, ProxyServer } from './spec/index.ts'
import { WiretraceError } from './errors/index.ts'
import { MASK, redactUserinfo } from './redact.ts'

/** The proxy kind of each URL scheme (`socks:` means SOCKS5, as curl reads it). */
export const PROXY_SCHEMES: Readonly<Record<string, ProxyKind>> = {
  'http:': 'http',
  'https:': 'https',
  'socks:': 'socks5',
  'socks4:': 'socks4',
  'socks4a:': 'socks4a',
  'socks5:': 'socks5',
  'socks5h:': 'socks5h',
}
const DEFAULT_PORTS: Record<ProxyKind, number> = { http: 80, https: 443, socks4: 1080, socks4a: 1080, socks5: 1080, socks5h: 1080 }

export function parseProxyUrl(raw: string): ProxyServer {
  let text = raw.trim()
  if (!/^[a-z0-9]+:\/\//i.test(text)) text = `http://${text}`
  let u: URL
  try {
    u = new URL(text)
  } catch {
    const why = whyProxyUrlInvalid(text)
    throw new WiretraceError('WT_PROXY_URL_INVALID', `"${shownProxyUrl(raw)}" is not a valid proxy URL${why ? `: ${why}` : ''} (expected e.g. http://host:3128 or socks5h://user:pass@host:1080)`)
  }
  const kind = PROXY_SCHEMES[u.protocol]
  if (!kind) {
    throw new WiretraceError('WT_PROXY_URL_INVALID', `unsupported proxy scheme ${u.protocol.slice(0, -1)}: use http, https, socks4, socks4a, socks5 or socks5h`)
  }
  if (!u.hostname) throw new WiretraceError('WT_PROXY_URL_INVALID', `the proxy URL "${shownProxyUrl(raw)}" has no host`)
  const server: ProxyServer = {
    kind,
    host: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
    port: u.port ? Number(u.port) : DEFAULT_PORTS[kind],
  }
  if (u.username || u.password) {
    server.auth = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
  }
  return server
}

/** A proxy URL as quoted in a message or log: the password (or a lone user name) is `***`. */
export function shownProxyUrl(raw: string): string {
  return redactUserinfo(raw.trim(), MASK)
}

/**
 * Why a proxy URL (with its scheme) does not parse, in words that name the bad part without
 * the credentials: "port 99999 is out of range (1-65535)", "the host "a b" is not a host
 * name", "it has no host". Empty when no reason is found.
 */
export function whyProxyUrlInvalid(text: string): string {
  const t = text.trim()
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(t)?.[0].length ?? 0
  // The host part starts after the userinfo (redacted the same way, so "@" in a password is skipped).
  const red = redactUserinfo(t, MASK)
  const at = red.indexOf(`${MASK}@`, scheme)
  const from = at >= 0 ? at + MASK.length + 1 : red.indexOf('@', scheme) >= 0 ? red.indexOf('@', scheme) + 1 : scheme
  const rest = red.slice(from)
  const hostPort = rest.slice(0, rest.search(/[/?#]|$/))
  if (!hostPort) return 'it has no host'
  let host: string
  let port: string | undefined
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']')
    if (end < 0) return `the IPv6 address "${hostPort}" has no closing "]"`
    host = hostPort.slice(0, end + 1)
    const after = hostPort.slice(end + 1)
    if (after && !after.startsWith(':')) return `unexpected "${after}" after the IPv6 address ${host}`
    if (after) port = after.slice(1)
  } else {
    const colon = hostPort.indexOf(':')
    if (colon >= 0 && hostPort.indexOf(':', colon + 1) >= 0) return `"${hostPort}" has more than one ":" (an IPv6 address goes in [brackets])`
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort
    if (colon >= 0) port = hostPort.slice(colon + 1)
  }
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port)) return `the port "${port}" is not a number`
    if (Number(port) > 65535) return `port ${port} is out of range (1-65535)`
  }
  if (!host || host === '[]') return 'it has no host'
  if (/[\s<>^|"`{}\\%]/.test(host) || (host.startsWith('[') && !/^\[[0-9a-f:.]+\]$/i.test(host))) return `the host "${host}" is not a host name or address`
  return ''
}

/** The proxy as shown in recordings and logs: credentials never appear. */
export function proxyLabel(p: ProxyServer): string {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host
  return `${p.kind}://${p.auth ? `${p.auth.username ? encodeURIComponent(p.auth.username) : ''}:[redacted]@` : ''}${host}:${p.port}`
}
