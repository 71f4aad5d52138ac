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

/**
 * Feeds a recording file (plain or gzip) to `reader` in whole lines (so the reader never joins
 * pieces of a line across chunks) and hands each run of events to `take`, stopping with a coded
 * error past maxEvents or on a line longer than maxLineBytes. The caller calls reader.end().
 */
export async function readWholeLines(file: string, gz: boolean, limits: RecordingIoLimits, reader: RecordingReader, take: (evs: WiretraceEvent[]) => void): Promise<void> {
  let count = 0
  let carry: Buffer | null = null
  const feed = (buf: Buffer): void => {
    const evs = reader.push(buf)
    if (count + evs.length > limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, { line: reader.line, file })
    count += evs.length
    take(evs)
  }
  for await (const chunk of fileChunks(file, gz, limits)) {
    const nl = chunk.lastIndexOf(10)
    if (nl < 0) {
      carry = carry ? Buffer.concat([carry, chunk]) : chunk
      if (carry.length > limits.maxLineBytes) throw recError(REC_CODES.tooLarge, `a line is longer than ${limits.maxLineBytes} bytes (maxLineBytes)`, { line: reader.line + 1, file })
      continue
    }
    feed(carry ? Buffer.concat([carry, chunk.subarray(0, nl + 1)]) : chunk.subarray(0, nl + 1))
    carry = nl + 1 < chunk.length ? Buffer.from(chunk.subarray(nl + 1)) : null
  }
  if (carry) feed(carry)
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
  await readWholeLines(file, kind === 'native-gz', limits, reader, (evs) => {
    for (let i = 0; i < evs.length; i++) events.push(evs[i]!)
  })
  for (const e of reader.end()) events.push(e)
  if (!reader.header) {
    const first = reader.issues[0]
    throw recError(REC_CODES.foreign, first ? first.message : 'no Wiretrace header on line 1', { line: 1, file })
  }
  const m = migrator(reader.header)
  const out = m.steps.length ? events.map(m.event) : events
  return { kind, header: m.header, events: out, issues: reader.issues, issueCount: reader.issueCount, steps: m.steps }
}

export interface LineChunk {
  /** Whole lines (each ending in "\n"), or the final piece without a newline when `partial`. */
  buf: Buffer
  /** Byte offset of `buf` in the (decompressed) stream. */
  offset: number
  partial: boolean
}

/**
 * Line-aligned chunks of a (decompressed) stream: no per-line objects, so the hot loops can
 * scan bytes and copy whole runs of untouched lines. A line longer than maxLineBytes throws
 * WT_RECORDING_TOO_LARGE naming its line.
 */
export async function* lineChunks(chunks: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<LineChunk> {
  let carry: Buffer | null = null
  let offset = 0
  for await (const chunk of chunks) {
    const nl = chunk.lastIndexOf(10)
    if (nl < 0) {
      carry = carry ? Buffer.concat([carry, chunk]) : chunk
      if (carry.length > maxLineBytes) throw recError(REC_CODES.tooLarge, `a line is longer than ${maxLineBytes} bytes (maxLineBytes)`, { offset })
      continue
    }
    const head = chunk.subarray(0, nl + 1)
    const buf = carry ? Buffer.concat([carry, head]) : head
    carry = nl + 1 < chunk.length ? Buffer.from(chunk.subarray(nl + 1)) : null
    // Check line lengths (rare: only when the chunk is big enough to hold an overlong line).
    if (buf.length > maxLineBytes) {
      let s = 0
      for (;;) {
        const e = buf.indexOf(10, s)
        if (e < 0) break
        if (e - s > maxLineBytes) throw recError(REC_CODES.tooLarge, `a line is ${e - s} bytes, more than ${maxLineBytes} (maxLineBytes)`, { offset: offset + s })
        s = e + 1
      }
    }
    yield { buf, offset, partial: false }
    offset += buf.length
  }
  if (carry && carry.length) yield { buf: carry, offset, partial: true }
}
