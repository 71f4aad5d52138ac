/**
 * The network profile editor's form: flat fields the inputs bind to, and its translation to a
 * NetworkProfile and back (pure, tested). Every problem names the field it is about; nothing
 * here ever puts a password into a message.
 */
import type { NetworkProfile, OriginTlsOptions, ProxyAuth, ProxyKind, ProxyTlsOptions } from '../../../shared/common/spec/index.ts'
import { hostFileProblem, isAbsolutePath } from '../../../shared/common/protocol/validate.ts'
import { PROXY_SCHEMES } from '../../../shared/common/proxy-url.ts'
import { MASK, redactUserinfo } from '../../../shared/common/redact.ts'

export type NetMode = 'manual' | 'pac' | 'env' | 'system' | 'direct'

export interface NetDraft {
  mode: NetMode
  // Manual proxy
  kind: ProxyKind
  host: string
  /** Text, so a half-typed value can be reported instead of silently becoming NaN. */
  port: string
  httpMode: 'connect' | 'forward'
  noProxy: string
  // Credentials (manual; PAC and environment for the proxies they name)
  username: string
  password: string
  /** "ntlm, digest, basic": the order we prefer; empty = whatever the proxy offers. */
  schemes: string
  domain: string
  workstation: string
  // TLS to an HTTPS proxy
  caFiles: string
  proxyInsecure: boolean
  servername: string
  certFile: string
  keyFile: string
  passphrase: string
  // TLS to the origin, for every connection using the profile (every mode)
  originCaFiles: string
  originSystemCa: boolean
  originInsecure: boolean
  // PAC
  pacSource: string
  pacOnError: 'direct' | 'fail'
  pacTimeoutMs: string
}

export const EMPTY_DRAFT: NetDraft = {
  mode: 'manual',
  kind: 'http',
  host: '',
  port: '',
  httpMode: 'connect',
  noProxy: '',
  username: '',
  password: '',
  schemes: '',
  domain: '',
  workstation: '',
  caFiles: '',
  proxyInsecure: false,
  servername: '',
  certFile: '',
  keyFile: '',
  passphrase: '',
  originCaFiles: '',
  originSystemCa: false,
  originInsecure: false,
  pacSource: '',
  pacOnError: 'direct',
  pacTimeoutMs: '',
}

export const PROXY_KINDS: ReadonlyArray<{ kind: ProxyKind; label: string; port: number }> = [
  { kind: 'http', label: 'HTTP', port: 80 },
  { kind: 'https', label: 'HTTPS (TLS to the proxy)', port: 443 },
  { kind: 'socks4', label: 'SOCKS4', port: 1080 },
  { kind: 'socks4a', label: 'SOCKS4a (DNS at the proxy)', port: 1080 },
  { kind: 'socks5', label: 'SOCKS5', port: 1080 },
  { kind: 'socks5h', label: 'SOCKS5h (DNS at the proxy)', port: 1080 },
]

export function defaultPort(kind: ProxyKind): number {
  return PROXY_KINDS.find((k) => k.kind === kind)?.port ?? 1080
}

/** Which fields a mode shows. */
export const usesAuth = (d: Pick<NetDraft, 'mode' | 'kind'>): boolean => d.mode === 'manual' || d.mode === 'pac' || d.mode === 'env'
export const isHttpKind = (k: ProxyKind): boolean => k === 'http' || k === 'https'
/** SOCKS4/4a have a user id and no password; SOCKS5 has user/password; HTTP has Basic, Digest, NTLM. */
export const hasSchemes = (d: Pick<NetDraft, 'mode' | 'kind'>): boolean => d.mode !== 'manual' || isHttpKind(d.kind)
/** TLS to the proxy: a manual HTTPS proxy, or an HTTPS proxy that a PAC result, a variable or the system names. */
export const usesProxyTls = (d: Pick<NetDraft, 'mode' | 'kind'>): boolean => (d.mode === 'manual' ? d.kind === 'https' : d.mode !== 'direct')

/** A problem with one field of the editor. */
export interface FieldError {
  field: keyof NetDraft | 'proxyUrl'
  message: string
}

/** Field labels as the editor shows them, so a message names what the user sees. */
export const FIELD_LABEL: Record<FieldError['field'], string> = {
  mode: 'Mode',
  kind: 'Proxy type',
  host: 'Proxy host',
  port: 'Port',
  httpMode: 'HTTP mode',
  noProxy: 'No proxy for',
  username: 'Username',
  password: 'Password',
  schemes: 'Authentication schemes',
  domain: 'NTLM domain',
  workstation: 'NTLM workstation',
  caFiles: 'Proxy CA files',
  proxyInsecure: 'Accept any proxy certificate',
  servername: 'Proxy TLS server name',
  certFile: 'Client certificate file',
  keyFile: 'Client key file',
  passphrase: 'Key passphrase',
  originCaFiles: 'Origin CA files',
  originSystemCa: "Trust the system's CA store",
  originInsecure: 'Accept any origin certificate',
  pacSource: 'PAC file',
  pacOnError: 'When the PAC file fails',
  pacTimeoutMs: 'PAC timeout',
  proxyUrl: 'Proxy URL',
}

/**
 * Masks what could be credentials in text the user typed as a proxy URL, for messages: the
 * password as redactUserinfo finds it (up to the last "@" before the path, so an "@" or "/" in
 * the password is hidden too), the user name kept; a lone user name (maybe a token) masked.
 */
export function maskUserinfo(text: string): string {
  return redactUserinfo(text.trim(), MASK)
}

/**
 * Fills the manual proxy fields from a URL such as `socks5h://user:pass@127.0.0.1:1080` (a bare
 * host:port means http://, as curl assumes). Throws a FieldError naming "Proxy URL"; the
 * message never repeats the password.
 */
export function draftFromProxyUrl(text: string, base: NetDraft = EMPTY_DRAFT): NetDraft {
  const t = text.trim()
  const fail = (message: string): never => {
    throw Object.assign(new Error(`${FIELD_LABEL.proxyUrl}: ${message}`), { field: 'proxyUrl' as const })
  }
  if (!t) fail('enter a URL such as http://proxy:3128 or socks5h://127.0.0.1:1080')
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    return fail(`"${maskUserinfo(t)}" is not a URL (e.g. http://proxy:3128 or socks5h://127.0.0.1:1080)`)
  }
  const kind = PROXY_SCHEMES[u.protocol]
  if (!kind) return fail(`the scheme ${u.protocol.slice(0, -1)} is not a proxy type (use http, https, socks4, socks4a, socks5 or socks5h)`)
  if (!u.hostname) return fail('has no host')
  // Browsers percent-encode what does not belong in a host ("bad host" → "bad%20host"): refuse it.
  if (!isHostName(u.hostname)) return fail(`the host "${u.hostname}" is not a host name or address`)
  const d: NetDraft = { ...base, mode: 'manual', kind, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || String(defaultPort(kind)) }
  if (u.username || u.password) {
    try {
      d.username = decodeURIComponent(u.username)
      d.password = decodeURIComponent(u.password)
    } catch {
      return fail('the user name or password has a bad %-escape')
    }
  }
  return d
}

/** A host name or an IP address (IPv6 with or without brackets). */
export function isHostName(h: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(h) || (h.includes(':') && /^\[?[0-9A-Fa-f:.]+\]?$/.test(h))
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
}

/** CA file lines the host will read: absolute paths to PEM-named files only (hostFileProblem, as the host checks). */
function caFileErrors(text: string, field: 'caFiles' | 'originCaFiles', err: (field: 'caFiles' | 'originCaFiles', message: string) => void): void {
  for (const f of lines(text)) {
    const problem = isAbsolutePath(f) ? hostFileProblem(f, 'pem') : 'is not an absolute path'
    if (problem) err(field, `"${f}" ${problem}`)
  }
}

/** Every problem in the draft, each naming its field. Empty when it can be used. */
export function draftErrors(d: NetDraft): FieldError[] {
  const out: FieldError[] = []
  const err = (field: FieldError['field'], message: string): void => {
    out.push({ field, message: `${FIELD_LABEL[field]}: ${message}` })
  }
  if (d.mode === 'manual') {
    const host = d.host.trim()
    if (!host) err('host', "enter the proxy's host name or address")
    else if (/[\s/@?#]/.test(host)) err('host', 'only the host name or address (no scheme, path, spaces or user@); paste a whole URL into Proxy URL instead')
    else if (!isHostName(host)) err('host', 'letters, digits, dots and hyphens, or an IP address')
    const port = d.port.trim()
    if (port && !/^\d{1,5}$/.test(port)) err('port', 'must be a whole number from 1 to 65535')
    else if (port && (Number(port) < 1 || Number(port) > 65535)) err('port', 'must be from 1 to 65535')
  }
  if (usesProxyTls(d)) {
    caFileErrors(d.caFiles, 'caFiles', err)
    for (const k of ['certFile', 'keyFile'] as const) {
      const f = d[k].trim()
      if (f && !isAbsolutePath(f)) err(k, 'must be an absolute path')
      else if (f && hostFileProblem(f, 'pem')) err(k, hostFileProblem(f, 'pem')!)
    }
    if (d.certFile.trim() && !d.keyFile.trim()) err('keyFile', 'needed with the client certificate')
    if (d.keyFile.trim() && !d.certFile.trim()) err('certFile', 'needed with the client key')
    if (d.servername.trim() && /[\s/@]/.test(d.servername.trim())) err('servername', 'must be a host name')
  }
  caFileErrors(d.originCaFiles, 'originCaFiles', err)
  if (d.mode === 'pac') {
    const src = d.pacSource.trim()
    if (!src) err('pacSource', 'enter a URL (http://wpad/proxy.pac) or an absolute file path')
    else if (/^[a-z][a-z0-9+.-]*:/i.test(src) && !/^[A-Za-z]:[\\/]/.test(src)) {
      let ok = false
      try {
        ok = ['http:', 'https:', 'file:'].includes(new URL(src).protocol)
      } catch {
        ok = false
      }
      if (!ok) err('pacSource', 'must be an http://, https:// or file:// URL, or an absolute file path')
    } else if (!isAbsolutePath(src)) err('pacSource', 'a file path must be absolute')
    else if (hostFileProblem(src, 'pac')) err('pacSource', `the file ${hostFileProblem(src, 'pac')}`)
    const t = d.pacTimeoutMs.trim()
    if (t && (!/^\d+$/.test(t) || Number(t) < 100 || Number(t) > 60_000)) err('pacTimeoutMs', 'must be a number of milliseconds from 100 to 60000')
  }
  if (usesAuth(d)) {
    if (d.password && !d.username.trim()) err('username', 'needed with a password')
    if (d.username.length > 256) err('username', 'longer than 256 characters')
    if (hasSchemes(d) && d.schemes.trim()) {
      const seen: string[] = []
      for (const s of d.schemes.split(/[\s,>]+/).filter(Boolean)) {
        const x = s.toLowerCase()
        if (!['basic', 'digest', 'ntlm'].includes(x)) err('schemes', `"${s}" is not one of basic, digest, ntlm`)
        else if (seen.includes(x)) err('schemes', `${x} is listed twice`)
        else seen.push(x)
      }
    }
  }
  return out
}

/** The NetworkProfile for a draft. Throws an Error with the first problem (naming its field). */
export function draftToNetwork(d: NetDraft, name?: string): NetworkProfile {
  const errors = draftErrors(d)
  if (errors.length) throw Object.assign(new Error(errors[0]!.message), { field: errors[0]!.field })
  const named = name ? { name } : {}
  const auth = (): ProxyAuth | undefined => {
    if (!d.username.trim()) return undefined
    const a: ProxyAuth = { username: d.username.trim(), password: d.password }
    if (hasSchemes(d)) {
      const schemes = d.schemes
        .split(/[\s,>]+/)
        .filter(Boolean)
        .map((s) => s.toLowerCase() as 'basic' | 'digest' | 'ntlm')
      if (schemes.length) a.schemes = schemes
      if (d.domain.trim()) a.domain = d.domain.trim()
      if (d.workstation.trim()) a.workstation = d.workstation.trim()
    }
    return a
  }
  const proxyTls = (): { proxyTls?: ProxyTlsOptions } => {
    if (!usesProxyTls(d)) return {}
    const t: ProxyTlsOptions = {}
    const cas = lines(d.caFiles)
    if (cas.length) t.caFiles = cas
    if (d.proxyInsecure) t.insecure = true
    if (d.servername.trim()) t.servername = d.servername.trim()
    if (d.certFile.trim()) t.certFile = d.certFile.trim()
    if (d.keyFile.trim()) t.keyFile = d.keyFile.trim()
    if (d.passphrase) t.passphrase = d.passphrase
    return Object.keys(t).length ? { proxyTls: t } : {}
  }
  const originTls = (): { originTls?: OriginTlsOptions } => {
    const t: OriginTlsOptions = {}
    const cas = lines(d.originCaFiles)
    if (cas.length) t.caFiles = cas
    if (d.originSystemCa) t.osCaStore = true
    if (d.originInsecure) t.insecure = true
    return Object.keys(t).length ? { originTls: t } : {}
  }
  switch (d.mode) {
    case 'direct':
      return { mode: 'direct', ...named, ...originTls() }
    case 'system':
      return { mode: 'system', ...named, ...proxyTls(), ...originTls() }
    case 'env': {
      const a = auth()
      return { mode: 'env', ...named, ...(a ? { auth: a } : {}), ...proxyTls(), ...originTls() }
    }
    case 'pac': {
      const src = d.pacSource.trim()
      const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(src) && !/^[A-Za-z]:[\\/]/.test(src)
      const a = auth()
      return {
        mode: 'pac',
        ...named,
        ...(isUrl ? { pacUrl: src } : { pacFile: src }),
        ...(d.pacOnError === 'fail' ? { onPacError: 'fail' as const } : {}),
        ...(d.pacTimeoutMs.trim() ? { timeoutMs: Number(d.pacTimeoutMs.trim()) } : {}),
        ...(a ? { auth: a } : {}),
        ...proxyTls(),
        ...originTls(),
      }
    }
    case 'manual': {
      const a = auth()
      const host = d.host.trim().replace(/^\[|\]$/g, '')
      const net: Extract<NetworkProfile, { mode: 'manual' }> = {
        mode: 'manual',
        ...named,
        proxy: { kind: d.kind, host, port: d.port.trim() ? Number(d.port.trim()) : defaultPort(d.kind), ...(a ? { auth: a } : {}) },
      }
      if (isHttpKind(d.kind) && d.httpMode === 'forward') net.httpMode = 'forward'
      if (d.noProxy.trim()) net.noProxy = d.noProxy.trim()
      return { ...net, ...proxyTls(), ...originTls() }
    }
  }
}

/** The editor's fields for a profile (the reverse of draftToNetwork). */
export function networkToDraft(n: NetworkProfile | undefined): NetDraft {
  const d: NetDraft = { ...EMPTY_DRAFT }
  if (!n) return { ...d, mode: 'direct' }
  d.mode = n.mode
  const fromAuth = (a: ProxyAuth | undefined): void => {
    if (!a) return
    d.username = a.username
    d.password = a.password
    if (a.schemes?.length) d.schemes = a.schemes.join(', ')
    if (a.domain) d.domain = a.domain
    if (a.workstation) d.workstation = a.workstation
  }
  if (n.mode === 'manual') {
    d.kind = n.proxy.kind
    d.host = n.proxy.host
    d.port = String(n.proxy.port)
    d.httpMode = n.httpMode === 'forward' ? 'forward' : 'connect'
    d.noProxy = n.noProxy ?? ''
    fromAuth(n.proxy.auth)
  } else if (n.mode === 'pac') {
    d.pacSource = n.pacUrl ?? n.pacFile ?? ''
    d.pacOnError = n.onPacError === 'fail' ? 'fail' : 'direct'
    d.pacTimeoutMs = n.timeoutMs ? String(n.timeoutMs) : ''
    fromAuth(n.auth)
  } else if (n.mode === 'env') {
    fromAuth(n.auth)
  }
  const t = n.mode === 'direct' ? undefined : n.proxyTls
  if (t) {
    d.caFiles = (t.caFiles ?? []).join('\n')
    d.proxyInsecure = t.insecure === true
    d.servername = t.servername ?? ''
    d.certFile = t.certFile ?? ''
    d.keyFile = t.keyFile ?? ''
    d.passphrase = t.passphrase ?? ''
  }
  const o = n.originTls
  if (o) {
    d.originCaFiles = (o.caFiles ?? []).join('\n')
    d.originSystemCa = o.osCaStore === true
    d.originInsecure = o.insecure === true
  }
  return d
}

/** Two profiles are the same setting (the name and host-filled fields aside; the password too, unless it is kept). */
export function sameNetwork(a: NetworkProfile | undefined, b: NetworkProfile | undefined, comparePassword: boolean): boolean {
  const norm = (n: NetworkProfile | undefined): string => {
    const d = networkToDraft(n)
    if (!comparePassword) {
      d.password = ''
      d.passphrase = ''
    }
    return JSON.stringify(d)
  }
  return norm(a) === norm(b)
}
