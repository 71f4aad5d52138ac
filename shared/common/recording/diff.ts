/**
 * Compare two recordings (home vs office): establishment timelines aligned step by step,
 * the first step where they diverge (route or proxy chosen, CONNECT status, TLS issuer,
 * ALPN, negotiated extensions, HTTP status, close code), and message counts and rates.
 * Pure: profiles in, a structured result and a text rendering out.
 */
import type { WiretraceEvent } from '../events/index.ts'
import type { RecordingHeader } from './format.ts'
import { emptyProfile, profileRecording, STEP_LABELS, STEP_ORDER, type ConnProfile, type Step, type StepKey } from './profile.ts'

export interface AlignedStep {
  key: StepKey
  label: string
  a: Step | null
  b: Step | null
  same: boolean
}

export interface MetricRow {
  metric: string
  a: number
  b: number
}

export interface RecordingDiff {
  a: { label: string; conn: string; url: string; transport: string }
  b: { label: string; conn: string; url: string; transport: string }
  steps: AlignedStep[]
  firstDivergence: AlignedStep | null
  metrics: MetricRow[]
  /** Same establishment path and outcome (counts may still differ). */
  samePath: boolean
}

export interface DiffInput {
  label: string
  header: RecordingHeader | null
  events: Iterable<WiretraceEvent>
  /** Which connection to compare (default: the first). */
  conn?: string
}

function pick(input: DiffInput): ConnProfile {
  const ps = profileRecording(input.header, input.events)
  const p = input.conn ? ps.find((x) => x.conn === input.conn) : ps[0]
  return (
    p ?? emptyProfile(input.conn ?? '(none)', input.header?.connections[0]?.url ?? '', input.header?.connections[0]?.transport ?? '', 0)
  )
}

export function diffProfiles(a: ConnProfile, b: ConnProfile, labels: [string, string] = ['A', 'B']): RecordingDiff {
  const steps: AlignedStep[] = []
  for (const key of STEP_ORDER) {
    const sa = a.steps.find((s) => s.key === key) ?? null
    const sb = b.steps.find((s) => s.key === key) ?? null
    if (!sa && !sb) continue
    steps.push({ key, label: STEP_LABELS[key], a: sa, b: sb, same: !!sa && !!sb && sa.compare === sb.compare })
  }
  // A step both lack is not a divergence; a step one side reached and the other did not is.
  const firstDivergence = steps.find((s) => !s.same) ?? null
  const metrics: MetricRow[] = [
    { metric: 'messages in', a: a.msgsIn, b: b.msgsIn },
    { metric: 'messages out', a: a.msgsOut, b: b.msgsOut },
    { metric: 'bytes in', a: a.bytesIn, b: b.bytesIn },
    { metric: 'bytes out', a: a.bytesOut, b: b.bytesOut },
    { metric: 'msg/s in (while open)', a: a.rateIn, b: b.rateIn },
    { metric: 'msg/s out (while open)', a: a.rateOut, b: b.rateOut },
    { metric: 'pings', a: a.pings, b: b.pings },
    { metric: 'pongs', a: a.pongs, b: b.pongs },
    { metric: 'attempts', a: a.attempts, b: b.attempts },
    { metric: 'errors', a: a.errors.length, b: b.errors.length },
    { metric: 'duration ms', a: a.durationMs, b: b.durationMs },
  ]
  const side = (p: ConnProfile, label: string) => ({ label, conn: p.conn, url: p.url, transport: p.transport })
  return { a: side(a, labels[0]), b: side(b, labels[1]), steps, firstDivergence, metrics, samePath: firstDivergence === null }
}

export function diffRecordings(a: DiffInput, b: DiffInput): RecordingDiff {
  return diffProfiles(pick(a), pick(b), [a.label, b.label])
}

function pad(s: string, n: number): string {
  return s.length >= n ? s.slice(0, n - 1) + '…' : s + ' '.repeat(n - s.length)
}
const fmtMs = (s: Step | null): string => (s ? `+${Math.round(s.atMs)}ms${s.durationMs !== undefined ? ` (${Math.round(s.durationMs)}ms)` : ''}` : '')
const clean = (s: unknown): string => String(s ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')

/** Text rendering for the CLI (no colours; plain characters only). */
export function renderDiff(d: RecordingDiff, width = 50): string {
  const lines: string[] = []
  lines.push(`A: ${clean(d.a.label)}  ${d.a.transport} ${clean(d.a.url)} [${clean(d.a.conn)}]`)
  lines.push(`B: ${clean(d.b.label)}  ${d.b.transport} ${clean(d.b.url)} [${clean(d.b.conn)}]`)
  lines.push('')
  lines.push(`  ${pad('step', 22)} ${pad('A', width)} ${pad('B', width)}`)
  for (const s of d.steps) {
    const mark = s === d.firstDivergence ? '>>' : s.same ? '  ' : ' ≠'
    const cell = (x: Step | null): string => (x ? clean(`${x.detail} ${fmtMs(x)}`) : '—')
    lines.push(`${mark}${pad(s.label, 22)} ${pad(cell(s.a), width)} ${pad(cell(s.b), width)}`)
    if (!s.same && (cell(s.a).length >= width || cell(s.b).length >= width)) {
      lines.push(`      A: ${cell(s.a)}`)
      lines.push(`      B: ${cell(s.b)}`)
    }
  }
  lines.push('')
  if (d.firstDivergence) {
    const f = d.firstDivergence
    lines.push(`First divergence: ${f.label}: A ${f.a ? clean(f.a.detail) : 'never reached it'}; B ${f.b ? clean(f.b.detail) : 'never reached it'}`)
  } else lines.push('Same establishment path and outcome.')
  lines.push('')
  lines.push(`  ${pad('metric', 24)} ${pad('A', 14)} ${pad('B', 14)}`)
  for (const m of d.metrics) lines.push(`  ${pad(m.metric, 24)} ${pad(String(m.a), 14)} ${pad(String(m.b), 14)}`)
  return lines.join('\n') + '\n'
}
