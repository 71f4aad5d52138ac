/**
 * Folds a connection's events into a profile: the establishment timeline (route, DNS, TCP,
 * proxy, TLS, HTTP, WebSocket negotiation, open, close, end) with the attributes that
 * explain "works at home, fails at the office", plus message counts and rates. Used by the
 * Markdown summary and by compare (diff.ts). Pure and O(events).
 */
import type { WiretraceEvent, CertInfo } from '../events/index.ts'
import type { RecordingHeader } from './format.ts'
import { redactUrl } from '../redact.ts'

export type StepKey = 'route' | 'dns' | 'tcp' | 'socks' | 'proxy' | 'proxy-tls' | 'tls' | 'http' | 'ws' | 'open' | 'close' | 'end'

export const STEP_ORDER: readonly StepKey[] = ['route', 'dns', 'tcp', 'socks', 'proxy', 'proxy-tls', 'tls', 'http', 'ws', 'open', 'close', 'end']

export const STEP_LABELS: Record<StepKey, string> = {
  route: 'route / proxy chosen',
  dns: 'DNS',
  tcp: 'TCP',
  socks: 'SOCKS',
  proxy: 'proxy CONNECT',
  'proxy-tls': 'TLS to proxy',
  tls: 'TLS',
  http: 'HTTP response',
  ws: 'WebSocket negotiation',
  open: 'open',
  close: 'close',
  end: 'end',
}

export interface Step {
  key: StepKey
  /** What is compared between two recordings (the attributes that matter, not timings or addresses). */
  compare: string
  /** Longer text for display. */
  detail: string
  /** Milliseconds from the connection's start. */
  atMs: number
  durationMs?: number
}

export interface ConnProfile {
  conn: string
  url: string
  transport: string
  name?: string
  startTs: number
  endTs: number
  durationMs: number
  attempts: number
  steps: Step[]
  msgsIn: number
  msgsOut: number
  bytesIn: number
  bytesOut: number
  sseEvents: number
  pings: number
  pongs: number
  /** Messages per second while open (in, out). */
  rateIn: number
  rateOut: number
  openMs: number
  errors: Array<{ code: string; phase: string; message: string; atMs: number }>
  diagnoses: Array<{ code: string; severity: string; title: string }>
  events: number
}

function issuerOf(chain: CertInfo[]): string {
  const leaf = chain[0]
  if (!leaf) return 'no certificate'
  return leaf.issuer + (leaf.selfSigned ? ' (self-signed)' : '')
}

function cn(dn: string): string {
  const m = /CN=([^,\n/]+)/.exec(dn)
  return m ? m[1]!.trim() : dn
}

/** A connection profile with nothing observed yet. */
export function emptyProfile(conn: string, url: string, transport: string, startTs: number): ConnProfile {
  return {
    conn,
    url,
    transport,
    startTs,
    endTs: startTs,
    durationMs: 0,
    attempts: 0,
    steps: [],
    msgsIn: 0,
    msgsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    sseEvents: 0,
    pings: 0,
    pongs: 0,
    rateIn: 0,
    rateOut: 0,
    openMs: 0,
    errors: [],
    diagnoses: [],
    events: 0,
  }
}

/** Profiles every connection in the recording, in order of first appearance. */
export function profileRecording(header: RecordingHeader | null, events: Iterable<WiretraceEvent>): ConnProfile[] {
  const map = new Map<string, ConnProfile & { _seen: Set<StepKey>; _openTs?: number; _lastTs: number }>()
  const specUrl = new Map((Array.isArray(header?.connections) ? header.connections : []).filter((s) => s && typeof s === 'object').map((s) => [s.id ?? '', s]))
  const get = (ev: WiretraceEvent) => {
    let p = map.get(ev.conn)
    if (!p) {
      const s = specUrl.get(ev.conn)
      p = {
        ...emptyProfile(ev.conn, typeof s?.url === 'string' ? redactUrl(s.url) : '', typeof s?.transport === 'string' ? s.transport : '', ev.ts),
        _seen: new Set(),
        _lastTs: ev.ts,
      }
      if (typeof s?.name === 'string') p.name = s.name
      map.set(ev.conn, p)
    }
    return p
  }
  for (const ev of events) {
    try {
      fold(ev)
    } catch {
      // A damaged event (wrong field types from a hostile file): left out of the profile.
    }
  }
  function fold(ev: WiretraceEvent): void {
    const p = get(ev)
    p.events++
    p._lastTs = ev.ts
    const at = Math.round((ev.ts - p.startTs) * 1000) / 1000
    const step = (key: StepKey, compare: string, detail: string, durationMs?: number): void => {
      if (p._seen.has(key)) return
      p._seen.add(key)
      const s: Step = { key, compare, detail, atMs: at }
      if (durationMs !== undefined) s.durationMs = durationMs
      p.steps.push(s)
    }
    switch (ev.type) {
      case 'conn.start':
        if (typeof ev.spec.url === 'string') p.url = redactUrl(ev.spec.url)
        if (typeof ev.spec.transport === 'string') p.transport = ev.spec.transport
        if (typeof ev.spec.name === 'string') p.name = ev.spec.name
        break
      case 'conn.state':
        if (ev.state === 'connecting') p.attempts = Math.max(p.attempts, ev.attempt)
        break
      case 'proxy.rule':
        step('route', redactUrl(ev.chosen), `${redactUrl(ev.chosen)} (from ${ev.source}${ev.rule ? `: ${ev.rule}` : ''})${ev.fallbacks.length ? `; fallbacks ${ev.fallbacks.join(', ')}` : ''}`)
        break
      case 'dns':
        step('dns', `${ev.via}/${ev.target}`, `${ev.host} via ${ev.via} -> ${ev.addresses.map((a) => a.address).join(', ') || 'nothing'}`, ev.durationMs)
        break
      case 'tcp':
        step('tcp', ev.target, `${ev.target} ${ev.remoteAddress}:${ev.remotePort}`, ev.durationMs)
        break
      case 'proxy.socks':
        if (ev.step === 'connect' || ev.replyCode !== 0) step('socks', `${ev.version}:${ev.replyCode}`, `SOCKS${ev.version} ${ev.step}: ${ev.replyCode} ${ev.replyText}`, ev.durationMs)
        break
      case 'proxy.connect': {
        // The last leg decides; keep updating the step while legs arrive.
        const compare = String(ev.status)
        const detail = `${ev.statusLine}${ev.auth ? ` (auth ${ev.auth}, leg ${ev.leg})` : ''}`
        const existing = p.steps.find((s) => s.key === 'proxy')
        if (existing && p.attempts <= 1) {
          existing.compare = compare
          existing.detail = `${existing.detail}; ${detail}`
          existing.durationMs = (existing.durationMs ?? 0) + ev.durationMs
        } else step('proxy', compare, detail, ev.durationMs)
        break
      }
      case 'tls': {
        const key: StepKey = ev.hop === 'proxy' ? 'proxy-tls' : 'tls'
        const issuer = issuerOf(ev.chain)
        step(
          key,
          `${cn(issuer)}|alpn=${ev.alpn ?? 'none'}|${ev.authorized ? 'trusted' : 'untrusted'}`,
          `${ev.protocol ?? '?'} ${ev.cipher ?? ''}, ALPN ${ev.alpn ?? 'none'} (offered ${ev.alpnOffered.join(',') || 'none'}), issuer ${issuer}${ev.authorized ? '' : `, NOT trusted: ${ev.authorizationError ?? 'unknown'}`}`,
          ev.durationMs,
        )
        break
      }
      case 'http.response':
        if (ev.ref === undefined) step('http', `${ev.status}`, `HTTP/${ev.httpVersion} ${ev.status} ${ev.statusText}`, ev.durationMs)
        break
      case 'ws.negotiated':
        step('ws', `protocol=${ev.protocol || '-'}|ext=${ev.extensions || '-'}`, `subprotocol ${ev.protocol || 'none'}, extensions ${ev.extensions || 'none'}${ev.offeredDeflate && !ev.deflate ? ' (deflate offered, not accepted)' : ''}`)
        break
      case 'open':
        p._openTs ??= ev.ts
        step('open', 'open', `open after ${ev.durationMs} ms${ev.protocol ? `, protocol ${ev.protocol}` : ''}${ev.extensions ? `, extensions ${ev.extensions}` : ''}`, ev.durationMs)
        break
      case 'ws.close':
        if (ev.dir !== 'out') step('close', `${ev.code}`, `${ev.code} ${ev.meaning}${ev.reason ? ` "${ev.reason}"` : ''} by ${ev.initiator}${ev.wasClean ? '' : ' (not clean)'}`)
        break
      case 'ws.message':
        if (ev.dir === 'in') {
          p.msgsIn++
          p.bytesIn += ev.size
        } else {
          p.msgsOut++
          p.bytesOut += ev.size
        }
        break
      case 'sse.event':
        p.sseEvents++
        p.msgsIn++
        p.bytesIn += ev.size
        break
      case 'stream.line':
      case 'stream.data':
        p.msgsIn++
        p.bytesIn += ev.size
        break
      case 'poll.cycle':
        if (ev.outcome === 'data') p.msgsIn++
        break
      case 'ws.ping':
        p.pings++
        break
      case 'ws.pong':
        p.pongs++
        break
      case 'error':
        if (p.errors.length < 20) p.errors.push({ code: ev.code, phase: ev.phase, message: ev.message, atMs: at })
        break
      case 'diagnosis':
        if (p.diagnoses.length < 20) p.diagnoses.push({ code: ev.code, severity: ev.severity, title: ev.title })
        break
      case 'end':
        step('end', `exit ${ev.exitCode}`, `${ev.reason} (exit ${ev.exitCode}, ${ev.attempts} attempt${ev.attempts === 1 ? '' : 's'})`, ev.durationMs)
        p.attempts = Math.max(p.attempts, ev.attempts)
        if (ev.bytesIn > p.bytesIn) p.bytesIn = ev.bytesIn
        if (ev.bytesOut > p.bytesOut) p.bytesOut = ev.bytesOut
        break
    }
  }
  const out: ConnProfile[] = []
  for (const p of map.values()) {
    p.endTs = p._lastTs
    p.durationMs = Math.round((p.endTs - p.startTs) * 1000) / 1000
    const openMs = p._openTs !== undefined ? p.endTs - p._openTs : 0
    p.openMs = Math.round(openMs * 1000) / 1000
    p.rateIn = openMs > 0 ? Math.round((p.msgsIn / openMs) * 1000 * 100) / 100 : 0
    p.rateOut = openMs > 0 ? Math.round((p.msgsOut / openMs) * 1000 * 100) / 100 : 0
    p.steps.sort((a, b) => STEP_ORDER.indexOf(a.key) - STEP_ORDER.indexOf(b.key))
    const { _seen, _openTs, _lastTs, ...clean } = p
    void _seen
    void _openTs
    void _lastTs
    out.push(clean)
  }
  return out
}
