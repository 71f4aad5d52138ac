/** Parses a proxy URL (http://, https://, socks4://, socks4a://, socks5://, socks5h://, user:pass@). */
import type { ProxyKind, ProxyServer } from './spec/index.ts'
import { WiretraceError } from './errors/index.ts'

const KINDS: Record<string, ProxyKind> = {
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
    throw new WiretraceError('WT_PROXY_URL_INVALID', `"${raw}" is not a valid proxy URL (expected e.g. http://host:3128 or socks5h://user:pass@host:1080)`)
  }
  const kind = KINDS[u.protocol]
  if (!kind) {
    throw new WiretraceError('WT_PROXY_URL_INVALID', `unsupported proxy scheme ${u.protocol.slice(0, -1)}: use http, https, socks4, socks4a, socks5 or socks5h`)
  }
  if (!u.hostname) throw new WiretraceError('WT_PROXY_URL_INVALID', `the proxy URL "${raw}" has no host`)
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

/** The proxy as shown in recordings and logs: credentials never appear. */
export function proxyLabel(p: ProxyServer): string {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host
  return `${p.kind}://${p.auth ? `${p.auth.username ? encodeURIComponent(p.auth.username) : ''}:[redacted]@` : ''}${host}:${p.port}`
}
