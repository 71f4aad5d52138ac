/**
 * Named network profiles as the hosts keep them (profiles.json), and the pure helpers both
 * sides need: which fields are secrets, stripping them, and a one-line description that never
 * shows a password. No Node, no DOM.
 */
import type { NetworkProfile, ProxyAuth, ProxyTlsOptions } from '../spec/index.ts'
import type { WiretraceErrorData } from '../errors/index.ts'
import { redactUrlText } from '../redact.ts'

/** Saved network profiles a host keeps at most. */
export const MAX_PROFILES = 100
/** Longest profile name. */
export const MAX_PROFILE_NAME = 80

/** A named, reusable network profile. `network.name` equals `name`. */
export interface SavedProfile {
  name: string
  network: NetworkProfile
  /**
   * Keep the proxy password (and key passphrase) in profiles.json, a file only the user can
   * read (mode 0600). Off: the host strips them before writing; the UI asks for the password.
   */
  rememberPassword?: boolean
  /** When it was last saved (ISO 8601). */
  updated?: string
}

/** What every profiles.* command answers: the list, where it is kept and the limit. */
export interface ProfileList {
  profiles: SavedProfile[]
  /** The file (profiles.json), or null when the host keeps them in memory only. */
  file: string | null
  limit: number
}

/** The route a profile gives for a URL, resolved by the host before connecting (`proxy.resolve`). */
export interface ProxyResolution {
  /** False when this host cannot resolve it (the system proxy outside the desktop app). */
  available: boolean
  /** Why not available. */
  why?: string
  source?: 'direct' | 'manual' | 'env' | 'pac' | 'system'
  /** The rule that chose the route: the system's or PAC's answer, the env variable, the no-proxy match. */
  rule?: string
  /** Candidate routes in order ("http://proxy:3128", "DIRECT"); never credentials. */
  routes: string[]
  detail?: string
  /** The lookup failed (the route would go DIRECT with a warning, or fail for a PAC set to fail). */
  error?: WiretraceErrorData
  /** How long the lookup took, ms. */
  ms: number
}

/** The credentials of a profile (manual proxy, or for the proxies a PAC file or the environment names). */
export function profileAuth(n: NetworkProfile): ProxyAuth | undefined {
  if (n.mode === 'manual') return n.proxy.auth
  if (n.mode === 'pac' || n.mode === 'env') return n.auth
  return undefined
}

/** A user name is set but no password (SOCKS4 has a user id only): the UI asks for it before connecting. */
export function needsPassword(n: NetworkProfile | undefined): boolean {
  if (!n || (n.mode === 'manual' && (n.proxy.kind === 'socks4' || n.proxy.kind === 'socks4a'))) return false
  const a = profileAuth(n)
  return !!a && !!a.username && !a.password
}

/** The profile with this password for its proxy credentials (typed for this session, never saved by the UI). */
export function withPassword(n: NetworkProfile, password: string): NetworkProfile {
  if (n.mode === 'manual' && n.proxy.auth) return { ...n, proxy: { ...n.proxy, auth: { ...n.proxy.auth, password } } }
  if ((n.mode === 'pac' || n.mode === 'env') && n.auth) return { ...n, auth: { ...n.auth, password } }
  return n
}

/** TLS to an HTTPS proxy: a manual one, or one a PAC result, a variable or the system names. */
export function profileProxyTls(n: NetworkProfile): ProxyTlsOptions | undefined {
  return n.mode === 'direct' ? undefined : n.proxyTls
}

/** A URL without the password of its user:password@ (the user name stays). */
export function urlWithoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, '$1@')
}

/**
 * Whether the profile holds a secret: a proxy password, a key passphrase, an inline private
 * key, or a password inside a PAC URL or a proxy variable (`http://user:password@proxy`).
 */
export function hasSecrets(n: NetworkProfile): boolean {
  if (profileAuth(n)?.password) return true
  if (n.mode === 'pac' && n.pacUrl && urlWithoutPassword(n.pacUrl) !== n.pacUrl) return true
  if (n.mode === 'env' && n.env && Object.values(n.env).some((v) => urlWithoutPassword(v) !== v)) return true
  const t = profileProxyTls(n)
  return !!(t?.passphrase || t?.key)
}

/**
 * The profile without its secrets: the password becomes empty (the user name stays, so the UI
 * knows to ask), passwords inside a PAC URL or a proxy variable are removed, the key passphrase
 * and an inline private key are dropped (a key *file* path stays).
 */
export function stripSecrets(n: NetworkProfile): NetworkProfile {
  if (n.mode === 'direct') return n
  const out = { ...n }
  if (out.mode === 'manual' && out.proxy.auth) out.proxy = { ...out.proxy, auth: { ...out.proxy.auth, password: '' } }
  if ((out.mode === 'pac' || out.mode === 'env') && out.auth) out.auth = { ...out.auth, password: '' }
  if (out.mode === 'pac' && out.pacUrl) out.pacUrl = urlWithoutPassword(out.pacUrl)
  if (out.mode === 'env' && out.env) out.env = Object.fromEntries(Object.entries(out.env).map(([k, v]) => [k, urlWithoutPassword(v)]))
  if (out.proxyTls) {
    const t = { ...out.proxyTls }
    delete t.passphrase
    delete t.key
    out.proxyTls = t
  }
  return out
}

function tlsWords(t: ProxyTlsOptions | undefined): string[] {
  if (t?.insecure) return ['proxy certificate not checked']
  if (t?.caFiles?.length || t?.ca?.length) return ['own CA for the proxy']
  return []
}

const KIND_LABEL: Record<string, string> = { http: 'HTTP', https: 'HTTPS', socks4: 'SOCKS4', socks4a: 'SOCKS4a', socks5: 'SOCKS5', socks5h: 'SOCKS5h' }

/** One line describing a profile, for the composer and lists. Never a password. */
export function describeNetwork(n: NetworkProfile | undefined): string {
  if (!n || n.mode === 'direct') return 'Direct: no proxy'
  switch (n.mode) {
    case 'manual': {
      const p = n.proxy
      const host = p.host.includes(':') ? `[${p.host}]` : p.host
      const parts = [`${KIND_LABEL[p.kind] ?? p.kind} proxy ${p.auth?.username ? `${p.auth.username}@` : ''}${host}:${p.port}`]
      if (p.kind === 'http' || p.kind === 'https') parts.push(n.httpMode === 'forward' ? 'forward (absolute URI) for ws:// and http://' : 'CONNECT tunnel')
      if (p.auth?.schemes?.length) parts.push(`auth ${p.auth.schemes.join(' > ')}`)
      if (n.noProxy) parts.push(`no proxy for ${n.noProxy}`)
      return [...parts, ...tlsWords(n.proxyTls)].join(' · ')
    }
    case 'pac':
      // A PAC URL may carry user:password@ (not a field stripSecrets knows): masked here.
      return [`PAC ${n.pacUrl ? redactUrlText(n.pacUrl) : n.pacFile ?? '(inline script)'} · on PAC error ${n.onPacError === 'fail' ? 'fail' : 'go DIRECT'}`, ...tlsWords(n.proxyTls)].join(' · ')
    case 'env':
      return ['Environment: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY, ws_proxy, wss_proxy of the host process', ...tlsWords(n.proxyTls)].join(' · ')
    case 'system':
      return ['System proxy: the OS settings (PAC, WPAD) as Chromium resolves them, in the desktop app', ...tlsWords(n.proxyTls)].join(' · ')
  }
}
