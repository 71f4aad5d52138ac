/** `wiretrace inspect FILE`: a readable summary of a recording. */
import fs from 'node:fs'
import type { WiretraceEvent } from '../../common/events/index.ts'
import { RecordingReader } from '../../common/recording/reader.ts'
import { WiretraceError, EXIT } from '../../common/errors/index.ts'
import { formatBytes } from '../../common/bytes.ts'
import { parseArgs, helpText, type OptionDef } from './args.ts'

const OPTIONS: Record<string, OptionDef> = {
  events: { type: 'boolean', help: 'also list every establishment event' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}
export const INSPECT_HELP = helpText('wiretrace inspect FILE', 'Print a readable summary of a recording.', OPTIONS)

interface ConnStats {
  id: string
  url: string
  transport: string
  counts: Map<string, number>
  bytesIn: number
  bytesOut: number
  msgsIn: number
  msgsOut: number
  first: number
  last: number
  rtts: number[]
  timeline: string[]
  errors: string[]
  diagnoses: string[]
  closes: string[]
  attempts: number
  end?: string
}

function describe(ev: WiretraceEvent): string | null {
  switch (ev.type) {
    case 'proxy.rule':
      return `route ${ev.chosen} (${ev.source}${ev.rule !== ev.chosen ? `: ${ev.rule}` : ''})`
    case 'dns':
      return `dns ${ev.host} -> ${ev.addresses.map((a) => a.address).join(', ')} (${ev.via}, ${ev.durationMs} ms)`
    case 'tcp':
      return `tcp ${ev.target} ${ev.remoteAddress}:${ev.remotePort} (${ev.durationMs} ms)`
    case 'proxy.connect':
      return `proxy ${ev.requestLine} -> ${ev.statusLine} (${ev.durationMs} ms)`
    case 'proxy.socks':
      return `socks${ev.version} ${ev.step}: ${ev.replyText} (${ev.durationMs} ms)`
    case 'tls':
      return `tls ${ev.hop} ${ev.protocol} ${ev.cipher} alpn=${ev.alpn ?? '-'} issuer="${ev.chain[0]?.issuer ?? '?'}" ${ev.authorized ? 'trusted' : `untrusted (${ev.authorizationError})`} (${ev.durationMs} ms)`
    case 'http.request':
      return `request ${ev.method} ${ev.url}`
    case 'http.response':
      return `response ${ev.status} ${ev.statusText} HTTP/${ev.httpVersion} (${ev.durationMs} ms)`
    case 'ws.negotiated':
      return `negotiated protocol="${ev.protocol}" extensions="${ev.extensions}"${ev.offeredDeflate && !ev.deflate ? ' (deflate offered, refused)' : ''}`
    case 'open':
      return `open after ${ev.durationMs} ms`
    case 'conn.state':
      return ev.state === 'reconnecting' ? `reconnecting in ${ev.delayMs} ms (${ev.reason ?? ''})` : null
    default:
      return null
  }
}

export function summarize(file: string, withEvents = false): { text: string; ok: boolean } {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (e) {
    throw new WiretraceError('WT_RECORDING_NOT_FOUND', `cannot open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
  const reader = new RecordingReader()
  const conns = new Map<string, ConnStats>()
  const buf = Buffer.allocUnsafe(1024 * 1024)
  let total = 0
  const take = (events: WiretraceEvent[]): void => {
    for (const ev of events) {
      total++
      let s = conns.get(ev.conn)
      if (!s) {
        s = { id: ev.conn, url: '', transport: '', counts: new Map(), bytesIn: 0, bytesOut: 0, msgsIn: 0, msgsOut: 0, first: ev.ts, last: ev.ts, rtts: [], timeline: [], errors: [], diagnoses: [], closes: [], attempts: 0 }
        conns.set(ev.conn, s)
      }
      s.last = ev.ts
      s.counts.set(ev.type, (s.counts.get(ev.type) ?? 0) + 1)
      const d = describe(ev)
      if (d && s.timeline.length < 200) s.timeline.push(`+${(ev.ts - s.first).toFixed(1)} ms  ${d}`)
      switch (ev.type) {
        case 'conn.start':
          s.url = ev.spec.url
          s.transport = ev.spec.transport
          break
        case 'conn.state':
          s.attempts = Math.max(s.attempts, ev.attempt)
          break
        case 'ws.pong':
          if (ev.rttMs !== undefined && s.rtts.length < 100_000) s.rtts.push(ev.rttMs)
          break
        case 'ws.close':
          s.closes.push(`${ev.dir === 'out' ? 'sent' : 'close'} ${ev.code} ${ev.meaning}${ev.reason ? ` "${ev.reason}"` : ''} (${ev.initiator})`)
          break
        case 'error':
          if (s.errors.length < 50) s.errors.push(`${ev.code} [${ev.phase}] ${ev.message}`)
          break
        case 'diagnosis':
          s.diagnoses.push(`${ev.code}: ${ev.title}. ${ev.explanation}${ev.suggestions.length ? `\n      try: ${ev.suggestions.join('; ')}` : ''}`)
          break
        case 'end':
          s.msgsIn = ev.msgsIn
          s.msgsOut = ev.msgsOut
          s.bytesIn = ev.bytesIn
          s.bytesOut = ev.bytesOut
          s.end = `${ev.reason} (exit ${ev.exitCode})`
          break
        case 'stats':
          s.msgsIn = ev.msgsIn
          s.msgsOut = ev.msgsOut
          s.bytesIn = ev.bytesIn
          s.bytesOut = ev.bytesOut
          break
      }
    }
  }
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null)
      if (n <= 0) break
      take(reader.push(buf.subarray(0, n)))
    }
    take(reader.end())
  } finally {
    fs.closeSync(fd)
  }
  const lines: string[] = []
  const h = reader.header
  if (h) {
    lines.push(`${file}: Wiretrace recording v${h.version}, app ${h.app}, created ${h.created} on ${h.env.os} ${h.env.arch} (${h.env.runtime}, ${h.env.host}); secrets ${h.secrets}`)
  }
  lines.push(`${total} events, ${conns.size} connection${conns.size === 1 ? '' : 's'}`)
  for (const s of conns.values()) {
    lines.push('', `connection ${s.id}: ${s.transport} ${s.url}`)
    lines.push(`  duration ${((s.last - s.first) / 1000).toFixed(2)} s, ${s.attempts} attempt${s.attempts === 1 ? '' : 's'}${s.end ? `, ended: ${s.end}` : ', no end event (still running or interrupted)'}`)
    lines.push(`  in: ${s.msgsIn} messages, ${formatBytes(s.bytesIn)}; out: ${s.msgsOut} messages, ${formatBytes(s.bytesOut)}`)
    const counts = [...s.counts.entries()].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`)
    lines.push(`  events: ${counts.join(', ')}`)
    if (s.rtts.length) {
      const sorted = [...s.rtts].sort((a, b) => a - b)
      lines.push(`  ping rtt: ${sorted.length} pongs, min ${sorted[0]!.toFixed(2)} / median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} / max ${sorted[sorted.length - 1]!.toFixed(2)} ms`)
    }
    if (withEvents || s.timeline.length <= 20) {
      lines.push('  establishment:')
      for (const t of s.timeline) lines.push(`    ${t}`)
    } else {
      lines.push(`  establishment (first 20 of ${s.timeline.length}; --events for all):`)
      for (const t of s.timeline.slice(0, 20)) lines.push(`    ${t}`)
    }
    for (const c of s.closes) lines.push(`  ${c}`)
    for (const e of s.errors) lines.push(`  error ${e}`)
    for (const d of s.diagnoses) lines.push(`  diagnosis ${d}`)
  }
  for (const i of reader.issues) lines.push(`warning: line ${i.line}: ${i.code}: ${i.message}`)
  if (reader.issueCount > reader.issues.length) lines.push(`warning: ${reader.issueCount - reader.issues.length} more issues`)
  const fatal = !h || reader.issues.some((i) => i.code === 'WT_RECORDING_HEADER' || i.code === 'WT_RECORDING_VERSION')
  return { text: lines.join('\n') + '\n', ok: !fatal }
}

export async function inspectCommand(argv: string[], io: { stdout: NodeJS.WritableStream }): Promise<number> {
  const { positionals, values } = parseArgs(argv, OPTIONS)
  if (values.help) {
    io.stdout.write(INSPECT_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 1) throw new WiretraceError('WT_USAGE', 'inspect needs one recording file')
  const r = summarize(positionals[0]!, values.events === true)
  io.stdout.write(r.text)
  return r.ok ? EXIT.OK : EXIT.RECORDING
}
