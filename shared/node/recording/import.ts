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
import { harBytesToJsonl, parseHarToJsonl, type HarFlavour, type HarJsonl } from '../../common/recording/har-import.ts'
import { migrator, type Migrator } from '../../common/recording/migrate.ts'
import { toJsonl, type FileKind } from '../../common/recording/native.ts'
import { checkEventLine, type LineCheck } from '../../common/recording/line-check.ts'
import { recError, REC_CODES, ioLimits, IssueList, type ConvertIssue, type RecordingIoLimits } from '../../common/recording/errors.ts'
import { AtomicFile, writeFileAtomic } from './atomic.ts'
import { fileChunks, lineChunks, sniff, statOrThrow } from './files.ts'

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
    const r = readHar(file, limits)
    const bytes = writeFileAtomic(opts.out, r.chunks())
    return { out: opts.out, kind, flavour: r.flavour, events: r.events, bytes, steps: r.steps, skipped: r.skipped, issues: r.issues, issueCount: r.issueCount }
  }
  return importNative(file, kind, opts.out, limits)
}

/**
 * A HAR file as JSON Lines: from its bytes, list by list (harBytesToJsonl), when it is a
 * Wiretrace HAR as Wiretrace writes it; otherwise, or when that gives up, from the whole text
 * (parseHarToJsonl), which gives the same result or the coded error.
 */
function readHar(file: string, limits: RecordingIoLimits): HarJsonl {
  let bytes: Buffer | null = fs.readFileSync(file)
  const r = harBytesToJsonl(bytes, limits)
  if (r) return r
  // Decoded once from the bytes: the same text as readFileSync(file, 'utf8'), in about half the time.
  const text = bytes.toString('utf8')
  bytes = null
  return parseHarToJsonl(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, limits)
}

const NL = Buffer.from('\n')

/**
 * Validates and migrates chunk by chunk. Current-version lines are checked in place
 * (line-check.ts, no objects built) and runs of good lines are written as they came (bytes
 * untouched); other lines are parsed, migrated when older, or reported and left out.
 */
async function importNative(file: string, kind: FileKind, out: string, limits: RecordingIoLimits): Promise<ImportResult> {
  const issues = new IssueList(limits.maxIssues)
  const af = new AtomicFile(out)
  let mig: Migrator | null = null
  let events = 0
  let lastSeq = -Infinity
  let line = 0
  try {
    const chk: LineCheck = { seq: 0 }
    for await (const c of lineChunks(fileChunks(file, kind === 'native-gz', limits), limits.maxLineBytes)) {
      const buf = c.buf
      const parts: Buffer[] = []
      let copyFrom = 0
      let bs = 0
      while (bs < buf.length) {
        let be = buf.indexOf(10, bs)
        const complete = be >= 0
        if (!complete) be = buf.length
        line++
        const lineNo = line
        if (be === bs) {
          bs = be + 1
          continue
        }
        // Fast path: a current-version event line checked in place, no objects built.
        if (complete && mig !== null && mig.steps.length === 0 && checkEventLine(buf, bs, be, chk)) {
          if (!(chk.seq > lastSeq)) issues.add(REC_CODES.corrupt, `seq ${chk.seq} does not increase (previous ${lastSeq}); kept`, { line: lineNo, offset: c.offset + bs })
          lastSeq = chk.seq
          if (++events > limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, { line: lineNo, file })
          bs = be + 1
          continue
        }
        let v: unknown
        let bad: string | null = null
        try {
          v = JSON.parse(buf.toString('utf8', bs, be))
        } catch (e) {
          if (lineNo === 1) throw recError(REC_CODES.foreign, `line 1 is not JSON: ${(e as Error).message}`, { line: 1, offset: 0, file })
          bad = !complete || c.partial ? 'truncated' : `not JSON (${(e as Error).message})`
        }
        let replace: Buffer | null = null
        if (bad === null && lineNo === 1) {
          if (!isRecordingHeader(v)) throw recError(REC_CODES.foreign, 'line 1 is not a Wiretrace header ({"format":"wiretrace",...})', { line: 1, offset: 0, file })
          mig = migrator(v)
          if (mig.steps.length) replace = Buffer.from(JSON.stringify(mig.header))
        } else if (bad === null) {
          const ev = v as Record<string, unknown>
          if (!ev || typeof ev !== 'object' || Array.isArray(ev) || typeof ev.type !== 'string' || typeof ev.seq !== 'number' || typeof ev.ts !== 'number' || typeof ev.conn !== 'string') {
            bad = 'not an event (needs seq, ts, conn and type)'
          } else {
            if (!(ev.seq > lastSeq)) issues.add(REC_CODES.corrupt, `seq ${ev.seq} does not increase (previous ${lastSeq}); kept`, { line: lineNo, offset: c.offset + bs })
            lastSeq = ev.seq
            if (++events > limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, { line: lineNo, file })
            if (mig!.steps.length) replace = Buffer.from(JSON.stringify(mig!.event(ev as unknown as WiretraceEvent)))
          }
        }
        if (bad !== null) {
          if (bad === 'truncated') issues.add(REC_CODES.truncated, 'last line is incomplete (the writer was interrupted); left out', { line: lineNo, offset: c.offset + bs })
          else issues.add(REC_CODES.corrupt, `${bad}; left out`, { line: lineNo, offset: c.offset + bs })
          parts.push(buf.subarray(copyFrom, bs))
          copyFrom = complete ? be + 1 : be
        } else if (replace || !complete) {
          parts.push(buf.subarray(copyFrom, bs), replace ?? buf.subarray(bs, be), NL)
          copyFrom = complete ? be + 1 : be
        }
        bs = be + 1
      }
      if (copyFrom < buf.length) parts.push(buf.subarray(copyFrom))
      af.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
    }
    if (!mig) throw recError(REC_CODES.foreign, `${file} has no header line`, { line: 1, file })
    af.commit()
  } catch (e) {
    af.abort()
    throw e
  }
  const m = mig as Migrator
  return { out, kind, events, bytes: af.bytes, steps: m.steps, skipped: 0, issues: issues.items, issueCount: issues.count }
}

export { toJsonl }
