/**
 * Append-only, crash-safe recording writer. Events are serialised to JSON lines into an
 * in-memory string and written with one synchronous write when it passes
 * `flushBytes`, or at the end of the current event-loop turn (setImmediate) otherwise, so
 * a SIGKILL loses at most the events of the turn in progress and never corrupts earlier
 * lines (each flush ends on a line boundary). fdatasync runs in the background at most once
 * a second for power-loss safety. A sparse index (every 1024th event's byte offset) lets
 * the live view read old ranges back without scanning the file.
 */
import fs from 'node:fs'
import type { WiretraceEvent } from '../../common/events/index.ts'
import type { RecordingHeader } from '../../common/recording/format.ts'
import { WiretraceError } from '../../common/errors/index.ts'

export const INDEX_STRIDE = 1024

export interface WriterOptions {
  flushBytes?: number
  /** Background fdatasync interval, ms (0 = never). */
  syncIntervalMs?: number
  /** Called once if a write fails; the writer stops writing (the live view keeps going). */
  onError?: (err: WiretraceError) => void
}

export class RecordingWriter {
  readonly path: string
  private fd: number
  private buf = ''
  private scheduled = false
  private closed = false
  private failed = false
  private written = 0
  private lastSync = 0
  private syncing = false
  private readonly flushBytes: number
  private readonly syncIntervalMs: number
  private readonly onError?: (err: WiretraceError) => void
  /** Byte offset of event seq = i * INDEX_STRIDE. */
  readonly index: number[] = []
  count = 0
  private readonly flushSoon = (): void => {
    this.scheduled = false
    this.flush()
  }

  /** `path` "-" writes to standard output (fd 1). */
  constructor(path: string, header: RecordingHeader, opts: WriterOptions = {}) {
    this.path = path
    this.flushBytes = opts.flushBytes ?? 256 * 1024
    this.syncIntervalMs = opts.syncIntervalMs ?? 1000
    this.onError = opts.onError
    try {
      this.fd = path === '-' ? 1 : fs.openSync(path, 'w')
    } catch (e) {
      throw new WiretraceError('WT_RECORDING_WRITE', `cannot create recording ${path}: ${(e as Error).message}`, { path })
    }
    this.buf = JSON.stringify(header) + '\n'
    this.flush()
  }

  /** Appends one event. Events must arrive in seq order starting at 0. */
  write(ev: WiretraceEvent): void {
    if (this.closed) return
    if ((this.count & (INDEX_STRIDE - 1)) === 0) {
      this.flush()
      this.index.push(this.written)
    }
    this.count++
    this.buf += JSON.stringify(ev) + '\n'
    if (this.buf.length >= this.flushBytes) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushSoon)
    }
  }

  flush(): void {
    if (this.buf.length === 0 || this.failed) {
      this.buf = ''
      return
    }
    const data = this.buf
    this.buf = ''
    try {
      const bytes = Buffer.from(data, 'utf8')
      let off = 0
      while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off)
      this.written += bytes.length
    } catch (e) {
      this.fail(e)
      return
    }
    if (this.syncIntervalMs > 0 && this.fd > 2 && !this.syncing) {
      const t = Date.now()
      if (t - this.lastSync >= this.syncIntervalMs) {
        this.lastSync = t
        this.syncing = true
        fs.fdatasync(this.fd, () => {
          this.syncing = false
        })
      }
    }
  }

  /** Bytes written to the file so far (header included). */
  get bytesWritten(): number {
    return this.written
  }

  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    if (this.fd > 2) {
      try {
        fs.fsyncSync(this.fd)
      } catch {
        /* best effort */
      }
      try {
        fs.closeSync(this.fd)
      } catch {
        /* already closed */
      }
    }
  }

  private fail(e: unknown): void {
    this.failed = true
    const err = new WiretraceError('WT_RECORDING_WRITE', `writing ${this.path} failed: ${(e as Error).message}`, { path: this.path })
    this.onError?.(err)
  }
}
