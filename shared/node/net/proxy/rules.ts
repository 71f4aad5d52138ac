/**
 * Pure route rules: proxy URLs (http://, https://, socks4://, socks4a://, socks5://, socks5h://,
 * credentials as user:pass@), NO_PROXY matching as curl does it, and which environment
 * variable applies to a URL (ws_proxy / wss_proxy as curl reads them).
 */
import net from 'node:net'
import type { ProxyKind, ProxyServer } from '../../../common/spec/index.ts'
import { WiretraceError, type ErrorCode } from '../../../common/errors/index.ts'
import { shownProxyUrl, whyProxyUrlInvalid } from '../../../common/proxy-url.ts'

const KINDS: Record<string, { kind: ProxyKind; port: number }> = {
  'http:': { kind: 'http', port: 80 },
  'https:': { kind: 'https', port: 443 },
  'socks:': { kind: 'socks5', port: 1080 },
  'socks4:': { kind: 'socks4', port: 1080 },
  'socks4a:': { kind: 'socks4a', port: 1080 },
  'socks5:': { kind: 'socks5', port: 1080 },
  'socks5h:': { kind: 'socks5h', port: 1080 },
}

/** Parses a proxy URL. A bare "host:port" means http:// as curl assumes. */
export function parseProxyUrl(text: string, code: ErrorCode = 'WT_PROXY_URL_INVALID', what = 'the proxy URL'): ProxyServer {
  const t = text.trim()
  if (!t) throw new WiretraceError(code, `${what} is empty`)
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    const why = whyProxyUrlInvalid(withScheme)
    throw new WiretraceError(code, `${what} "${shownProxyUrl(t)}" cannot be parsed${why ? `: ${why}` : ''} (expected scheme://[user:pass@]host:port)`)
  }
  const k = KINDS[u.protocol]
  if (!k) throw new WiretraceError(code, `${what} has an unsupported scheme ${u.protocol.slice(0, -1)} (use http, https, socks4, socks4a, socks5 or socks5h)`)
  if (!u.hostname) throw new WiretraceError(code, `${what} has no host`)
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  const out: ProxyServer = { kind: k.kind, host, port: u.port ? Number(u.port) : k.port }
  if (u.username || u.password) out.auth = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
  return out
}

/** A proxy as shown in events: scheme://host:port, never the credentials. */
export function proxyLabel(p: Pick<ProxyServer, 'kind' | 'host' | 'port'>): string {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host
  return `${p.kind}://${host}:${p.port}`
}

function ipv4ToNum(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
}

/** NO_PROXY as curl reads it: "*", host suffixes (".a.com" or "a.com"), IPs and CIDRs, optional :port. */
export function noProxyMatch(list: string | undefined, host: string, port: number): string | null {
  if (!list) return null
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '')
  for (const raw of list.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase()
    if (!entry) continue
    if (entry === '*') return entry
    let entryPort: number | null = null
    const pm = /^(.*[^:]):(\d+)$/.exec(entry)
    if (pm && !net.isIPv6(entry)) {
      entry = pm[1]!
      entryPort = Number(pm[2])
    }
    entry = entry.replace(/^\[|\]$/g, '')
    if (entryPort !== null && entryPort !== port) continue
    const slash = entry.indexOf('/')
    if (slash > 0 && net.isIPv4(entry.slice(0, slash)) && net.isIPv4(h)) {
      const bits = Number(entry.slice(slash + 1))
      if (bits >= 0 && bits <= 32) {
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
        if (((ipv4ToNum(h) & mask) >>> 0) === ((ipv4ToNum(entry.slice(0, slash)) & mask) >>> 0)) return raw.trim()
      }
      continue
    }
    if (net.isIP(entry) || net.isIP(h)) {
      if (entry === h) return raw.trim()
      continue
    }
    const suffix = entry.startsWith('.') ? entry.slice(1) : entry.startsWith('*.') ? entry.slice(2) : entry
    if (h === suffix || h.endsWith(`.${suffix}`)) return raw.trim()
  }
  return null
}

/** Which env variables apply to a URL, in the order we look at them. */
export function envVarsFor(protocol: string): string[] {
  switch (protocol) {
    case 'ws:':
      return ['ws_proxy', 'WS_PROXY', 'http_proxy', 'all_proxy', 'ALL_PROXY']
    case 'wss:':
      return ['wss_proxy', 'WSS_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']
    case 'https:':
      return ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']
    default:
      // Like curl, the upper-case HTTP_PROXY is ignored (httpoxy: CGI sets it from a request header).
      return ['http_proxy', 'all_proxy', 'ALL_PROXY']
  }
}

export function pickEnvProxy(env: Record<string, string | undefined>, url: URL): { name: string; value: string } | null {
  for (const name of envVarsFor(url.protocol)) {
    const v = env[name]
    if (v && v.trim()) return { name, value: v.trim() }
  }
  return null
}
