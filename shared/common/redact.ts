/**
 * Secrets never land in a recording unredacted unless the user asks. These helpers are the
 * one place that decides what a secret is for live recording; export-time redaction with
 * user rules builds on them.
 */
import type { HeaderPairs } from './events/base.ts'
import type { ConnectionSpec } from './spec/index.ts'

export const REDACTED = '[redacted]'

export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key', 'x-auth-token',
  'x-access-token', 'x-csrf-token', 'x-xsrf-token', 'sec-websocket-key-secret',
])

/** Query parameters that commonly carry tokens. */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'token', 'access_token', 'id_token', 'refresh_token', 'api_key', 'apikey', 'key', 'auth', 'password', 'secret',
  'client_secret', 'signature', 'sig', 'x-amz-signature', 'x-amz-security-token', 'jwt', 'session', 'sessionid',
])

/** Keeps the scheme of an Authorization value ("Bearer [redacted]") so the recording still says what was used. */
export function redactHeaderValue(name: string, value: string): string {
  const lower = name.toLowerCase()
  if (!SECRET_HEADERS.has(lower)) return value
  if (lower === 'authorization' || lower === 'proxy-authorization') {
    const sp = value.indexOf(' ')
    return sp > 0 ? `${value.slice(0, sp)} ${REDACTED}` : REDACTED
  }
  return REDACTED
}

export function redactHeaders(headers: HeaderPairs): HeaderPairs {
  let changed = false
  const out: HeaderPairs = headers.map(([k, v]) => {
    const r = redactHeaderValue(k, v)
    if (r !== v) changed = true
    return [k, r]
  })
  return changed ? out : headers
}

/** Removes user:password and token query parameters from a URL string (for recordings). */
export function redactUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    // Not a URL (a bad port, a space in the host): the userinfo and tokens are still hidden, as text.
    return redactUrlText(url, REDACTED)
  }
  let changed = false
  if (u.username || u.password) {
    u.username = u.username ? REDACTED : ''
    u.password = u.password ? REDACTED : ''
    changed = true
  }
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_QUERY_PARAMS.has(key.toLowerCase())) {
      u.searchParams.set(key, REDACTED)
      changed = true
    }
  }
  return changed ? u.toString() : url
}

/** What replaces a password or token in messages, logs and CLI output (recordings use REDACTED). */
export const MASK = '***'

const SCHEME_RE = /^\s*[a-z][a-z0-9+.-]*:\/\//i

function maskUserinfo(info: string, mask: string): string {
  const colon = info.indexOf(':')
  // A lone user name may be a token (https://TOKEN@host): hidden too.
  if (colon < 0) return info ? mask : info
  return `${info.slice(0, colon)}:${colon < info.length - 1 ? mask : ''}`
}

function maskUserinfoBefore(text: string, start: number, at: number, mask: string): string {
  return text.slice(0, start) + maskUserinfo(text.slice(start, at), mask) + text.slice(at)
}

/**
 * Hides the password of "scheme://user:pass@host..." or "user:pass@host..." as text, whether it
 * parses or not: the user name stays, the password becomes `mask`; a lone user name (possibly
 * a token) is masked whole. The userinfo runs from after "scheme://" to the last "@" before the
 * first "/", "?" or "#" that follows the first "@", so an unencoded "@", "/", "?" or "#" in a
 * password does not cut it short (a text with no userinfo but an "@" after its path loses its
 * host to the mask: more hidden, never less). Percent-encoded text stays encoded.
 */
export function redactUserinfo(text: string, mask = REDACTED): string {
  const first = text.indexOf('@')
  if (first < 0) return text
  const start = (SCHEME_RE.exec(text) ?? /^\s*/.exec(text))![0].length
  if (first < start) return text
  const end = text.slice(first).search(/[/?#]/)
  const at = text.lastIndexOf('@', end < 0 ? text.length : first + end)
  return maskUserinfoBefore(text, start, at, mask)
}

/** A proxy variable's value (with or without a scheme, parsed or not) with any credentials redacted. */
export function redactProxyValue(value: string, mask = REDACTED): string {
  return redactUserinfo(value, mask)
}

function maskQuery(text: string, from: number, mask: string): string {
  const q = text.indexOf('?', from)
  if (q < 0) return text
  const hash = text.indexOf('#', q)
  const end = hash < 0 ? text.length : hash
  const query = text.slice(q, end).replace(/([?&;])([^=&#;]+)=([^&#;]*)/g, (all, sep: string, name: string) => {
    let key = name
    try {
      key = decodeURIComponent(name.replace(/\+/g, ' '))
    } catch {
      // a malformed escape: compare the raw name
    }
    return SECRET_QUERY_PARAMS.has(key.toLowerCase()) ? `${sep}${name}=${mask}` : all
  })
  return text.slice(0, q) + query + text.slice(end)
}

/**
 * A URL as quoted in a message (a PAC URL, a target): the password and token query parameters
 * (SECRET_QUERY_PARAMS) become `mask`, the rest stays as written. In a URL that parses, the
 * userinfo is where URL parsers find it (an "@" in its query stays); one that does not parse
 * is redacted as redactUserinfo does.
 */
export function redactUrlText(url: string, mask = MASK): string {
  let parsed = true
  try {
    new URL(url)
  } catch {
    parsed = false
  }
  let out = url
  let from = SCHEME_RE.exec(url)?.[0].length ?? 0
  if (parsed) {
    const end = url.slice(from).search(/[/?#\\]/)
    const at = url.lastIndexOf('@', end < 0 ? url.length : from + end)
    if (at >= from) out = maskUserinfoBefore(url, from, at, mask)
  } else {
    out = redactUserinfo(url, mask)
  }
  const masked = out.indexOf(`${mask}@`, from)
  if (masked >= 0) from = masked + mask.length + 1
  return maskQuery(out, from, mask)
}

/** Authorization schemes: the word stays, what follows it is hidden. */
const AUTH_SCHEMES = 'basic|bearer|digest|ntlm|negotiate|kerberos|token|hoba|mutual|dpop|hawk|vapid|privatetoken|aws4-hmac-sha256|scram-sha-1|scram-sha-256'
const AUTH_RE = new RegExp(`\\b((?:proxy-)?authorization)(\\s*[:=]\\s*"?)(?:(${AUTH_SCHEMES})\\s+)?((?:[\\w-]+=(?:"[^"]*"|[^\\s",]*)(?:\\s*,\\s*(?=[\\w-]+=))?)+|[^\\s",;]+)`, 'gi')
// Linear on any input (PAC results are untrusted): the scheme is at most 32 characters.
const URL_IN_TEXT_RE = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'<>`]+/gi

/** "u:p@h" inside one word of free text (after "(", "," or "=" too): the password is masked. */
function maskBareUserinfo(word: string, mask: string): string {
  const at = word.lastIndexOf('@')
  const colon = word.indexOf(':')
  if (at < 0 || at === word.length - 1 || colon < 0 || colon > at || word.includes('://')) return word
  const start = Math.max(word.lastIndexOf('(', colon), word.lastIndexOf(',', colon), word.lastIndexOf('=', colon)) + 1
  if (start >= colon || /[@/]/.test(word.slice(start, colon))) return word
  const pass = word.slice(colon + 1, at)
  return pass && pass !== mask ? `${word.slice(0, colon + 1)}${mask}${word.slice(at)}` : word
}

/**
 * Free text from elsewhere (a library's error message, a PAC result) with credentials hidden:
 * every "scheme://…" URL as redactUrlText does, a bare "user:pass@host" (as in "PROXY u:p@h:80"),
 * and Authorization / Proxy-Authorization values (the scheme word stays).
 */
export function redactSecretsInText(text: string, mask = MASK): string {
  if (!text) return text
  let out = text.includes('://') ? text.replace(URL_IN_TEXT_RE, (u) => redactUrlText(u, mask)) : text
  if (out.includes('@')) out = out.replace(/[^\s;"']+/g, (word) => maskBareUserinfo(word, mask))
  if (/authorization/i.test(out)) {
    out = out.replace(AUTH_RE, (_all, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ? `${scheme} ` : ''}${mask}`)
  }
  return out
}

/** The spec as written to a recording header. */
export function redactSpec(spec: ConnectionSpec): ConnectionSpec {
  if (spec.keepSecrets) return spec
  const out: ConnectionSpec = { ...spec, url: redactUrl(spec.url) }
  if (spec.headers) out.headers = redactHeaders(spec.headers)
  if (spec.tls) {
    const t = { ...spec.tls }
    if (t.key) t.key = REDACTED
    if (t.pfx) t.pfx = REDACTED
    if (t.passphrase) t.passphrase = REDACTED
    // CA certificates are public; keep only their count and file names to keep headers small.
    if (t.ca) t.ca = t.ca.map(() => '[pem]')
    if (t.cert) t.cert = '[pem]'
    out.tls = t
  }
  const n = spec.network
  if (n) {
    const copy = { ...n }
    if (copy.mode === 'manual' && copy.proxy.auth) copy.proxy = { ...copy.proxy, auth: { ...copy.proxy.auth, password: REDACTED } }
    if ((copy.mode === 'pac' || copy.mode === 'env') && copy.auth) copy.auth = { ...copy.auth, password: REDACTED }
    if (copy.mode === 'env' && copy.env) {
      // Proxy variables often carry user:password@: keep the variable, redact the credentials.
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(copy.env)) env[k] = redactProxyValue(v)
      copy.env = env
    }
    if (copy.mode === 'pac' && copy.pacUrl) copy.pacUrl = redactUrl(copy.pacUrl)
    // The system's answer ("PROXY u:p@h:80") and a failed lookup's reason are free text: credentials masked.
    if (copy.mode === 'system') {
      if (copy.resolved) copy.resolved = redactSecretsInText(copy.resolved, REDACTED)
      if (copy.resolveError) copy.resolveError = redactSecretsInText(copy.resolveError, REDACTED)
    }
    // TLS to an HTTPS proxy, whatever chose it (manual, PAC, env, system).
    if (copy.mode !== 'direct' && copy.proxyTls) {
      const t = { ...copy.proxyTls }
      if (t.key) t.key = REDACTED
      if (t.passphrase) t.passphrase = REDACTED
      if (t.ca) t.ca = t.ca.map(() => '[pem]')
      if (t.cert) t.cert = '[pem]'
      copy.proxyTls = t
    }
    // TLS to the origin from the profile: public CAs, shown by count and file name as tls.ca.
    if (copy.originTls?.ca) copy.originTls = { ...copy.originTls, ca: copy.originTls.ca.map(() => '[pem]') }
    out.network = copy
  }
  return out
}
