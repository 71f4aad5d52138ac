/** Builds the establishment waterfall from the lifecycle events of one attempt. Pure. */
import type { WiretraceEvent, HeaderPairs } from '../../../shared/common/events/index.ts'

export interface Phase {
  key: string
  label: string
  detail: string
  start: number
  duration: number
  status: 'ok' | 'error' | 'info'
}

export interface Waterfall {
  t0: number
  total: number
  phases: Phase[]
  request: { line: string; headers: HeaderPairs } | null
  response: { line: string; headers: HeaderPairs } | null
  proxyExchanges: Array<{ request: string; requestHeaders: HeaderPairs; status: string; responseHeaders: HeaderPairs; body?: string }>
}

/** `profile`: the saved network profile the connection used, named on the Route phase. */
export function buildWaterfall(events: readonly WiretraceEvent[], firstMessageTs: number | null, profile?: string | null): Waterfall {
  const t0 = events[0]?.ts ?? 0
  const phases: Phase[] = []
  let request: Waterfall['request'] = null
  let response: Waterfall['response'] = null
  const proxyExchanges: Waterfall['proxyExchanges'] = []
  let requestTs: number | null = null
  const add = (key: string, label: string, detail: string, end: number, duration: number, status: Phase['status'] = 'ok'): void => {
    phases.push({ key, label, detail, start: end - duration - t0, duration, status })
  }
  for (const ev of events) {
    switch (ev.type) {
      case 'proxy.rule':
        add('route', 'Route', `${ev.chosen}${profile ? ` · profile "${profile}"` : ''} (${ev.source}${ev.rule && ev.rule !== ev.chosen ? `: ${ev.rule}` : ''})`, ev.ts, 0, 'info')
        break
      case 'dns':
        add('dns', ev.target === 'proxy' ? 'DNS (proxy)' : 'DNS', `${ev.host} → ${ev.addresses.map((a) => a.address).join(', ') || '—'} (${ev.via})`, ev.ts, ev.durationMs)
        break
      case 'tcp':
        add('tcp', ev.target === 'proxy' ? 'TCP (proxy)' : 'TCP', `${ev.remoteAddress}:${ev.remotePort}`, ev.ts, ev.durationMs)
        break
      case 'proxy.connect':
        add('proxy', `Proxy ${ev.mode === 'connect' ? 'CONNECT' : 'forward'}`, `${ev.statusLine}${ev.auth ? ` (auth ${ev.auth})` : ''}`, ev.ts, ev.durationMs, ev.status >= 200 && ev.status < 300 ? 'ok' : 'error')
        proxyExchanges.push({ request: ev.requestLine, requestHeaders: ev.requestHeaders, status: ev.statusLine, responseHeaders: ev.responseHeaders, ...(ev.bodyPreview ? { body: ev.bodyPreview } : {}) })
        break
      case 'proxy.socks':
        add('socks', `SOCKS${ev.version} ${ev.step}`, ev.replyText, ev.ts, ev.durationMs, ev.replyCode === 0 || ev.replyCode === 90 ? 'ok' : 'error')
        break
      case 'tls':
        add(
          'tls',
          ev.hop === 'proxy' ? 'TLS (proxy)' : 'TLS',
          `${ev.protocol ?? '?'}${ev.alpn ? `, ALPN ${ev.alpn}` : ''}${ev.chain[0] ? `, issued by ${ev.chain[0].issuer}` : ''}${ev.authorized ? '' : `, NOT trusted: ${ev.authorizationError ?? ''}`}`,
          ev.ts,
          ev.durationMs,
          ev.authorized ? 'ok' : 'error',
        )
        break
      case 'http.request':
        if (!request) {
          request = { line: `${ev.method} ${ev.url}`, headers: ev.headers }
          requestTs = ev.ts
        }
        break
      case 'http.response':
        if (!response) {
          response = { line: `HTTP/${ev.httpVersion} ${ev.status} ${ev.statusText}`, headers: ev.headers }
          add('handshake', 'Handshake', `${ev.status} ${ev.statusText}`, ev.ts, ev.durationMs ?? (requestTs !== null ? ev.ts - requestTs : 0), ev.status < 400 ? 'ok' : 'error')
        }
        break
      case 'open':
        add('open', 'Open', `ready after ${ev.durationMs.toFixed(1)} ms${ev.protocol ? `, subprotocol ${ev.protocol}` : ''}${ev.extensions ? `, ${ev.extensions}` : ''}`, ev.ts, 0, 'info')
        if (firstMessageTs !== null) add('first', 'First message', `${(firstMessageTs - ev.ts).toFixed(1)} ms after open`, firstMessageTs, firstMessageTs - ev.ts, 'info')
        break
      case 'error':
        add('error', `Error (${ev.phase})`, `${ev.code}: ${ev.message}`, ev.ts, 0, 'error')
        break
      default:
        break
    }
  }
  const end = Math.max(1, ...phases.map((p) => p.start + p.duration))
  return { t0, total: end, phases, request, response, proxyExchanges }
}
