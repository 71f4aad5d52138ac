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

/** Removes user:password and token query parameters from a URL string; leaves unparsable text alone. */
export function redactUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return url
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

/** A proxy variable's value (with or without a scheme) with any credentials redacted. */
export function redactProxyValue(value: string): string {
  if (!value.includes('@')) return value
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
  const red = redactUrl(hasScheme ? value : `http://${value}`)
  if (red === value || red === `http://${value}`) return value.replace(/^([^@/]*)@/, `${REDACTED}@`)
  return hasScheme ? red : red.replace(/^http:\/\//, '').replace(/\/$/, value.endsWith('/') ? '/' : '')
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
    if (n.mode === 'manual') {
      const copy = { ...n }
      if (n.proxy.auth) copy.proxy = { ...n.proxy, auth: { ...n.proxy.auth, password: REDACTED } }
      if (n.proxyTls?.key || n.proxyTls?.passphrase || n.proxyTls?.ca || n.proxyTls?.cert) {
        copy.proxyTls = { ...n.proxyTls }
        if (copy.proxyTls.key) copy.proxyTls.key = REDACTED
        if (copy.proxyTls.passphrase) copy.proxyTls.passphrase = REDACTED
        if (copy.proxyTls.ca) copy.proxyTls.ca = copy.proxyTls.ca.map(() => '[pem]')
        if (copy.proxyTls.cert) copy.proxyTls.cert = '[pem]'
      }
      out.network = copy
    } else if (n.mode === 'pac' || n.mode === 'env') {
      const copy = { ...n }
      if (n.auth) copy.auth = { ...n.auth, password: REDACTED }
      if (copy.mode === 'env' && copy.env) {
        // Proxy variables often carry user:password@: keep the variable, redact the credentials.
        const env: Record<string, string> = {}
        for (const [k, v] of Object.entries(copy.env)) env[k] = redactProxyValue(v)
        copy.env = env
      }
      if (copy.mode === 'pac' && copy.pacUrl) copy.pacUrl = redactUrl(copy.pacUrl)
      out.network = copy
    }
  }
  return out
}
