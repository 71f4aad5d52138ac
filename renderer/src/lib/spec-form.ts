/** The composer's form and its translation to a ConnectionSpec (pure, tested). */
import type { ConnectionSpec, NetworkProfile, ProxyKind, Transport } from '../../../shared/common/spec/index.ts'
import { inferTransport, parseHeaderLines } from './format.ts'

export interface ComposerForm {
  name: string
  url: string
  /** 'auto' follows the scheme. */
  transport: Transport | 'auto'
  method: string
  headers: string
  subprotocols: string
  body: string
  network: 'direct' | 'system' | 'env' | 'manual'
  proxyUrl: string
  insecure: boolean
  ca: string
  heartbeatMs: number
  heartbeatTimeoutMs: number
  reconnect: boolean
  reconnectInitialMs: number
  reconnectMaxMs: number
  deflate: boolean
  record: boolean
}

export const DEFAULT_FORM: ComposerForm = {
  name: '',
  url: '',
  transport: 'auto',
  method: '',
  headers: '',
  subprotocols: '',
  body: '',
  network: 'direct',
  proxyUrl: '',
  insecure: false,
  ca: '',
  heartbeatMs: 0,
  heartbeatTimeoutMs: 10_000,
  reconnect: false,
  reconnectInitialMs: 1000,
  reconnectMaxMs: 30_000,
  deflate: true,
  record: true,
}

const PROXY_KINDS: readonly ProxyKind[] = ['http', 'https', 'socks4', 'socks4a', 'socks5', 'socks5h']

export function parseProxyUrl(text: string): NetworkProfile {
  let u: URL
  try {
    u = new URL(text.trim())
  } catch {
    throw new Error(`Proxy "${text}" is not a URL (e.g. http://proxy:3128 or socks5h://127.0.0.1:1080)`)
  }
  const kind = u.protocol.slice(0, -1) as ProxyKind
  if (!PROXY_KINDS.includes(kind)) throw new Error(`Proxy scheme ${u.protocol} is not supported (use ${PROXY_KINDS.join(', ')})`)
  const port = Number(u.port || (kind === 'http' ? 80 : kind === 'https' ? 443 : 1080))
  return {
    mode: 'manual',
    proxy: {
      kind,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port,
      ...(u.username ? { auth: { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } } : {}),
    },
  }
}

export function effectiveTransport(form: Pick<ComposerForm, 'transport' | 'url'>): Transport {
  return form.transport === 'auto' ? inferTransport(form.url) : form.transport
}

/** Builds the spec; throws an Error whose message says which field is wrong. */
export function formToSpec(form: ComposerForm): ConnectionSpec {
  const url = form.url.trim()
  if (!url) throw new Error('Enter a URL to connect to (e.g. ws://127.0.0.1:8080/ or https://example.com/events)')
  const transport = effectiveTransport(form)
  const spec: ConnectionSpec = { url, transport }
  if (form.name.trim()) spec.name = form.name.trim()
  if (form.method.trim()) spec.method = form.method.trim().toUpperCase()
  const { headers, error } = parseHeaderLines(form.headers)
  if (error) throw new Error(error)
  if (headers.length) spec.headers = headers
  if (transport === 'ws') {
    const protos = form.subprotocols.split(/[\s,]+/).filter(Boolean)
    spec.ws = { deflate: form.deflate, ...(protos.length ? { subprotocols: protos } : {}) }
    if (form.heartbeatMs > 0) spec.heartbeat = { intervalMs: form.heartbeatMs, timeoutMs: form.heartbeatTimeoutMs }
  } else if (form.body) {
    spec.body = { text: form.body }
    if (!spec.method) spec.method = 'POST'
  }
  if (form.network === 'manual') {
    if (!form.proxyUrl.trim()) throw new Error('Enter the proxy URL, or choose another network profile')
    spec.network = parseProxyUrl(form.proxyUrl)
  } else if (form.network !== 'direct') {
    spec.network = { mode: form.network }
  }
  if (form.insecure || form.ca.trim()) {
    spec.tls = {}
    if (form.insecure) spec.tls.insecure = true
    if (form.ca.trim()) spec.tls.ca = [form.ca.trim()]
  }
  spec.reconnect = form.reconnect
    ? { enabled: true, initialDelayMs: form.reconnectInitialMs, maxDelayMs: form.reconnectMaxMs }
    : { enabled: false }
  return spec
}

/** The reverse, to load a saved target into the composer. */
export function specToForm(spec: ConnectionSpec, name = ''): ComposerForm {
  const f: ComposerForm = { ...DEFAULT_FORM, name: spec.name ?? name, url: spec.url, transport: spec.transport }
  if (spec.method) f.method = spec.method
  if (spec.headers) f.headers = spec.headers.map(([k, v]) => `${k}: ${v}`).join('\n')
  if (spec.ws?.subprotocols) f.subprotocols = spec.ws.subprotocols.join(', ')
  if (spec.ws?.deflate === false) f.deflate = false
  if (spec.body?.text) f.body = spec.body.text
  if (spec.heartbeat) {
    f.heartbeatMs = spec.heartbeat.intervalMs
    f.heartbeatTimeoutMs = spec.heartbeat.timeoutMs
  }
  if (spec.reconnect?.enabled) {
    f.reconnect = true
    if (spec.reconnect.initialDelayMs) f.reconnectInitialMs = spec.reconnect.initialDelayMs
    if (spec.reconnect.maxDelayMs) f.reconnectMaxMs = spec.reconnect.maxDelayMs
  }
  const n = spec.network
  if (n?.mode === 'manual') {
    f.network = 'manual'
    const auth = n.proxy.auth ? `${encodeURIComponent(n.proxy.auth.username)}:${encodeURIComponent(n.proxy.auth.password)}@` : ''
    f.proxyUrl = `${n.proxy.kind}://${auth}${n.proxy.host}:${n.proxy.port}`
  } else if (n && (n.mode === 'system' || n.mode === 'env')) f.network = n.mode
  if (spec.tls?.insecure) f.insecure = true
  if (spec.tls?.ca?.[0]) f.ca = spec.tls.ca[0]
  return f
}
