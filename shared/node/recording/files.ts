/**
 * Reading recording files (plain JSON Lines or `.wtrace.gz`) as raw lines or as events,
 * streaming, with the limits of shared/common/recording/errors.ts: a gzip bomb stops at
 * maxInflatedBytes, an overlong line at maxLineBytes, and every problem names its line.
 */
import fs from 'node:fs'
import zlib from 'node:zlib'
import type { WiretraceEvent } from '../../common/events/index.ts'
import type { RecordingHeader } from '../../common/recording/format.ts'
import { RecordingReader, type ReaderIssue } from '../../common/recording/reader.ts'
import { detectKind, type FileKind } from '../../common/recording/native.ts'
import { migrator } from '../../common/recording/migrate.ts'
import { recError, REC_CODES, ioLimits, type RecordingIoLimits } from '../../common/recording/errors.ts'
import { WiretraceError } from '../../common/errors/index.ts'

export function statOrThrow(file: string): fs.Stats {
  try {
    const st = fs.statSync(file)
    if (!st.isFile()) throw new Error('not a regular file')
    return st
  } catch (e) {
    throw recError(REC_CODES.notFound, `cannot open ${file}: ${(e as Error).message}`, { file })
  }
}

/** The kind of a file from its first 4 KiB. */
export function sniff(file: string): FileKind {
  statOrThrow(file)
  const fd = fs.openSync(file, 'r')
  try {
    const buf = Buffer.alloc(4096)
    const n = fs.readSync(fd, buf, 0, 4096, 0)
    return detectKind(buf.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Decompressed (when gzip) byte chunks of a file. Throws WT_RECORDING_LINE naming the
 * compressed offset for corrupt gzip, WT_RECORDING_TRUNCATED for a gzip stream cut short,
 * WT_RECORDING_TOO_LARGE past maxInflatedBytes.
 */
export async function* fileChunks(file: string, gz: boolean, limitsIn?: Partial<RecordingIoLimits>): AsyncGenerator<Buffer> {
  const limits = ioLimits(limitsIn)
  statOrThrow(file)
  const src = fs.createReadStream(file, { highWaterMark: 1 << 20 })
  let read = 0
  src.on('data', (c) => (read += c.length))
  if (!gz) {
    for await (const c of src) yield c as Buffer
    return
  }
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 })
  src.on('error', (e) => gunzip.destroy(e))
  src.pipe(gunzip)
  let out = 0
  try {
    for await (const c of gunzip) {
      out += (c as Buffer).length
      if (out > limits.maxInflatedBytes) {
        throw recError(REC_CODES.tooLarge, `decompressed size passes ${limits.maxInflatedBytes} bytes (maxInflatedBytes); not a plausible recording`, { offset: read, file })
      }
      yield c as Buffer
    }
  } catch (e) {
    if (e instanceof WiretraceError) throw e
    const err = e as NodeJS.ErrnoException
    if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
      throw recError(REC_CODES.truncated, `the compressed file ends early (${read} bytes read): it was cut short`, { offset: read, file })
    }
    throw recError(REC_CODES.corrupt, `the compressed data is corrupt (${err.code ?? 'zlib'}: ${err.message}) near compressed byte ${read}`, { offset: read, file })
  } finally {
    src.destroy()
  }
}

export interface RawLine {
  /** Bytes of the line without its newline. */
  bytes: Buffer
  line: number
  /** Byte offset of the line's start in the (decompressed) stream. */
  offset: number
  /** False for a last line with no newline. */
  complete: boolean
}

/** Raw lines of a (decompressed) stream; an overlong line throws WT_RECORDING_TOO_LARGE naming it. */
export async function* rawLines(chunks: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<RawLine[]> {
  let pending: Buffer[] = []
  let pendingLen = 0
  let line = 0
  let offset = 0
  for await (const chunk of chunks) {
    const batch: RawLine[] = []
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(10, start)
      if (nl === -1) break
      let bytes = chunk.subarray(start, nl)
      if (pendingLen) {
        pending.push(bytes)
        bytes = Buffer.concat(pending, pendingLen + bytes.length)
        pending = []
        pendingLen = 0
      }
      line++
      if (bytes.length > maxLineBytes) throw recError(REC_CODES.tooLarge, `line is ${bytes.length} bytes, more than ${maxLineBytes} (maxLineBytes)`, { line, offset })
      batch.push({ bytes, line, offset, complete: true })
      offset += bytes.length + 1
      start = nl + 1
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start)
      pendingLen += rest.length
      if (pendingLen > maxLineBytes) throw recError(REC_CODES.tooLarge, `line is longer than ${maxLineBytes} bytes (maxLineBytes)`, { line: line + 1, offset })
      pending.push(Buffer.from(rest))
    }
    if (batch.length) yield batch
  }
  if (pendingLen) yield [{ bytes: Buffer.concat(pending, pendingLen), line: line + 1, offset, complete: false }]
}

export interface LoadedRecording {
  kind: FileKind
  header: RecordingHeader
  events: WiretraceEvent[]
  issues: ReaderIssue[]
  issueCount: number
  /** Migration steps applied (older format versions). */
  steps: string[]
}

/**
 * Reads a native recording (plain or gzip) into memory through the sans-IO reader,
 * upgrading older versions. Throws a coded error when there is no usable header;
 * damaged lines become issues and everything readable is returned.
 */
export async function loadRecording(file: string, limitsIn?: Partial<RecordingIoLimits>): Promise<LoadedRecording> {
  const limits = ioLimits(limitsIn)
  const kind = sniff(file)
  if (kind === 'empty') throw recError(REC_CODES.foreign, `${file} is empty`, { line: 1, file })
  if (kind !== 'native' && kind !== 'native-gz') {
    throw recError(REC_CODES.foreign, `${file} is not a Wiretrace recording${kind === 'har' ? ' (it is a HAR file: import it first)' : ''}`, { line: 1, file })
  }
  const reader = new RecordingReader({ maxLineBytes: limits.maxLineBytes, maxIssues: limits.maxIssues })
  const events: WiretraceEvent[] = []
  for await (const chunk of fileChunks(file, kind === 'native-gz', limits)) {
    const evs = reader.push(chunk)
    if (events.length + evs.length > limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, { line: reader.line, file })
    for (let i = 0; i < evs.length; i++) events.push(evs[i]!)
  }
  for (const e of reader.end()) events.push(e)
  if (!reader.header) {
    const first = reader.issues[0]
    throw recError(REC_CODES.foreign, first ? first.message : 'no Wiretrace header on line 1', { line: 1, file })
  }
  const m = migrator(reader.header)
  const out = m.steps.length ? events.map(m.event) : events
  return { kind, header: m.header, events: out, issues: reader.issues, issueCount: reader.issueCount, steps: m.steps }
}
