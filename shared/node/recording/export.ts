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
import { RecordingReader } from '../../common/recording/reader.ts'
import { HarStream } from '../../common/recording/har.ts'
import { toMarkdown } from '../../common/recording/markdown.ts'
import { migrator, type Migrator } from '../../common/recording/migrate.ts'
import { recError, REC_CODES, ioLimits, IssueList, type ConvertIssue, type RecordingIoLimits } from '../../common/recording/errors.ts'
import { AtomicFile, writeFileAtomic } from './atomic.ts'
import { fileChunks, lineChunks, loadRecording, readWholeLines, sniff } from './files.ts'

export type ExportFormat = 'native' | 'har' | 'md'

export interface ExportOptions {
  format: ExportFormat
  out: string
  /** Default redaction (default true). */
  redact?: boolean
  rules?: Array<string | RedactRule>
  /** gzip level for native (default 1: 2.5x faster than 6 for ~10% more bytes). */
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
  if (opts.format === 'har') return exportHar(file, opts, redactor)
  const rec = await loadRecording(file, opts.limits)
  const header = redactor.header(rec.header)
  const events: WiretraceEvent[] = redactor.active ? rec.events.map((e) => redactor.event(e)) : rec.events
  const manifest = redactor.manifest()
  const issues = rec.issues.map((i) => ({ code: i.code, message: i.message, line: i.line }))
  let bytes: number
  if (opts.format === 'md') bytes = writeFileAtomic(opts.out, toMarkdown(header, events, { redaction: manifest, source: file.split(/[\\/]/).pop() ?? file }))
  else throw recError('WT_USAGE', `unknown export format "${String(opts.format)}" (native, har, md)`)
  return { out: opts.out, format: opts.format, bytes, events: events.length, manifest, issues, issueCount: rec.issueCount }
}

/**
 * HAR: the file is read as loadRecording (files.ts) reads it (same reader, limits, issues
 * and errors), but each event goes through migration, redaction and into the HAR text as it
 * is read, so no event object is kept (HarStream keeps only the text). Nothing is written
 * until the whole file is read. A step that fails (migration, redaction) is remembered and
 * thrown after the read, the first in the order the whole-file steps ran one after another:
 * an error in reading first, then migration (the header, then each event), then redaction
 * (the header, then each event).
 */
async function exportHar(file: string, opts: ExportOptions, redactor: Redactor): Promise<ExportResult> {
  const limits = ioLimits(opts.limits)
  const kind = sniff(file)
  if (kind === 'empty') throw recError(REC_CODES.foreign, `${file} is empty`, { line: 1, file })
  if (kind !== 'native' && kind !== 'native-gz') {
    throw recError(REC_CODES.foreign, `${file} is not a Wiretrace recording${kind === 'har' ? ' (it is a HAR file: import it first)' : ''}`, { line: 1, file })
  }
  const reader = new RecordingReader({ maxLineBytes: limits.maxLineBytes, maxIssues: limits.maxIssues })
  const har = new HarStream()
  let count = 0
  let started = false
  let mig: Migrator | null = null
  let header: RecordingHeader | null = null
  /** Events read before the header line (only in a damaged file), held until it comes. */
  let early: WiretraceEvent[] = []
  // Stages in the order they ran over the whole recording: 0 migrator, 1 migrate an event,
  // 2 redact the header, 3 redact an event. The first failure of the earliest stage wins.
  let failedStage = Infinity
  let failure: unknown = null
  const fail = (stage: number, error: unknown): void => {
    if (stage < failedStage) {
      failedStage = stage
      failure = error
    }
  }
  const start = (h: RecordingHeader): void => {
    try {
      mig = migrator(h)
    } catch (e) {
      fail(0, e)
      return
    }
    try {
      header = redactor.header(mig.header)
    } catch (e) {
      fail(2, e)
    }
  }
  const take = (ev0: WiretraceEvent): void => {
    if (!mig || failedStage <= 1) return
    let ev = ev0
    if (mig.steps.length) {
      try {
        ev = mig.event(ev)
      } catch (e) {
        fail(1, e)
        return
      }
    }
    if (failedStage <= 3) return
    if (redactor.active) {
      try {
        ev = redactor.event(ev)
      } catch (e) {
        fail(3, e)
        return
      }
    }
    har.add(ev)
  }
  const dispatch = (evs: WiretraceEvent[]): void => {
    if (reader.header && !started) {
      started = true
      start(reader.header)
      for (let i = 0; i < early.length; i++) take(early[i]!)
      early = []
    }
    if (!reader.header) for (let i = 0; i < evs.length; i++) early.push(evs[i]!)
    else for (let i = 0; i < evs.length; i++) take(evs[i]!)
  }
  // Whole lines to the reader, as loadRecording feeds it.
  await readWholeLines(file, kind === 'native-gz', limits, reader, (evs) => {
    count += evs.length
    dispatch(evs)
  })
  const last = reader.end()
  count += last.length
  dispatch(last)
  if (!reader.header) {
    const first = reader.issues[0]
    throw recError(REC_CODES.foreign, first ? first.message : 'no Wiretrace header on line 1', { line: 1, file })
  }
  if (failedStage !== Infinity || !header) throw failure
  const manifest = redactor.manifest()
  const bytes = writeFileAtomic(opts.out, har.chunks(header, { redaction: manifest }))
  const issues = reader.issues.map((i) => ({ code: i.code, message: i.message, line: i.line }))
  return { out: opts.out, format: 'har', bytes, events: count, manifest, issues, issueCount: reader.issueCount }
}

/**
 * Streams the lines through the redactor into gzip. Lines no rule can touch (by their
 * `type`, read from the bytes) are copied in whole runs without decoding; damaged lines are
 * reported and left out; a truncated last line is reported (WT_RECORDING_TRUNCATED) and dropped.
 */
const TYPE_KEY = Buffer.from('"type":"')
const NL = Buffer.from('\n')

async function exportNative(file: string, opts: ExportOptions, redactor: Redactor): Promise<ExportResult> {
  const limits = ioLimits(opts.limits)
  const kind = sniff(file)
  if (kind !== 'native' && kind !== 'native-gz') throw recError(REC_CODES.foreign, `${file} is not a Wiretrace recording${kind === 'har' ? ' (it is a HAR file: import it first)' : ''}`, { line: 1, file })
  const issues = new IssueList(limits.maxIssues)
  let events = 0
  let mig: Migrator | null = null
  let line = 0
  const touched = new Map<string, boolean>()
  const touches = (t: string): boolean => {
    let v = touched.get(t)
    if (v === undefined) {
      v = redactor.touches(t)
      if (touched.size < 1000) touched.set(t, v)
    }
    return v
  }
  async function* produce(): AsyncGenerator<Buffer> {
    for await (const c of lineChunks(fileChunks(file, kind === 'native-gz', limits), limits.maxLineBytes)) {
      const buf = c.buf
      const out: Buffer[] = []
      let copyFrom = 0
      let s = 0
      while (s < buf.length) {
        let e = buf.indexOf(10, s)
        const complete = e >= 0
        if (!complete) e = buf.length
        line++
        const lineNo = line
        const next = e + 1
        if (e === s) {
          s = next
          continue
        }
        if (!mig) {
          let h: unknown
          try {
            h = JSON.parse(buf.toString('utf8', s, e))
          } catch {
            h = null
          }
          if (!isRecordingHeader(h)) throw recError(REC_CODES.foreign, 'line 1 is not a Wiretrace header', { line: 1, file })
          mig = migrator(h)
          const text = JSON.stringify(redactor.header(mig.header))
          if (text !== JSON.stringify(h)) {
            out.push(buf.subarray(copyFrom, s), Buffer.from(text), NL)
            copyFrom = complete ? next : e
          }
          s = next
          continue
        }
        if (complete && mig.steps.length === 0) {
          const q = buf.indexOf(TYPE_KEY, s)
          // The event's own `type` (top level: no "{" between the line start and the key).
          const brace = q >= 0 ? buf.indexOf(0x7b, s + 1) : -1
          if (q >= 0 && q < e && q - s < 240 && (brace < 0 || brace > q)) {
            const qe = buf.indexOf(34, q + 8)
            if (qe > 0 && qe < e && !touches(buf.toString('latin1', q + 8, qe))) {
              events++
              s = next
              continue
            }
          }
        }
        // Slow path: decode, check, migrate, redact.
        let ev: WiretraceEvent | null = null
        try {
          ev = JSON.parse(buf.toString('utf8', s, e)) as WiretraceEvent
        } catch (err) {
          if (!complete || c.partial) issues.add(REC_CODES.truncated, 'last line is incomplete (the writer was interrupted); left out', { line: lineNo, offset: c.offset + s })
          else issues.add(REC_CODES.corrupt, `not JSON (${(err as Error).message}); left out`, { line: lineNo, offset: c.offset + s })
        }
        if (ev !== null && (!ev || typeof ev !== 'object' || typeof ev.type !== 'string' || typeof ev.seq !== 'number' || typeof ev.conn !== 'string')) {
          issues.add(REC_CODES.corrupt, 'not an event (needs seq, ts, conn, type); left out', { line: lineNo, offset: c.offset + s })
          ev = null
        }
        if (ev === null) {
          out.push(buf.subarray(copyFrom, s))
          copyFrom = complete ? next : e
        } else {
          events++
          const red = redactor.event(mig.event(ev))
          if (red !== ev || !complete) {
            out.push(buf.subarray(copyFrom, s), Buffer.from(JSON.stringify(red)), NL)
            copyFrom = complete ? next : e
          }
        }
        s = next
      }
      if (copyFrom < buf.length) out.push(buf.subarray(copyFrom))
      yield out.length === 1 ? out[0]! : Buffer.concat(out)
    }
    if (!mig) throw recError(REC_CODES.foreign, `${file} is empty`, { line: 1, file })
  }
  const af = new AtomicFile(opts.out)
  try {
    await pipeline(Readable.from(produce()), zlib.createGzip({ level: opts.gzipLevel ?? 1, chunkSize: 1 << 20 }), af.writable())
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
