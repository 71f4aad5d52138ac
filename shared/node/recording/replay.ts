/**
 * Replay: re-run a recording's client side through the Engine against the same or another
 * target and network profile, with the original timing (offsets from `open`) or as fast as
 * possible. The run is a new recording. What the client sent (WebSocket text and binary
 * messages, user pings, our close) is sent again byte for byte; SSE, long-poll and stream
 * connections are re-opened with the same request for the original duration or message count.
 * Redacted values ("[redacted]") are not sent: such headers are left out and named in `warnings`.
 */
import path from 'node:path'
import type { WiretraceEvent, EndEvent } from '../../common/events/index.ts'
import type { ConnectionSpec, NetworkProfile, SendItem } from '../../common/spec/index.ts'
import { REDACTED } from '../../common/redact.ts'
import { parseProxyUrl } from '../../common/proxy-url.ts'
import { recError, REC_CODES } from '../../common/recording/errors.ts'
import { Engine } from '../engine/engine.ts'
import { loadRecording } from './files.ts'

export interface ReplayOptions {
  /** Another target URL (default: the recorded one). */
  target?: string
  /** A proxy URL (http://, socks5://...) or a whole network profile; default: the recorded profile. */
  proxy?: string
  network?: NetworkProfile
  /** Send as fast as possible instead of with the original timing. */
  asFast?: boolean
  /** Which recorded connection (default: the first). */
  conn?: string
  /** The new recording (default: next to the source, `NAME.replay-STAMP.jsonl`). */
  out?: string
  /** Use this engine (tests, the desktop app); default: a new one. */
  engine?: Engine
  /** Longest wait after the last message before closing, ms (default 2000; the original gap when shorter). */
  tailMs?: number
  /** Give up waiting for open after this long, ms (default 30000). */
  openTimeoutMs?: number
}

export interface ReplayPlanItem {
  atMs: number
  item: SendItem
}

export interface ReplayPlan {
  spec: ConnectionSpec
  items: ReplayPlanItem[]
  /** Milliseconds from open to the original end (for transports without client messages). */
  openDurationMs: number
  messagesIn: number
  warnings: string[]
}

/** Pure part: what to open and what to send when, from a recording's events. */
export function planReplay(events: WiretraceEvent[], specs: ConnectionSpec[], opts: Pick<ReplayOptions, 'target' | 'conn' | 'network' | 'proxy'> = {}): ReplayPlan {
  const start = events.find((e) => e.type === 'conn.start' && (!opts.conn || e.conn === opts.conn))
  const conn = opts.conn ?? start?.conn ?? specs[0]?.id
  const base = start?.type === 'conn.start' ? start.spec : specs.find((s) => s.id === conn) ?? specs[0]
  if (!base || !conn) throw recError(REC_CODES.corrupt, 'the recording has no connection to replay (no conn.start event and no spec in the header)', {})
  const warnings: string[] = []
  const spec: ConnectionSpec = { ...base }
  delete spec.id
  delete spec.send
  delete spec.maxMessages
  delete spec.durationMs
  delete spec.keepSecrets
  spec.reconnect = { enabled: false }
  spec.name = `replay of ${base.name ?? conn}`
  if (opts.target) spec.url = opts.target
  if (spec.url.includes(REDACTED) || spec.url.includes(encodeURIComponent(REDACTED))) warnings.push('the URL contains redacted parts; pass --target with the real URL')
  if (spec.headers) {
    const kept = spec.headers.filter(([, v]) => !v.includes(REDACTED))
    for (const [k, v] of spec.headers) if (v.includes(REDACTED)) warnings.push(`header ${k} was redacted in the recording and is not sent`)
    spec.headers = kept
  }
  if (opts.network) spec.network = opts.network
  else if (opts.proxy) spec.network = { mode: 'manual', proxy: parseProxyUrl(opts.proxy) }
  const n = spec.network
  if (!opts.network && !opts.proxy && n && JSON.stringify(n).includes(REDACTED)) warnings.push('the recorded proxy password was redacted; pass --proxy with credentials')
  if (spec.network === n && n?.originTls?.ca?.some((c) => c === '[pem]')) {
    // The profile's origin CAs were recorded as [pem]: not sent as such (they are not certificates).
    const o = { ...n.originTls }
    delete o.ca
    spec.network = { ...n, originTls: o }
    warnings.push("the network profile's origin CA certificates are not in the recording; they are not used (pass --profile to read its CA files again)")
  }
  if (spec.tls && JSON.stringify(spec.tls).includes(REDACTED)) {
    const t = { ...spec.tls }
    delete t.key
    delete t.pfx
    delete t.passphrase
    delete t.cert
    if (t.ca?.every((c) => c === '[pem]')) delete t.ca
    spec.tls = t
    warnings.push('TLS client credentials and CA files are not in the recording; they are not used')
  } else if (spec.tls?.ca?.some((c) => c === '[pem]')) {
    spec.tls = { ...spec.tls }
    delete spec.tls.ca
    warnings.push('custom CA certificates are not in the recording; the system CAs are used')
  }
  let openTs: number | undefined
  let endTs: number | undefined
  let messagesIn = 0
  const items: ReplayPlanItem[] = []
  let firstTs: number | undefined
  for (const ev of events) {
    if (ev.conn !== conn) continue
    firstTs ??= ev.ts
    if (ev.type === 'open') openTs ??= ev.ts
    if (ev.type === 'end') endTs = ev.ts
    if ((ev.type === 'ws.message' || ev.type === 'sse.event' || ev.type === 'stream.line' || ev.type === 'stream.data') && (ev.type !== 'ws.message' || ev.dir === 'in')) messagesIn++
    const at = (): number => Math.max(0, ev.ts - (openTs ?? ev.ts))
    if (ev.type === 'ws.message' && ev.dir === 'out') {
      if (ev.truncated) warnings.push(`message seq ${ev.seq} was cut in the recording (${ev.size} bytes on the wire); the recorded part is sent`)
      if ((ev as { redacted?: boolean }).redacted) warnings.push(`message seq ${ev.seq} was redacted; the redacted text is sent`)
      if (ev.text !== undefined && ev.opcode === 1) items.push({ atMs: at(), item: { kind: 'text', text: ev.text } })
      else items.push({ atMs: at(), item: { kind: 'binary', base64: ev.base64 ?? '' } })
    } else if (ev.type === 'ws.ping' && ev.dir === 'out' && ev.origin === 'user') {
      items.push({ atMs: at(), item: ev.text !== undefined ? { kind: 'ping', text: ev.text } : { kind: 'ping' } })
    } else if (ev.type === 'ws.close' && ev.dir === 'out' && ev.initiator === 'local') {
      items.push({ atMs: at(), item: { kind: 'close', code: ev.code, reason: ev.reason } })
    }
  }
  if (warnings.length > 50) warnings.splice(50, warnings.length - 50, `… and more`)
  const openDurationMs = openTs !== undefined && endTs !== undefined ? Math.max(0, endTs - openTs) : 0
  return { spec, items, openDurationMs, messagesIn, warnings }
}

export interface ReplayResult {
  recording: string
  conn: string
  sent: number
  opened: boolean
  end: EndEvent
  warnings: string[]
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19)
}

export async function replayRecording(file: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const rec = await loadRecording(file)
  const plan = planReplay(rec.events, rec.header.connections, opts)
  const spec = plan.spec
  const hasClientMessages = plan.items.length > 0
  if (!hasClientMessages && spec.transport !== 'ws') {
    // Nothing the client sent: reproduce the exchange for as long, or as many messages, as before.
    if (opts.asFast && plan.messagesIn > 0) spec.maxMessages = plan.messagesIn
    else if (plan.openDurationMs > 0) spec.durationMs = Math.min(Math.ceil(plan.openDurationMs), 24 * 3600 * 1000)
  }
  const out = opts.out ?? path.join(path.dirname(file), `${path.basename(file).replace(/(\.wtrace\.gz|\.jsonl|\.gz)$/i, '')}.replay-${stamp()}.jsonl`)
  const engine = opts.engine ?? new Engine({ recordingsDir: null, host: 'cli' })
  let openResolve!: (v: boolean) => void
  const opened = new Promise<boolean>((r) => (openResolve = r))
  let connId = ''
  const off = engine.onEvent((ev) => {
    if (ev.conn !== connId) return
    if (ev.type === 'open') openResolve(true)
    else if (ev.type === 'end') openResolve(false)
  })
  const conn = engine.open(spec, { recordingPath: out, title: `Replay of ${path.basename(file)}` })
  connId = conn.id
  let sent = 0
  let didOpen = false
  try {
    const timeout = setTimeout(() => openResolve(false), opts.openTimeoutMs ?? 30_000)
    didOpen = await opened
    clearTimeout(timeout)
    if (didOpen && hasClientMessages) {
      const t0 = performance.now()
      let closedByPlan = false
      for (const { atMs, item } of plan.items) {
        if (!opts.asFast) {
          const wait = atMs - (performance.now() - t0)
          if (wait > 1) await new Promise((r) => setTimeout(r, wait))
        }
        try {
          conn.send(item)
          sent++
        } catch {
          break
        }
        if (item.kind === 'close') {
          closedByPlan = true
          break
        }
      }
      if (!closedByPlan) {
        const last = plan.items[plan.items.length - 1]?.atMs ?? 0
        const tail = Math.min(opts.tailMs ?? 2000, Math.max(0, plan.openDurationMs - last))
        await Promise.race([new Promise((r) => setTimeout(r, opts.asFast ? Math.min(tail, 200) : tail)), conn.done])
        conn.close(1000, 'replay done')
      }
    } else if (didOpen && spec.transport === 'ws') {
      await Promise.race([new Promise((r) => setTimeout(r, Math.min(opts.tailMs ?? 2000, plan.openDurationMs))), conn.done])
      conn.close(1000, 'replay done')
    }
    const stopTimer = setTimeout(() => conn.stop('replay: the connection did not finish'), 10_000 + (spec.durationMs ?? 0))
    const end = await conn.done
    clearTimeout(stopTimer)
    return { recording: out, conn: conn.id, sent, opened: didOpen, end, warnings: plan.warnings }
  } finally {
    off()
    if (!opts.engine) await engine.shutdown()
  }
}
