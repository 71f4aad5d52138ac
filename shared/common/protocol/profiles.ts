/**
 * Named network profiles as the hosts keep them (profiles.json), and the pure helpers both
 * sides need: which fields are secrets, stripping them, and a one-line description that never
 * shows a password. No Node, no DOM.
 */
import type { ConnectionSpec, NetworkProfile, ProxyAuth, ProxyTlsOptions } from '../spec/index.ts'
import type { WiretraceErrorData } from '../errors/index.ts'
import { SECRET_HEADERS, SECRET_QUERY_PARAMS, redactUrlText } from '../redact.ts'

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

const SCHEME_RE = /^\s*([a-z][a-z0-9+.-]*):\/\//i
/** Schemes whose URLs end their authority at "\\" as well (WHATWG "special" schemes). */
const SPECIAL = new Set(['http', 'https', 'ws', 'wss', 'ftp', 'file'])

/**
 * Where the userinfo of a URL or proxy variable is: from after "scheme://" (or the start, a
 * schemeless "user:pass@host:port" being http:// as the engine reads it) to the last "@" of
 * the authority. A URL that parses ends its authority at the first "/", "?", "#" (or "\\" for
 * http and the like), as the engine's URL parser does, so an "@" in its path or query is not
 * userinfo; one that does not parse (a "/" in its password, say) is read as redactUserinfo
 * reads it: up to the last "@" before the first "/", "?" or "#" that follows the first "@".
 * Null: no userinfo.
 */
function userinfoSpan(text: string): { start: number; at: number } | null {
  const first = text.indexOf('@')
  if (first < 0) return null
  const m = SCHEME_RE.exec(text)
  const start = m ? m[0].length : /^\s*/.exec(text)![0].length
  if (first < start) return null
  let parses = true
  try {
    new URL(m ? text : `http://${text.trim()}`)
  } catch {
    parses = false
  }
  let end: number
  if (parses) {
    const special = !m || SPECIAL.has(m[1]!.toLowerCase())
    const cut = text.slice(start).search(special ? /[/?#\\]/ : /[/?#]/)
    end = cut < 0 ? text.length : start + cut
  } else {
    const cut = text.slice(first).search(/[/?#]/)
    end = cut < 0 ? text.length : first + cut
  }
  const at = text.lastIndexOf('@', end)
  return at >= start ? { start, at } : null
}

/**
 * A URL or proxy variable without the password of its user:password@ (the user name stays):
 * `http://u:p@ss@h:3128` → `http://u@h:3128`, `u:pw@h:1080` → `u@h:1080`. The userinfo is
 * found as redactUserinfo finds it (no scheme needed, the last "@" of the authority ends it).
 */
export function urlWithoutPassword(url: string): string {
  const span = userinfoSpan(url)
  if (!span) return url
  const colon = url.indexOf(':', span.start)
  if (colon < 0 || colon >= span.at - 1) return url
  return url.slice(0, colon) + url.slice(span.at)
}

function paramName(part: string): string | null {
  const eq = part.indexOf('=')
  if (eq <= 0) return null
  let name = part.slice(0, eq)
  try {
    name = decodeURIComponent(name.replace(/\+/g, ' '))
  } catch {
    // a malformed escape: compare the raw name
  }
  return name
}

function isSecretParam(part: string): boolean {
  const name = paramName(part)
  return name !== null && SECRET_QUERY_PARAMS.has(name.toLowerCase())
}

/**
 * The URL's query split as written: [param, sep, param, sep, ...] between `q` (the "?") and `end`
 * (the "#" or the end), found after the userinfo (an "@" or "?" in a password is not the query).
 */
function querySpan(url: string): { q: number; end: number; parts: string[] } | null {
  const span = userinfoSpan(url)
  const from = span ? span.at : 0
  const hash = url.indexOf('#', from)
  const end = hash < 0 ? url.length : hash
  // A "?" after the "#" belongs to the fragment, which is never sent: no query.
  const q = url.indexOf('?', from)
  if (q < 0 || q > end) return null
  return { q, end, parts: url.slice(q + 1, end).split(/([&;])/) }
}

/**
 * A URL without its password and without the query parameters that carry tokens
 * (SECRET_QUERY_PARAMS: `token=`, `access_token=`, `sig=`…), which are removed whole; the rest
 * stays as written. For a stored PAC URL.
 */
export function urlWithoutSecrets(url: string): string {
  const out = urlWithoutPassword(url)
  const qs = querySpan(out)
  if (!qs) return out
  const { q, end, parts } = qs
  // [param, sep, param, sep, ...]: a removed parameter takes the separator before it (after it, when first).
  const kept: string[] = []
  for (let i = 0; i < parts.length; i += 2) {
    if (isSecretParam(parts[i]!)) continue
    if (kept.length) kept.push(parts[i - 1]!)
    kept.push(parts[i]!)
  }
  const query = kept.join('')
  if (query === out.slice(q + 1, end)) return out
  return out.slice(0, q) + (query ? `?${query}` : '') + out.slice(end)
}

/**
 * A target's URL with the values of its token query parameters (SECRET_QUERY_PARAMS) emptied
 * where they stand (`?room=1&token=`): the names stay so the composer can ask for them; the rest
 * stays as written.
 */
export function urlWithEmptySecretParams(url: string): string {
  const qs = querySpan(url)
  if (!qs) return url
  const { q, end, parts } = qs
  let changed = false
  for (let i = 0; i < parts.length; i += 2) {
    const part = parts[i]!
    const eq = part.indexOf('=')
    if (eq < 0 || eq === part.length - 1 || !isSecretParam(part)) continue
    parts[i] = part.slice(0, eq + 1)
    changed = true
  }
  return changed ? url.slice(0, q + 1) + parts.join('') + url.slice(end) : url
}

/** The token query parameters of `url` whose value is empty: what a target saved without its secrets needs filled in. */
export function emptySecretParams(url: string): string[] {
  return emptySecretSpots(url).map((x) => x.name)
}

/**
 * The same, each with where its value goes (the index just after its "="), for the composer's
 * caret. A value that itself ends in "=" (base64 padding) is a value.
 */
export function emptySecretSpots(url: string): Array<{ name: string; at: number }> {
  const qs = querySpan(url)
  if (!qs) return []
  const out: Array<{ name: string; at: number }> = []
  let at = qs.q + 1
  for (let i = 0; i < qs.parts.length; i++) {
    const part = qs.parts[i]!
    at += part.length
    if (i % 2 === 0 && part.indexOf('=') === part.length - 1 && isSecretParam(part)) out.push({ name: paramName(part)!, at })
  }
  return out
}

/**
 * Whether the profile holds a secret: a proxy password, a key passphrase, an inline private
 * key, a password inside a PAC URL or a proxy variable (`http://user:password@proxy`,
 * `user:password@proxy:port`), or a token query parameter of a PAC URL.
 */
export function hasSecrets(n: NetworkProfile): boolean {
  if (profileAuth(n)?.password) return true
  if (n.mode === 'pac' && n.pacUrl && urlWithoutSecrets(n.pacUrl) !== n.pacUrl) return true
  if (n.mode === 'env' && n.env && Object.values(n.env).some((v) => urlWithoutPassword(v) !== v)) return true
  const t = profileProxyTls(n)
  return !!(t?.passphrase || t?.key)
}

/**
 * The profile without its secrets: the password becomes empty (the user name stays, so the UI
 * knows to ask), passwords inside a PAC URL or a proxy variable and a PAC URL's token query
 * parameters are removed, the key passphrase and an inline private key are dropped, with the
 * inline certificate that needs it (a key *file* path stays).
 */
export function stripSecrets(n: NetworkProfile): NetworkProfile {
  if (n.mode === 'direct') return n
  const out = { ...n }
  if (out.mode === 'manual' && out.proxy.auth) out.proxy = { ...out.proxy, auth: { ...out.proxy.auth, password: '' } }
  if ((out.mode === 'pac' || out.mode === 'env') && out.auth) out.auth = { ...out.auth, password: '' }
  if (out.mode === 'pac' && out.pacUrl) out.pacUrl = urlWithoutSecrets(out.pacUrl)
  if (out.mode === 'env' && out.env) out.env = Object.fromEntries(Object.entries(out.env).map(([k, v]) => [k, urlWithoutPassword(v)]))
  if (out.proxyTls) {
    const t = { ...out.proxyTls }
    delete t.passphrase
    // A certificate without its key is refused when the profile is read back: they go together.
    if (t.key) delete t.cert
    delete t.key
    out.proxyTls = t
  }
  return out
}

/** A header whose value is a secret (Authorization, Proxy-Authorization, Cookie, API keys: redact.ts's SECRET_HEADERS). */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase())
}

/**
 * Whether a target's spec holds a secret: a password in its URL, a secret header value, an
 * inline private key or PKCS#12 bundle, a key passphrase, or a secret of its network profile.
 */
export function specHasSecrets(spec: ConnectionSpec): boolean {
  if (urlWithoutPassword(spec.url) !== spec.url || urlWithEmptySecretParams(spec.url) !== spec.url) return true
  if (spec.headers?.some(([k, v]) => v !== '' && isSecretHeader(k))) return true
  if (spec.tls?.passphrase || spec.tls?.key || spec.tls?.pfx) return true
  return !!spec.network && hasSecrets(spec.network)
}

/**
 * The spec without its secrets: the URL's password (the user name stays), the values of its
 * token query parameters and of secret headers (the parameter and the header stay, empty, so the
 * composer shows what to fill in), the inline private key with its inline certificate, the
 * PKCS#12 bundle, the key passphrase, and the network's secrets.
 */
export function stripSpecSecrets(spec: ConnectionSpec): ConnectionSpec {
  const out: ConnectionSpec = { ...spec, url: urlWithEmptySecretParams(urlWithoutPassword(spec.url)) }
  if (spec.headers) out.headers = spec.headers.map(([k, v]) => [k, isSecretHeader(k) ? '' : v])
  if (spec.network) out.network = stripSecrets(spec.network)
  if (spec.tls && (spec.tls.passphrase !== undefined || spec.tls.key !== undefined || spec.tls.pfx !== undefined)) {
    const t = { ...spec.tls }
    if (t.key !== undefined) delete t.cert
    delete t.key
    delete t.pfx
    delete t.passphrase
    out.tls = t
  }
  return out
}

function tlsWords(t: ProxyTlsOptions | undefined): string[] {
  if (t?.insecure) return ['proxy certificate not checked']
  if (t?.caFiles?.length || t?.ca?.length) return ['own CA for the proxy']
  return []
}

/** TLS to the origin that the profile adds to every connection's own. */
function originWords(n: NetworkProfile): string[] {
  const t = n.originTls
  const out: string[] = []
  if (t?.caFiles?.length || t?.ca?.length) out.push('own CA for the origin')
  if (t?.osCaStore) out.push('system CA store')
  if (t?.insecure) out.push('origin certificate not checked')
  return out
}

const KIND_LABEL: Record<string, string> = { http: 'HTTP', https: 'HTTPS', socks4: 'SOCKS4', socks4a: 'SOCKS4a', socks5: 'SOCKS5', socks5h: 'SOCKS5h' }

/** One line describing a profile, for the composer and lists. Never a password. */
export function describeNetwork(n: NetworkProfile | undefined): string {
  if (!n) return 'Direct: no proxy'
  return [describeRoute(n), ...originWords(n)].join(' · ')
}

function describeRoute(n: NetworkProfile): string {
  switch (n.mode) {
    case 'direct':
      return 'Direct: no proxy'
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
