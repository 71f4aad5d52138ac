/**
 * Turns engine events into compact rows for the message list. One small object per row
 * (no payload beyond a short preview); the full event is fetched by seq when opened.
 */
import type { WiretraceEvent } from '../../../shared/common/events/index.ts'
import { formatBytes } from '../../../shared/common/bytes.ts'

export type RowKind = 'msg' | 'control' | 'close' | 'meta' | 'error'

export interface Row {
  seq: number
  ts: number
  type: string
  dir: 'in' | 'out' | ''
  /** Opcode or event kind in words: TEXT, BINARY, PING, PONG, CLOSE 1000, tick... */
  label: string
  size: number
  preview: string
  kind: RowKind
}

export const PREVIEW_CHARS = 160

/** Events that never become rows: they feed the charts and the waterfall instead. */
const NOT_ROWS = new Set(['stats', 'chunk', 'ws.frame'])

function clip(s: string): string {
  const one = s.length > PREVIEW_CHARS ? s.slice(0, PREVIEW_CHARS) : s
  return one.replace(/[\r\n\t]+/g, ' ')
}

function payloadPreview(e: { text?: string; base64?: string; size?: number }): string {
  if (typeof e.text === 'string') return clip(e.text)
  if (typeof e.base64 === 'string') return `[binary ${formatBytes(e.size ?? 0)}] ${clip(e.base64)}`
  return ''
}

/** The common name of a certificate subject or issuer ("CN=Example CA, O=..." → "Example CA"). */
export function commonName(dn: string): string {
  const m = /(?:^|[,\n/]\s*)CN=([^,\n/]+)/.exec(dn)
  return (m ? m[1]! : dn.split(/[,\n]/)[0] ?? '').trim()
}

/** Hides a password in a proxy URL for display ("http://alice:pw@proxy" → "http://alice:***@proxy"). */
export function hideUserinfo(url: string): string {
  return url.replace(/(\/\/[^/:@\s]*):([^@/\s]*)@/g, (all, user: string, pass: string) => (/^(\[redacted\]|%5Bredacted%5D)$/i.test(pass) ? all : `${user}:***@`))
}

/** A URL for display: no password, and a redacted userinfo reads as [redacted]. */
export function displayUrl(url: string): string {
  return hideUserinfo(url).replace(/%5Bredacted%5D/gi, '[redacted]')
}

function networkText(n: { mode: string; name?: string } | undefined): string {
  if (!n) return ''
  if (n.name) return ` · network ${profileLabel(n.name)} (${n.mode})`
  return n.mode !== 'direct' ? ` · network ${n.mode}` : ''
}

function ms(n: number): string {
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`
}

/** HTTP/2 SETTINGS in words, the ones that matter to throughput first; "(defaults)" when none were sent. */
const SETTING_WORDS: Record<string, string> = {
  initialWindowSize: 'window',
  maxFrameSize: 'max frame',
  maxConcurrentStreams: 'max streams',
  headerTableSize: 'header table',
  maxHeaderListSize: 'header list',
}
const SETTING_BYTES = new Set(['initialWindowSize', 'maxFrameSize', 'headerTableSize', 'maxHeaderListSize'])

function settingsText(s: Record<string, number | boolean>): string {
  const order = [...Object.keys(SETTING_WORDS), ...Object.keys(s).filter((k) => !(k in SETTING_WORDS))]
  const parts: string[] = []
  for (const k of order) {
    const v = s[k]
    if (v === undefined) continue
    // 2^32-1: what node:http2 reports for a limit that was never set.
    if (v === 0xffffffff) parts.push(`${SETTING_WORDS[k] ?? k} unlimited`)
    else if (k === 'enablePush') parts.push(`push ${v ? 'on' : 'off'}`)
    else if (k === 'enableConnectProtocol') parts.push(`extended CONNECT ${v ? 'on' : 'off'}`)
    else if (typeof v === 'number' && SETTING_BYTES.has(k)) parts.push(`${SETTING_WORDS[k]} ${formatBytes(v)}`)
    else parts.push(`${SETTING_WORDS[k] ?? k} ${String(v)}`)
  }
  return parts.length ? parts.join(', ') : '(defaults)'
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}

/** How a network profile is named in rows and the waterfall. */
export function profileLabel(name: string): string {
  return `profile "${name}"`
}

/**
 * `profile`: the name of the saved network profile the connection used (from its conn.start),
 * shown on the route row.
 */
export function toRow(ev: WiretraceEvent, profile?: string | null): Row | null {
  if (NOT_ROWS.has(ev.type)) return null
  let dir: Row['dir'] = ''
  let label: string = ev.type
  let size = 0
  let preview = ''
  let kind: RowKind = 'meta'
  switch (ev.type) {
    case 'ws.message':
      dir = ev.dir
      label = ev.opcode === 1 ? 'TEXT' : 'BINARY'
      size = ev.size
      preview = payloadPreview(ev)
      kind = 'msg'
      break
    case 'ws.ping':
    case 'ws.pong':
      dir = ev.dir
      label = ev.type === 'ws.ping' ? 'PING' : 'PONG'
      size = ev.size
      preview = (ev.type === 'ws.pong' && ev.rttMs !== undefined ? `rtt ${ev.rttMs.toFixed(1)} ms ` : '') + payloadPreview(ev)
      kind = 'control'
      break
    case 'ws.close':
      dir = ev.dir ?? (ev.initiator === 'local' ? 'out' : 'in')
      label = `CLOSE ${ev.code}`
      preview = `${ev.meaning}${ev.reason ? ` — "${clip(ev.reason)}"` : ''} (${ev.initiator}${ev.wasClean ? ', clean' : ''})`
      kind = 'close'
      break
    case 'sse.event':
      dir = 'in'
      label = ev.event || 'message'
      size = ev.size
      preview = (ev.id !== undefined ? `#${ev.id} ` : '') + clip(ev.data)
      kind = 'msg'
      break
    case 'sse.comment':
      dir = 'in'
      label = 'comment'
      preview = clip(ev.text)
      kind = 'control'
      break
    case 'sse.retry':
      dir = 'in'
      label = 'retry'
      preview = `${ev.retryMs} ms`
      kind = 'control'
      break
    case 'poll.cycle':
      dir = 'in'
      label = `POLL ${ev.status ?? '—'}`
      size = ev.body?.size ?? 0
      preview = `${ev.outcome}, held ${Math.round(ev.heldMs)} ms` + (ev.body ? ` ${payloadPreview(ev.body)}` : '')
      kind = ev.outcome === 'error' || ev.outcome === 'http-error' ? 'error' : 'msg'
      break
    case 'stream.line':
    case 'stream.data':
      dir = 'in'
      label = ev.type === 'stream.line' ? 'LINE' : 'DATA'
      size = ev.size
      preview = payloadPreview(ev)
      kind = 'msg'
      break
    case 'h2.stream':
      dir = ev.phase === 'headers-sent' ? 'out' : 'in'
      label = `H2 ${ev.phase}`
      size = ev.size ?? 0
      preview = `stream ${ev.streamId}${ev.status ? ` status ${ev.status}` : ''}${ev.rstName ? ` ${ev.rstName}` : ''}`
      kind = ev.phase === 'rst' ? 'error' : ev.phase === 'data' ? 'msg' : 'meta'
      break
    case 'h2.session': {
      label = 'H2 session'
      const mine = ev.which !== 'remote-settings'
      dir = ev.which === 'remote-settings' ? 'in' : ev.which === 'local-settings' ? 'out' : ''
      const what = ev.which === 'connect' ? `${ev.alpn ?? 'h2'} · our SETTINGS` : mine ? 'our SETTINGS acknowledged' : "server's SETTINGS"
      preview = clip(`${what}: ${settingsText(mine ? ev.localSettings : ev.remoteSettings)}`)
      break
    }
    case 'h2.ping':
      label = 'PING'
      preview = `rtt ${ms(ev.rttMs)}`
      kind = 'control'
      break
    case 'h2.goaway':
      dir = 'in'
      label = 'GOAWAY'
      preview = clip(`${ev.errorName} (${ev.errorCode}) · last stream ${ev.lastStreamId}${ev.opaqueData ? ` · "${ev.opaqueData}"` : ''}`)
      kind = ev.errorCode === 0 ? 'close' : 'error'
      break
    case 'sse.resume':
      dir = 'in'
      label = 'resume'
      preview = clip(`after id ${ev.lastEventId}, first id ${ev.firstId}: ${ev.duplicates ? `${ev.duplicates} repeated` : ev.gap ? `${ev.gap} missed` : 'in order'}`)
      kind = ev.duplicates || ev.gap ? 'error' : 'meta'
      break
    case 'ws.half-open':
      label = 'half-open'
      preview = `no pong within ${ev.timeoutMs} ms; nothing received for ${(ev.sinceLastInMs / 1000).toFixed(1)} s`
      kind = 'error'
      break
    case 'error':
      label = 'ERROR'
      preview = clip(hideUserinfo(`${ev.code}: ${ev.message}`))
      kind = 'error'
      break
    case 'diagnosis':
      label = 'diagnosis'
      preview = clip(ev.title)
      kind = ev.severity === 'error' ? 'error' : 'meta'
      break
    case 'conn.state':
      label = ev.state
      preview = `attempt ${ev.attempt}${ev.delayMs !== undefined ? `, next in ${Math.round(ev.delayMs)} ms` : ''}${ev.reason ? ` — ${clip(ev.reason)}` : ''}`
      break
    case 'note':
      label = 'note'
      preview = clip(ev.text)
      break
    case 'http.request':
      dir = 'out'
      label = ev.method
      size = ev.bodySize ?? 0
      preview = clip(ev.url)
      break
    case 'http.response':
      dir = 'in'
      label = String(ev.status)
      preview = `${ev.statusText} HTTP/${ev.httpVersion}`
      kind = ev.status >= 400 ? 'error' : 'meta'
      break
    case 'conn.start':
      label = 'start'
      preview = clip(`${ev.spec.transport} ${hideUserinfo(ev.spec.url)}${networkText(ev.spec.network)}`)
      break
    case 'proxy.rule':
      label = 'route'
      preview = clip(hideUserinfo(`${ev.chosen}${profile ? ` · ${profileLabel(profile)}` : ''} (${ev.source}${ev.rule && ev.rule !== ev.chosen && ev.rule !== ev.source ? `: ${ev.rule}` : ''})${ev.fallbacks.length ? `, then ${ev.fallbacks.join(', ')}` : ''}`))
      break
    case 'dns':
      label = 'DNS'
      preview = clip(`${ev.host} → ${ev.addresses.length ? ev.addresses.map((a) => a.address).join(', ') : ev.via === 'proxy' ? 'resolved by the proxy' : 'no address'}${ev.target === 'proxy' ? ' (proxy)' : ''} · ${ms(ev.durationMs)}`)
      break
    case 'tcp':
      label = 'TCP'
      preview = `${hostPort(ev.remoteAddress, ev.remotePort)}${ev.target === 'proxy' ? ' (proxy)' : ''} from ${hostPort(ev.localAddress, ev.localPort)} · ${ms(ev.durationMs)}`
      break
    case 'tls': {
      label = ev.hop === 'proxy' ? 'TLS proxy' : 'TLS'
      const issuer = ev.chain[0] ? commonName(ev.chain[0].issuer) : ''
      preview = clip(
        `${ev.protocol ?? 'TLS'}${ev.alpn ? ` · ALPN ${ev.alpn}` : ''}${issuer ? ` · issuer ${issuer}` : ''} · ${ev.authorized ? 'trusted' : `not trusted${ev.authorizationError ? ` (${ev.authorizationError})` : ''}`} · ${ms(ev.durationMs)}`,
      )
      kind = ev.authorized ? 'meta' : 'error'
      break
    }
    case 'proxy.connect':
      label = `CONNECT ${ev.status}`
      preview = clip(hideUserinfo(`${ev.proxy}: ${ev.statusLine}`))
      kind = ev.status >= 400 ? 'error' : 'meta'
      break
    case 'proxy.socks':
      label = `SOCKS${ev.version} ${ev.step}`
      preview = clip(hideUserinfo(`${ev.proxy}: ${ev.replyText}${ev.method ? ` (${ev.method})` : ''}`))
      kind = ev.replyCode !== 0 && ev.step === 'connect' ? 'error' : 'meta'
      break
    case 'ws.negotiated':
      label = 'negotiated'
      preview = clip(`subprotocol ${ev.protocol || '(none)'} · extensions ${ev.extensions || '(none)'}${ev.offeredProtocols.length ? ` · offered ${ev.offeredProtocols.join(', ')}` : ''}`)
      break
    case 'open':
      label = 'open'
      preview = clip(`in ${ms(ev.durationMs)}${ev.protocol ? ` · ${ev.protocol}` : ''}${ev.extensions ? ` · ${ev.extensions}` : ''}`)
      break
    case 'end':
      label = 'end'
      preview = clip(ev.reason)
      break
    default:
      preview = ''
  }
  return { seq: ev.seq, ts: ev.ts, type: ev.type, dir, label, size, preview, kind }
}
