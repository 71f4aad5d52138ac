/**
 * Export a recording: native compressed (`.wtrace.gz`, the JSON Lines gzipped, every line
 * byte for byte unless redaction changed it), HAR 1.2, or a Markdown summary. Redaction is
 * on by default; the result carries the manifest (what was redacted where, never values).
 * Writes are atomic (atomic.ts).
 */
import zlib from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import type { WiretraceEvent } from '../../common/events/index.ts'
import { Redactor, type RedactionManifest, type RedactRule } from '../../common/recording/redact-rules.ts'
import { isRecordingHeader, type RecordingHeader } from '../../common/recording/format.ts'
import { peekType } from '../../common/recording/native.ts'
import { harChunks } from '../../common/recording/har.ts'
import { toMarkdown } from '../../common/recording/markdown.ts'
import { migrator, type Migrator } from '../../common/recording/migrate.ts'
import { recError, REC_CODES, ioLimits, IssueList, type ConvertIssue, type RecordingIoLimits } from '../../common/recording/errors.ts'
import { AtomicFile, writeFileAtomic } from './atomic.ts'
import { fileChunks, loadRecording, rawLines, sniff } from './files.ts'

export type ExportFormat = 'native' | 'har' | 'md'

export interface ExportOptions {
  format: ExportFormat
  out: string
  /** Default redaction (default true). */
  redact?: boolean
  rules?: Array<string | RedactRule>
  /** gzip level for native (default 6). */
  gzipLevel?: number
  limits?: Partial<RecordingIoLimits>
}

export interface ExportResult {
  out: string
  format: ExportFormat
  bytes: number
  events: number
  manifest: RedactionManifest
  issues: ConvertIssue[]
  issueCount: number
}

export async function exportRecording(file: string, opts: ExportOptions): Promise<ExportResult> {
  const redactor = new Redactor({ enabled: opts.redact !== false, rules: opts.rules ?? [] })
  if (opts.format === 'native') return exportNative(file, opts, redactor)
  const rec = await loadRecording(file, opts.limits)
  const header = redactor.header(rec.header)
  const events: WiretraceEvent[] = redactor.active ? rec.events.map((e) => redactor.event(e)) : rec.events
  const manifest = redactor.manifest()
  const issues = rec.issues.map((i) => ({ code: i.code, message: i.message, line: i.line }))
  let bytes: number
  if (opts.format === 'har') bytes = writeFileAtomic(opts.out, harChunks(header, events, { redaction: manifest }))
  else if (opts.format === 'md') bytes = writeFileAtomic(opts.out, toMarkdown(header, events, { redaction: manifest, source: file.split(/[\\/]/).pop() ?? file }))
  else throw recError('WT_USAGE', `unknown export format "${String(opts.format)}" (native, har, md)`)
  return { out: opts.out, format: opts.format, bytes, events: events.length, manifest, issues, issueCount: rec.issueCount }
}

/**
 * Streams the lines through the redactor into gzip. Lines no rule can touch (by their
 * `type`) are copied without parsing; damaged lines are reported and left out; a
 * truncated last line is reported (WT_RECORDING_TRUNCATED) and dropped.
 */
async function exportNative(file: string, opts: ExportOptions, redactor: Redactor): Promise<ExportResult> {
  const limits = ioLimits(opts.limits)
  const kind = sniff(file)
  if (kind !== 'native' && kind !== 'native-gz') throw recError(REC_CODES.foreign, `${file} is not a Wiretrace recording${kind === 'har' ? ' (it is a HAR file: import it first)' : ''}`, { line: 1, file })
  const issues = new IssueList(limits.maxIssues)
  let events = 0
  let mig: Migrator | null = null
  const NL = Buffer.from('\n')
  async function* produce(): AsyncGenerator<Buffer> {
    const parts: Buffer[] = []
    let size = 0
    const push = (b: Buffer): void => {
      parts.push(b, NL)
      size += b.length + 1
    }
    for await (const batch of rawLines(fileChunks(file, kind === 'native-gz', limits), limits.maxLineBytes)) {
      for (const l of batch) {
        if (l.bytes.length === 0) continue
        if (l.line === 1) {
          let h: unknown
          try {
            h = JSON.parse(l.bytes.toString('utf8'))
          } catch {
            h = null
          }
          if (!isRecordingHeader(h)) throw recError(REC_CODES.foreign, 'line 1 is not a Wiretrace header', { line: 1, file })
          mig = migrator(h)
          const out = JSON.stringify(redactor.header(mig.header))
          push(out === JSON.stringify(h) ? l.bytes : Buffer.from(out))
          continue
        }
        const m = mig!
        let text: string | null = null
        const fast = m.steps.length === 0 && l.complete
        if (fast) {
          // Peek at the type without decoding the whole line.
          text = l.bytes.toString('latin1', 0, Math.min(l.bytes.length, 240))
          const t = peekType(text)
          if (t !== null && !redactor.touches(t)) {
            push(l.bytes)
            events++
            continue
          }
        }
        text = l.bytes.toString('utf8')
        let ev: WiretraceEvent
        try {
          ev = JSON.parse(text) as WiretraceEvent
        } catch (e) {
          if (!l.complete) issues.add(REC_CODES.truncated, 'last line is incomplete (the writer was interrupted); left out', { line: l.line, offset: l.offset })
          else issues.add(REC_CODES.corrupt, `not JSON (${(e as Error).message}); left out`, { line: l.line, offset: l.offset })
          continue
        }
        if (!ev || typeof ev !== 'object' || typeof ev.type !== 'string' || typeof ev.seq !== 'number' || typeof ev.conn !== 'string') {
          issues.add(REC_CODES.corrupt, 'not an event (needs seq, ts, conn, type); left out', { line: l.line, offset: l.offset })
          continue
        }
        const up = m.event(ev)
        const red = redactor.event(up)
        push(red === ev ? l.bytes : Buffer.from(JSON.stringify(red)))
        events++
      }
      if (size >= 1 << 20) {
        yield Buffer.concat(parts, size)
        parts.length = 0
        size = 0
      }
    }
    if (!mig) throw recError(REC_CODES.foreign, `${file} is empty`, { line: 1, file })
    if (size) yield Buffer.concat(parts, size)
  }
  const af = new AtomicFile(opts.out)
  try {
    await pipeline(Readable.from(produce()), zlib.createGzip({ level: opts.gzipLevel ?? 6, chunkSize: 1 << 20 }), af.writable())
    af.commit()
  } catch (e) {
    af.abort()
    throw e
  }
  return { out: opts.out, format: 'native', bytes: af.bytes, events, manifest: redactor.manifest(), issues: issues.items, issueCount: issues.count }
}

/** Redaction preview of a file for the UI (nothing is written). */
export async function previewExport(file: string, opts: { redact?: boolean; rules?: string[]; maxSamples?: number; limits?: Partial<RecordingIoLimits> } = {}) {
  const { previewRedaction } = await import('../../common/recording/redact-rules.ts')
  const rec = await loadRecording(file, opts.limits)
  return previewRedaction(rec.header, rec.events, { enabled: opts.redact !== false, rules: opts.rules ?? [] }, opts.maxSamples ?? 50)
}

export type { RecordingHeader }
