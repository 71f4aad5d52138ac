/**
 * PAC results: what `FindProxyForURL` returns ("PROXY a:8080; SOCKS5 b:1080; DIRECT"), parsed
 * into ordered routes. Pure: no Node, no DOM. Unknown or malformed entries are reported, never
 * silently dropped, so the `proxy.rule` event and the diagnosis can name them.
 */
import type { ProxyKind } from './spec/network.ts'
import { redactSecretsInText } from './redact.ts'

export type PacRoute = { kind: 'direct' } | { kind: ProxyKind; host: string; port: number }

export interface PacParse {
  routes: PacRoute[]
  /** Entries that could not be used, with the reason, e.g. `"QUIC a:1": unknown type QUIC`. */
  problems: string[]
}

const TYPE_MAP: Record<string, { kind: ProxyKind; port: number }> = {
  PROXY: { kind: 'http', port: 80 },
  HTTP: { kind: 'http', port: 80 },
  HTTPS: { kind: 'https', port: 443 },
  // Browsers treat plain "SOCKS" as SOCKS v4; "SOCKS5" resolves names at the proxy (Chrome).
  SOCKS: { kind: 'socks4', port: 1080 },
  SOCKS4: { kind: 'socks4', port: 1080 },
  SOCKS4A: { kind: 'socks4a', port: 1080 },
  SOCKS5: { kind: 'socks5h', port: 1080 },
}

/** Longest PAC result we look at; anything past it is reported as a problem. */
export const MAX_PAC_RESULT_CHARS = 8192
/** Most routes kept from one PAC result. */
export const MAX_PAC_ROUTES = 32

/** Parses "host:port", "[v6]:port" or "host" (default port). Returns null when malformed. */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | null {
  const t = text.trim()
  if (!t) return null
  let host: string
  let portText: string | undefined
  if (t.startsWith('[')) {
    const end = t.indexOf(']')
    if (end < 0) return null
    host = t.slice(1, end)
    const rest = t.slice(end + 1)
    if (rest && !rest.startsWith(':')) return null
    portText = rest ? rest.slice(1) : undefined
  } else {
    const colon = t.lastIndexOf(':')
    if (colon >= 0 && t.indexOf(':') === colon) {
      host = t.slice(0, colon)
      portText = t.slice(colon + 1)
    } else if (colon >= 0) {
      // Bare IPv6 without brackets: no port.
      host = t
    } else {
      host = t
    }
  }
  if (!host || /[\s/@]/.test(host)) return null
  let port = defaultPort
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return null
    port = Number(portText)
    if (port < 1 || port > 65535) return null
  }
  return { host, port }
}

/** Parses a PAC return value. An empty or null result means DIRECT (as browsers do). */
export function parsePacResult(result: unknown): PacParse {
  const problems: string[] = []
  if (result === null || result === undefined || result === '') {
    return { routes: [{ kind: 'direct' }], problems }
  }
  if (typeof result !== 'string') {
    return { routes: [], problems: [`FindProxyForURL returned a ${typeof result}, not a string`] }
  }
  let text = result
  if (text.length > MAX_PAC_RESULT_CHARS) {
    problems.push(`result longer than ${MAX_PAC_RESULT_CHARS} characters; the rest was ignored`)
    text = text.slice(0, MAX_PAC_RESULT_CHARS)
  }
  const routes: PacRoute[] = []
  for (const raw of text.split(';')) {
    const entry = raw.trim()
    if (!entry) continue
    // Problems quote the entry: a "user:pass@" in it is not repeated.
    const shown = redactSecretsInText(entry)
    if (routes.length >= MAX_PAC_ROUTES) {
      problems.push(`more than ${MAX_PAC_ROUTES} entries; the rest were ignored`)
      break
    }
    const m = /^(\S+)(?:\s+(.*))?$/.exec(entry)
    const type = (m?.[1] ?? '').toUpperCase()
    const arg = (m?.[2] ?? '').trim()
    if (type === 'DIRECT') {
      if (arg) problems.push(`"${shown}": DIRECT takes no address`)
      routes.push({ kind: 'direct' })
      continue
    }
    const t = TYPE_MAP[type]
    if (!t) {
      problems.push(`"${shown}": unknown type ${type || '(empty)'} (expected PROXY, HTTPS, SOCKS, SOCKS4, SOCKS5 or DIRECT)`)
      continue
    }
    if (!arg) {
      problems.push(`"${shown}": ${type} needs host:port`)
      continue
    }
    const hp = parseHostPort(arg, t.port)
    if (!hp) {
      problems.push(`"${shown}": "${redactSecretsInText(arg)}" is not a valid host:port`)
      continue
    }
    routes.push({ kind: t.kind, host: hp.host, port: hp.port })
  }
  if (routes.length === 0 && problems.length === 0) routes.push({ kind: 'direct' })
  return { routes, problems }
}

/** A route as text for events: "DIRECT" or "socks5h://host:1080". */
export function routeText(r: PacRoute): string {
  if (r.kind === 'direct') return 'DIRECT'
  const host = r.host.includes(':') ? `[${r.host}]` : r.host
  return `${r.kind}://${host}:${r.port}`
}
