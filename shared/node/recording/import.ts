/**
 * Import a file into a native recording (JSON Lines): a native recording of any older
 * format version (one-step migrations), a `.wtrace.gz` export, or a HAR file from
 * Wiretrace (exact), Chrome DevTools or HTTP Toolkit. The output is validated line by line;
 * damaged lines are reported with their line number and left out, and everything else is
 * kept. Foreign files fail with WT_RECORDING_HEADER naming what the file starts with.
 */
import fs from 'node:fs'
import type { WiretraceEvent } from '../../common/events/index.ts'
import { isRecordingHeader } from '../../common/recording/format.ts'
import { parseHarText, type HarFlavour } from '../../common/recording/har.ts'
import { migrator, type Migrator } from '../../common/recording/migrate.ts'
import { toJsonl, type FileKind } from '../../common/recording/native.ts'
import { recError, REC_CODES, ioLimits, IssueList, type ConvertIssue, type RecordingIoLimits } from '../../common/recording/errors.ts'
import { AtomicFile, writeFileAtomic } from './atomic.ts'
import { fileChunks, rawLines, sniff, statOrThrow } from './files.ts'

export interface ImportOptions {
  out: string
  limits?: Partial<RecordingIoLimits>
}

export interface ImportResult {
  out: string
  kind: FileKind
  flavour?: HarFlavour
  events: number
  bytes: number
  steps: string[]
  skipped: number
  issues: ConvertIssue[]
  issueCount: number
}

function describeStart(file: string): string {
  const fd = fs.openSync(file, 'r')
  try {
    const buf = Buffer.alloc(16)
    const n = fs.readSync(fd, buf, 0, 16, 0)
    return buf.subarray(0, n).toString('hex').replace(/(..)/g, '$1 ').trim()
  } finally {
    fs.closeSync(fd)
  }
}

export async function importRecording(file: string, opts: ImportOptions): Promise<ImportResult> {
  const limits = ioLimits(opts.limits)
  const kind = sniff(file)
  if (kind === 'empty') throw recError(REC_CODES.foreign, `${file} is empty`, { offset: 0, file })
  if (kind === 'unknown') {
    throw recError(REC_CODES.foreign, `${file} is neither a Wiretrace recording nor a HAR file (it starts with ${describeStart(file)})`, { offset: 0, file })
  }
  if (kind === 'har') {
    const st = statOrThrow(file)
    if (st.size > limits.maxDocumentBytes) {
      throw recError(REC_CODES.tooLarge, `the HAR file is ${st.size} bytes, more than ${limits.maxDocumentBytes} (maxDocumentBytes)`, { offset: 0, file })
    }
    const text = fs.readFileSync(file, 'utf8')
    const r = parseHarText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, limits)
    const bytes = writeFileAtomic(opts.out, jsonlChunks(r.header, r.events))
    return { out: opts.out, kind, flavour: r.flavour, events: r.events.length, bytes, steps: r.steps, skipped: r.skipped, issues: r.issues, issueCount: r.issueCount }
  }
  return importNative(file, kind, opts.out, limits)
}

function* jsonlChunks(header: object, events: WiretraceEvent[]): Generator<string> {
  let s = JSON.stringify(header) + '\n'
  for (const ev of events) {
    s += JSON.stringify(ev) + '\n'
    if (s.length >= 1 << 20) {
      yield s
      s = ''
    }
  }
  yield s
}

const NL = Buffer.from('\n')

/** Validates and migrates line by line; lines already in the current version are copied byte for byte. */
async function importNative(file: string, kind: FileKind, out: string, limits: RecordingIoLimits): Promise<ImportResult> {
  const issues = new IssueList(limits.maxIssues)
  const af = new AtomicFile(out)
  let mig: Migrator | null = null
  let events = 0
  let lastSeq = -Infinity
  try {
    const parts: Buffer[] = []
    let size = 0
    for await (const batch of rawLines(fileChunks(file, kind === 'native-gz', limits), limits.maxLineBytes)) {
      for (const l of batch) {
        if (l.bytes.length === 0) continue
        let v: unknown
        try {
          v = JSON.parse(l.bytes.toString('utf8'))
        } catch (e) {
          if (l.line === 1) throw recError(REC_CODES.foreign, `line 1 is not JSON: ${(e as Error).message}`, { line: 1, offset: 0, file })
          if (!l.complete) issues.add(REC_CODES.truncated, 'last line is incomplete (the writer was interrupted); left out', { line: l.line, offset: l.offset })
          else issues.add(REC_CODES.corrupt, `not JSON (${(e as Error).message}); left out`, { line: l.line, offset: l.offset })
          continue
        }
        if (l.line === 1) {
          if (!isRecordingHeader(v)) throw recError(REC_CODES.foreign, 'line 1 is not a Wiretrace header ({"format":"wiretrace",...})', { line: 1, offset: 0, file })
          mig = migrator(v)
          if (mig.steps.length) {
            const t = Buffer.from(JSON.stringify(mig.header))
            parts.push(t, NL)
            size += t.length + 1
          } else {
            parts.push(l.bytes, NL)
            size += l.bytes.length + 1
          }
          continue
        }
        const ev = v as Record<string, unknown>
        if (!ev || typeof ev !== 'object' || Array.isArray(ev) || typeof ev.type !== 'string' || typeof ev.seq !== 'number' || typeof ev.ts !== 'number' || typeof ev.conn !== 'string') {
          issues.add(REC_CODES.corrupt, 'not an event (needs seq, ts, conn and type); left out', { line: l.line, offset: l.offset })
          continue
        }
        if (!(ev.seq > lastSeq)) issues.add(REC_CODES.corrupt, `seq ${ev.seq} does not increase (previous ${lastSeq}); kept`, { line: l.line, offset: l.offset })
        lastSeq = ev.seq
        if (++events > limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, { line: l.line, file })
        if (mig!.steps.length) {
          const t = Buffer.from(JSON.stringify(mig!.event(ev as unknown as WiretraceEvent)))
          parts.push(t, NL)
          size += t.length + 1
        } else {
          parts.push(l.bytes, NL)
          size += l.bytes.length + 1
        }
      }
      if (size >= 1 << 20) {
        af.write(Buffer.concat(parts, size))
        parts.length = 0
        size = 0
      }
    }
    if (!mig) throw recError(REC_CODES.foreign, `${file} has no header line`, { line: 1, file })
    if (size) af.write(Buffer.concat(parts, size))
    af.commit()
  } catch (e) {
    af.abort()
    throw e
  }
  const m = mig as Migrator
  return { out, kind, events, bytes: af.bytes, steps: m.steps, skipped: 0, issues: issues.items, issueCount: issues.count }
}

export { toJsonl }
