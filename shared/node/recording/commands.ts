/**
 * The recording commands as functions the CLI (shared/node/cli) calls: each returns the text
 * to print and the exit status, and throws only coded WiretraceErrors.
 *
 *   wiretrace export FILE --format har|native|md [--no-redact] [--redact-rule RULE] -o OUT
 *   wiretrace import FILE -o OUT
 *   wiretrace replay FILE [--target URL] [--proxy URL] [--as-fast]
 *   wiretrace diff A B        exit 0 same path, 1 diverged, 5 unreadable
 */
import path from 'node:path'
import { EXIT } from '../../common/errors/index.ts'
import { diffRecordings, renderDiff, type RecordingDiff } from '../../common/recording/diff.ts'
import { recError } from '../../common/recording/errors.ts'
import { exportRecording, type ExportFormat, type ExportResult } from './export.ts'
import { importRecording, type ImportResult } from './import.ts'
import { replayRecording, type ReplayResult } from './replay.ts'
import { loadRecording } from './files.ts'
import type { Engine } from '../engine/engine.ts'
import type { NetworkProfile } from '../../common/spec/index.ts'

export interface CommandResult<T> {
  text: string
  exitCode: number
  result: T
}

function issuesText(issues: Array<{ code: string; message: string; line?: number; offset?: number; at?: string }>, count: number): string {
  if (!count) return ''
  const lines = issues.map((i) => `  ${i.code}${i.line !== undefined ? ` line ${i.line}` : ''}${i.offset !== undefined && i.line === undefined ? ` offset ${i.offset}` : ''}${i.at ? ` at ${i.at}` : ''}: ${i.message}`)
  if (count > issues.length) lines.push(`  … and ${count - issues.length} more`)
  return `${count} problem(s), everything else was kept:\n${lines.join('\n')}\n`
}

export function defaultExportName(file: string, format: ExportFormat): string {
  const base = file.replace(/(\.wtrace\.gz|\.jsonl|\.gz|\.har)$/i, '')
  return base + (format === 'native' ? '.wtrace.gz' : format === 'har' ? '.har' : '.md')
}

export async function exportCommand(file: string, opts: { format: 'har' | 'native' | 'md'; redact?: boolean; rules?: string[]; out?: string }): Promise<CommandResult<ExportResult>> {
  if (!['har', 'native', 'md'].includes(opts.format)) throw recError('WT_USAGE', `--format must be har, native or md, got "${String(opts.format)}"`)
  const out = opts.out ?? defaultExportName(file, opts.format)
  if (path.resolve(out) === path.resolve(file)) throw recError('WT_USAGE', 'the output would replace the recording; choose another -o')
  const r = await exportRecording(file, { format: opts.format, out, redact: opts.redact !== false, rules: opts.rules ?? [] })
  const m = r.manifest
  let text = `wrote ${r.out} (${r.format}, ${r.events} events, ${r.bytes} bytes)\n`
  if (!m.redacted) text += 'redaction: off (--no-redact): secrets are in the file\n'
  else {
    text += `redaction: ${m.events} event(s) changed${m.rules.length ? `; rules ${m.rules.join(', ')}` : ''}\n`
    for (const e of m.entries.slice(0, 30)) text += `  ${e.count} x ${e.where} (${e.rule})\n`
    if (m.entries.length > 30) text += `  … ${m.entries.length - 30} more places\n`
    if (m.unscanned) text += `  ${m.unscanned} payload(s) were not JSON (or too deep) for the JSON rules\n`
  }
  text += issuesText(r.issues, r.issueCount)
  return { text, exitCode: EXIT.OK, result: r }
}

export async function importCommand(file: string, opts: { out?: string }): Promise<CommandResult<ImportResult>> {
  const out = opts.out ?? file.replace(/(\.wtrace\.gz|\.har|\.jsonl|\.json|\.gz)$/i, '') + '.imported.jsonl'
  if (path.resolve(out) === path.resolve(file)) throw recError('WT_USAGE', 'the output would replace the input; choose another -o')
  const r = await importRecording(file, { out })
  let text = `wrote ${r.out}: ${r.events} events from ${r.kind}${r.flavour ? ` (${r.flavour})` : ''}${r.steps.length ? `, migrated ${r.steps.join(', ')}` : ''}\n`
  if (r.skipped) text += `${r.skipped} HAR entr${r.skipped === 1 ? 'y' : 'ies'} without a WebSocket or event stream left out\n`
  text += issuesText(r.issues, r.issueCount)
  return { text, exitCode: EXIT.OK, result: r }
}

export async function replayCommand(file: string, opts: { target?: string; proxy?: string; network?: NetworkProfile; asFast?: boolean; out?: string; engine?: Engine }): Promise<CommandResult<ReplayResult>> {
  const r = await replayRecording(file, opts)
  let text = `replayed ${file} -> ${r.recording}: ${r.opened ? 'opened' : 'did not open'}, sent ${r.sent}, ended: ${r.end.reason} (exit ${r.end.exitCode})\n`
  for (const w of r.warnings) text += `  warning: ${w}\n`
  return { text, exitCode: r.end.exitCode, result: r }
}

export async function diffCommand(a: string, b: string, opts: { conn?: string } = {}): Promise<CommandResult<RecordingDiff>> {
  const [ra, rb] = await Promise.all([loadRecording(a), loadRecording(b)])
  const d = diffRecordings({ label: path.basename(a), header: ra.header, events: ra.events, ...(opts.conn ? { conn: opts.conn } : {}) }, { label: path.basename(b), header: rb.header, events: rb.events, ...(opts.conn ? { conn: opts.conn } : {}) })
  let text = renderDiff(d)
  if (ra.issueCount) text += `A: ${ra.issueCount} damaged line(s) skipped (first: line ${ra.issues[0]?.line}: ${ra.issues[0]?.message})\n`
  if (rb.issueCount) text += `B: ${rb.issueCount} damaged line(s) skipped (first: line ${rb.issues[0]?.line}: ${rb.issues[0]?.message})\n`
  return { text, exitCode: d.samePath ? EXIT.OK : EXIT.CONNECTION, result: d }
}

export { scanRecordings, recoverRecording, inspectForRecovery } from './recover.ts'
export { previewExport } from './export.ts'
export { cleanStaleTemps } from './atomic.ts'
