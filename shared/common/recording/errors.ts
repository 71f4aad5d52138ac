/**
 * Errors and limits of the recording converters (export, import, migrate, redact). Every
 * failure is a WiretraceError with a stable WT_RECORDING_* code and a `detail` that names
 * where it happened (`line` for JSON Lines, `offset` for bytes, `path` for a JSON path in
 * a HAR file), so the CLI and the UI can say what was wrong and where.
 */
import { WiretraceError, type ErrorCode } from '../errors/index.ts'

/** Where a problem is. */
export interface Where {
  line?: number
  offset?: number
  /** JSON path inside a HAR file, e.g. `log.entries[3]._webSocketMessages[12].data`. */
  at?: string
  file?: string
}

/**
 * The codes used here. Foreign files (not a recording, not a HAR) use WT_RECORDING_HEADER,
 * structural damage WT_RECORDING_LINE, a bad rule WT_OPTION_INVALID.
 */
export const REC_CODES = {
  foreign: 'WT_RECORDING_HEADER',
  version: 'WT_RECORDING_VERSION',
  corrupt: 'WT_RECORDING_LINE',
  truncated: 'WT_RECORDING_TRUNCATED',
  tooLarge: 'WT_RECORDING_TOO_LARGE',
  write: 'WT_RECORDING_WRITE',
  notFound: 'WT_RECORDING_NOT_FOUND',
  rule: 'WT_OPTION_INVALID',
} as const satisfies Record<string, ErrorCode>

export function recError(code: ErrorCode, message: string, where: Where = {}): WiretraceError {
  const loc = where.line !== undefined ? ` (line ${where.line})` : where.offset !== undefined ? ` (byte offset ${where.offset})` : where.at ? ` (at ${where.at})` : ''
  const detail: Record<string, unknown> = {}
  for (const k of ['line', 'offset', 'at', 'file'] as const) if (where[k] !== undefined) detail[k] = where[k]
  return new WiretraceError(code, message + loc, detail)
}

/** Limits of the converters; each is an option with this default (docs/recording-format.md lists them). */
export interface RecordingIoLimits {
  /** Largest file import reads into memory as a whole (HAR is one JSON document). WT_RECORDING_TOO_LARGE. */
  maxDocumentBytes: number
  /** Largest decompressed size of a `.wtrace.gz` (a gzip bomb stops here). WT_RECORDING_TOO_LARGE. */
  maxInflatedBytes: number
  /** Longest line of a JSON Lines recording. WT_RECORDING_TOO_LARGE. */
  maxLineBytes: number
  /** Events one import may produce. WT_RECORDING_TOO_LARGE. */
  maxEvents: number
  /** HAR entries read. WT_RECORDING_TOO_LARGE. */
  maxHarEntries: number
  /** Nesting depth accepted in JSON payloads scanned by JSON-path redaction (deeper values are left alone and reported). */
  maxJsonDepth: number
  /** Issues kept in a report (further ones are counted). */
  maxIssues: number
}

export const DEFAULT_IO_LIMITS: Readonly<RecordingIoLimits> = Object.freeze({
  maxDocumentBytes: 1024 * 1024 * 1024,
  maxInflatedBytes: 16 * 1024 * 1024 * 1024,
  maxLineBytes: 64 * 1024 * 1024,
  maxEvents: 50_000_000,
  maxHarEntries: 100_000,
  maxJsonDepth: 64,
  maxIssues: 100,
})

export function ioLimits(partial?: Partial<RecordingIoLimits>): RecordingIoLimits {
  const out: RecordingIoLimits = { ...DEFAULT_IO_LIMITS }
  if (partial) {
    for (const k of Object.keys(DEFAULT_IO_LIMITS) as Array<keyof RecordingIoLimits>) {
      const v = partial[k]
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v
    }
  }
  return out
}

/** A non-fatal problem found while converting; the conversion went on. */
export interface ConvertIssue {
  code: ErrorCode
  message: string
  line?: number
  offset?: number
  at?: string
}

/** Bounded issue list. */
export class IssueList {
  readonly items: ConvertIssue[] = []
  count = 0
  constructor(private readonly max = 100) {}
  add(code: ErrorCode, message: string, where: Where = {}): void {
    this.count++
    if (this.items.length < this.max) {
      const i: ConvertIssue = { code, message }
      if (where.line !== undefined) i.line = where.line
      if (where.offset !== undefined) i.offset = where.offset
      if (where.at !== undefined) i.at = where.at
      this.items.push(i)
    }
  }
}
