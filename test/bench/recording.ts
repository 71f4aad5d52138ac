/**
 * Recording export and import of 1,000,000 events against a raw JSON serialise and parse of
 * the same events in the same run (the baseline does no I/O, no validation, no redaction and
 * no compression, so it is a hard bar). Ratios are baseline time / our time: 1.0 = as fast
 * as the bare JSON work, the target is >= 0.8.
 *
 *   export native  file -> redact (defaults) -> gzip -> .wtrace.gz      vs  JSON.stringify of every event
 *   import native  .wtrace.gz -> gunzip -> validate every line -> .jsonl vs JSON.parse of every line
 *   export HAR     file -> parse -> redact -> HAR text -> file          vs  stringify + parse
 *   import HAR     HAR file -> parse -> events -> .jsonl                 vs  stringify + parse
 *
 * `npx tsx test/bench/run.ts recording` (WT_BENCH_EVENTS to change the count).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'
import type { RecordingHeader } from '../../shared/common/recording/format.ts'
import { exportRecording } from '../../shared/node/recording/export.ts'
import { importRecording } from '../../shared/node/recording/import.ts'

export function makeEvents(n: number): { header: RecordingHeader; events: WiretraceEvent[] } {
  const conn = 'c1-bench'
  const spec = { id: conn, url: 'wss://127.0.0.1:9/feed?token=x', transport: 'ws' as const, headers: [['Authorization', 'Bearer abc']] as Array<[string, string]> }
  const header: RecordingHeader = { format: 'wiretrace', version: 1, app: 'bench', created: new Date(0).toISOString(), timeOrigin: 0, env: { os: 'linux', release: '', arch: 'x64', runtime: 'node', host: 'cli' }, connections: [spec], secrets: 'kept' }
  const events: WiretraceEvent[] = new Array(n)
  let ts = 1.795e12
  events[0] = { seq: 0, ts, conn, type: 'conn.start', spec } as WiretraceEvent
  events[1] = { seq: 1, ts, conn, type: 'http.request', method: 'GET', url: spec.url, headers: spec.headers } as WiretraceEvent
  const bin = Buffer.alloc(48, 7).toString('base64')
  for (let i = 2; i < n; i++) {
    // As the engine stamps them: ms since the epoch rounded to the microsecond (clock.ts nowTs).
    ts = Math.round((ts + 0.013) * 1000) / 1000
    const r = i % 100
    if (r < 75) {
      const text = `{"type":"tick","seq":${i},"px":"${(i % 997) / 7}","side":"${i & 1 ? 'buy' : 'sell'}"}`
      events[i] = { seq: i, ts, conn, type: 'ws.message', dir: r < 5 ? 'out' : 'in', opcode: 1, size: text.length, text } as WiretraceEvent
    } else if (r < 95) {
      events[i] = { seq: i, ts, conn, type: 'ws.message', dir: 'in', opcode: 2, size: 48, base64: bin } as WiretraceEvent
    } else if (r < 98) {
      events[i] = { seq: i, ts, conn, type: 'ws.ping', dir: 'out', size: 0, text: '', origin: 'heartbeat' } as WiretraceEvent
    } else {
      events[i] = { seq: i, ts, conn, type: 'stats', intervalMs: 1000, bytesIn: i * 80, bytesOut: i, msgsIn: i, msgsOut: 1, rateIn: 1, rateOut: 1, msgRateIn: 1, msgRateOut: 1, loopDelayMs: 1 } as WiretraceEvent
    }
  }
  return { header, events }
}

/**
 * Every timed phase starts from a collected heap: the phases run one after another in this
 * process, and what one leaves behind (1M event objects, their strings) otherwise lands in
 * the next one's time as garbage collection, by chance of timing (HAR export measured 2.4 s
 * in a fresh process and 2.4-3.5 s here). Baseline and ours get the same treatment.
 */
v8.setFlagsFromString('--expose-gc')
const collect = vm.runInNewContext('gc') as () => void

function time<T>(fn: () => T): [T, number] {
  collect()
  const t = performance.now()
  const r = fn()
  return [r, performance.now() - t]
}
async function timeA<T>(fn: () => Promise<T>): Promise<[T, number]> {
  collect()
  const t = performance.now()
  const r = await fn()
  return [r, performance.now() - t]
}

export async function benchRecording(): Promise<Record<string, unknown>> {
  const n = Number(process.env.WT_BENCH_EVENTS ?? 1_000_000)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-rec-'))
  try {
    const made: { header: RecordingHeader; events: WiretraceEvent[] } | null = makeEvents(n)
    const header = made.header
    const events = made.events
    // Baseline: serialise every event to a JSON line, and parse every line back.
    const [lines, serMs] = time(() => {
      const out: string[] = new Array(events.length)
      for (let i = 0; i < events.length; i++) out[i] = JSON.stringify(events[i])
      return out
    })
    const [, parseMs] = time(() => {
      let c = 0
      for (let i = 0; i < lines.length; i++) c += (JSON.parse(lines[i]!) as { seq: number }).seq & 1
      return c
    })
    const src = path.join(dir, 'src.jsonl')
    fs.writeFileSync(src, JSON.stringify(header) + '\n' + lines.join('\n') + '\n')
    const srcBytes = fs.statSync(src).size
    lines.length = 0
    events.length = 0 // the exporters and importers work from files; free the in-memory copy
    const gz = path.join(dir, 'out.wtrace.gz')
    const [exp, expMs] = await timeA(() => exportRecording(src, { format: 'native', out: gz }))
    const [imp, impMs] = await timeA(() => importRecording(gz, { out: path.join(dir, 'back.jsonl') }))
    const har = path.join(dir, 'out.har')
    const [, harExpMs] = await timeA(() => exportRecording(src, { format: 'har', out: har }))
    const [harImp, harImpMs] = await timeA(() => importRecording(har, { out: path.join(dir, 'back2.jsonl') }))
    if (exp.events !== n || imp.events !== n || harImp.events !== n) throw new Error(`event counts differ: ${exp.events} ${imp.events} ${harImp.events}`)
    const r2 = (x: number): number => Math.round(x * 100) / 100
    return {
      events: n,
      sourceMB: r2(srcBytes / 1e6),
      gzipMB: r2(exp.bytes / 1e6),
      baselineSerialiseMs: Math.round(serMs),
      baselineParseMs: Math.round(parseMs),
      exportNativeMs: Math.round(expMs),
      importNativeMs: Math.round(impMs),
      exportHarMs: Math.round(harExpMs),
      importHarMs: Math.round(harImpMs),
      ratioExportNative: r2(serMs / expMs),
      ratioImportNative: r2(parseMs / impMs),
      ratioExportHar: r2((serMs + parseMs) / harExpMs),
      ratioImportHar: r2((serMs + parseMs) / harImpMs),
      ratioRoundTripNative: r2((serMs + parseMs) / (expMs + impMs)),
      eventsPerSecExportNative: Math.round(n / (expMs / 1000)),
      eventsPerSecImportNative: Math.round(n / (impMs / 1000)),
      target: '>= 0.8',
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
