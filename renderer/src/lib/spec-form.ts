/** The composer's form and its translation to a ConnectionSpec (pure, tested). */
import type { ConnectionSpec, NetworkProfile, Transport } from '../../../shared/common/spec/index.ts'
import { emptySecretParams, emptySecretSpots, isSecretHeader, profileAuth, specHasSecrets, type SavedProfile } from '../../../shared/common/protocol/profiles.ts'
import { inferTransport, parseHeaderLines } from './format.ts'
import { draftFromProxyUrl, draftToNetwork, sameNetwork } from './network-form.ts'

/**
 * How this connection reaches its target: the built-in Direct, System and Environment, a saved
 * profile by name, or a custom profile edited for this connection only.
 */
export type NetworkChoice = 'direct' | 'system' | 'env' | 'profile' | 'custom'

export interface ComposerForm {
  name: string
  url: string
  /** 'auto' follows the scheme. */
  transport: Transport | 'auto'
  method: string
  headers: string
  subprotocols: string
  body: string
  network: NetworkChoice
  /** The saved profile's name, when network is 'profile'. */
  profile: string
  /** The custom profile, or the saved one as edited here (null: as saved). */
  draft: NetworkProfile | null
  /** Keep the proxy password when this is saved (as a target, or as a profile). */
  rememberPassword: boolean
  insecure: boolean
  ca: string
  heartbeatMs: number
  heartbeatTimeoutMs: number
  reconnect: boolean
  reconnectInitialMs: number
  reconnectMaxMs: number
  deflate: boolean
  record: boolean
  /**
   * The URL's token parameters a saved target did not keep (loaded with an empty value): Connect
   * waits for them. A URL typed by hand is never refused for an empty `?key=`.
   */
  fillTokens: string[]
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
  profile: '',
  draft: null,
  rememberPassword: false,
  insecure: false,
  ca: '',
  heartbeatMs: 0,
  heartbeatTimeoutMs: 10_000,
  reconnect: false,
  reconnectInitialMs: 1000,
  reconnectMaxMs: 30_000,
  deflate: true,
  record: true,
  fillTokens: [],
}

/**
 * A manual profile from a proxy URL (`http://user:pass@proxy:3128`, `socks5h://127.0.0.1:1080`).
 * Errors name the field and never repeat the password.
 */
export function parseProxyUrl(text: string): NetworkProfile {
  return draftToNetwork(draftFromProxyUrl(text))
}

/** The network a form connects with (undefined: direct). Throws an Error naming the field. */
export function formNetwork(form: Pick<ComposerForm, 'network' | 'profile' | 'draft'>, profiles: readonly SavedProfile[] = []): NetworkProfile | undefined {
  switch (form.network) {
    case 'direct':
      return undefined
    case 'system':
    case 'env':
      return { mode: form.network }
    case 'custom':
      if (!form.draft) throw new Error('Network: set up the custom profile (Edit…), or choose another network')
      return withoutName(form.draft)
    case 'profile': {
      const saved = profiles.find((p) => p.name === form.profile)
      const net = form.draft ?? saved?.network
      if (!net) throw new Error(`Network: no saved profile is named "${form.profile}" any more; choose another network`)
      return { ...net, name: form.profile }
    }
  }
}

/** The profile without its name (a custom copy). */
export function withoutName(n: NetworkProfile): NetworkProfile {
  const out = { ...n }
  delete out.name
  return out
}

/** The saved profile a form picked, and whether the form changed it. */
export function profileState(form: Pick<ComposerForm, 'network' | 'profile' | 'draft'>, profiles: readonly SavedProfile[]): { saved: SavedProfile | undefined; modified: boolean } {
  if (form.network !== 'profile') return { saved: undefined, modified: false }
  const saved = profiles.find((p) => p.name === form.profile)
  return { saved, modified: !!saved && form.draft !== null && !sameNetwork(form.draft, saved.network, saved.rememberPassword === true) }
}

export function effectiveTransport(form: Pick<ComposerForm, 'transport' | 'url'>): Transport {
  return form.transport === 'auto' ? inferTransport(form.url) : form.transport
}

/**
 * Builds the spec; throws an Error whose message says which field is wrong. `saving`: for Save
 * target, which may keep a token the target did not keep empty (it would not be written anyway).
 */
export function formToSpec(form: ComposerForm, profiles: readonly SavedProfile[] = [], opts: { saving?: boolean } = {}): ConnectionSpec {
  const url = form.url.trim()
  if (!url) throw new Error('Enter a URL to connect to (e.g. ws://127.0.0.1:8080/ or https://example.com/events)')
  // A saved target keeps ?token=, ?access_token=… with an empty value unless its secrets were remembered: never sent empty.
  const params = opts.saving ? [] : missingTokens(form)
  if (params.length) throw new Error(`URL parameter ${params[0]}: enter its value after "${params[0]}=" (it was not saved), or remove it`)
  const transport = effectiveTransport(form)
  const spec: ConnectionSpec = { url, transport }
  if (form.name.trim()) spec.name = form.name.trim()
  if (form.method.trim()) spec.method = form.method.trim().toUpperCase()
  const { headers, error } = parseHeaderLines(form.headers)
  if (error) throw new Error(error)
  // A saved target keeps Authorization, Cookie… with an empty value unless its secrets were remembered: never sent empty.
  const missing = missingSecretHeaders({ headers })
  if (missing.length) throw new Error(`Header ${missing[0]}: enter its value (it was not saved), or remove the line`)
  if (headers.length) spec.headers = headers
  if (transport === 'ws') {
    const protos = form.subprotocols.split(/[\s,]+/).filter(Boolean)
    spec.ws = { deflate: form.deflate, ...(protos.length ? { subprotocols: protos } : {}) }
    if (form.heartbeatMs > 0) spec.heartbeat = { intervalMs: form.heartbeatMs, timeoutMs: form.heartbeatTimeoutMs }
  } else if (form.body) {
    spec.body = { text: form.body }
    if (!spec.method) spec.method = 'POST'
  }
  const network = formNetwork(form, profiles)
  if (network) spec.network = network
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
export function specToForm(spec: ConnectionSpec, name = '', profiles: readonly SavedProfile[] = [], rememberPassword = false): ComposerForm {
  const f: ComposerForm = { ...DEFAULT_FORM, name: spec.name ?? name, url: spec.url, transport: spec.transport, rememberPassword, fillTokens: rememberPassword ? [] : emptySecretParams(spec.url) }
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
  Object.assign(f, networkToChoice(spec.network, profiles))
  if (spec.tls?.insecure) f.insecure = true
  if (spec.tls?.ca?.[0]) f.ca = spec.tls.ca[0]
  return f
}

/** The picker's choice for a spec's network: a saved profile by its name, a built-in, or custom. */
export function networkToChoice(n: NetworkProfile | undefined, profiles: readonly SavedProfile[] = []): Pick<ComposerForm, 'network' | 'profile' | 'draft'> {
  if (!n || (n.mode === 'direct' && !n.name)) return { network: 'direct', profile: '', draft: null }
  const saved = n.name ? profiles.find((p) => p.name === n.name) : undefined
  if (saved) {
    if (!sameNetwork(n, saved.network, false)) return { network: 'profile', profile: saved.name, draft: { ...n } }
    // The same setting: keep a password the spec has and the saved profile does not (typed for this session).
    const pw = profileAuth(n)?.password
    return { network: 'profile', profile: saved.name, draft: pw && pw !== profileAuth(saved.network)?.password ? { ...n } : null }
  }
  const bare = Object.keys(n).every((k) => k === 'mode')
  if (bare && (n.mode === 'system' || n.mode === 'env')) return { network: n.mode, profile: '', draft: null }
  return { network: 'custom', profile: '', draft: withoutName(n) }
}

/**
 * Where the caret goes to fill in a token a saved target did not keep: just after the first
 * token query parameter's "=" with nothing after it (`?room=1&access_token=|`), or -1.
 */
export function emptySecretParamCaret(form: Pick<ComposerForm, 'url' | 'fillTokens'>): number {
  return emptySecretSpots(form.url).find((x) => form.fillTokens.includes(x.name))?.at ?? -1
}

/** The tokens the loaded target did not keep that are still empty in the URL. */
export function missingTokens(form: Pick<ComposerForm, 'url' | 'fillTokens'>): string[] {
  if (!form.fillTokens.length) return []
  return emptySecretParams(form.url.trim()).filter((n) => form.fillTokens.includes(n))
}

/**
 * The secret headers (Authorization, Proxy-Authorization, Cookie, API keys) whose value is
 * empty: what a target saved without "Remember password" needs filled in before connecting.
 */
export function missingSecretHeaders(spec: Pick<ConnectionSpec, 'headers'>): string[] {
  return (spec.headers ?? []).filter(([k, v]) => v.trim() === '' && isSecretHeader(k)).map(([k]) => k)
}

/**
 * Whether saving this form as a target would keep a secret only if "Remember password" is
 * ticked: a password in the URL, a secret header value, or the network's password, token or
 * key. A form that does not build yet has none to keep.
 */
export function formHasSecrets(form: ComposerForm, profiles: readonly SavedProfile[] = []): boolean {
  const { headers, error } = parseHeaderLines(form.headers)
  let network: NetworkProfile | undefined
  try {
    network = formNetwork(form, profiles)
  } catch {
    network = undefined
  }
  return specHasSecrets({ url: form.url.trim(), transport: 'ws', ...(error ? {} : { headers }), ...(network ? { network } : {}) })
}
