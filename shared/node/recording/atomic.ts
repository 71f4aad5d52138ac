/**
 * Atomic file writes: write to a temp file in the same directory, fsync it, rename it over
 * the final name, fsync the directory. A crash at any point leaves either the old file or
 * the complete new one under the final name, never a half-written file (a stray
 * `.NAME.*.tmp` may remain and is removed by the next write's cleanup or by hand).
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { recError, REC_CODES } from '../../common/recording/errors.ts'

function tempName(final: string): string {
  return path.join(path.dirname(final), `.${path.basename(final)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/** Flushes a directory's entries (after a rename into it); a no-op where that is not possible. */
export function fsyncDir(dir: string): void {
  let fd: number | null = null
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch {
    /* some platforms cannot fsync a directory (Windows); the rename is still atomic */
  } finally {
    if (fd !== null) fs.closeSync(fd)
  }
}

const writeError = (final: string, e: unknown) => recError(REC_CODES.write, `cannot write ${final}: ${(e as Error).message}`, { file: final })

/** A file being written; commit() makes it appear under the final name, abort() removes it. */
export class AtomicFile {
  readonly final: string
  readonly temp: string
  private fd: number
  private done = false
  bytes = 0

  constructor(final: string) {
    this.final = path.resolve(final)
    this.temp = tempName(this.final)
    try {
      this.fd = fs.openSync(this.temp, 'wx', 0o644)
    } catch (e) {
      throw writeError(this.final, e)
    }
  }

  write(data: Uint8Array | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    try {
      let off = 0
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off)
      this.bytes += buf.length
    } catch (e) {
      this.abort()
      throw writeError(this.final, e)
    }
  }

  /** A Writable over this file (for pipelines, e.g. gzip). */
  writable(): Writable {
    return new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _enc, cb) => {
        try {
          this.write(chunk)
          cb()
        } catch (e) {
          cb(e as Error)
        }
      },
    })
  }

  commit(): void {
    if (this.done) return
    this.done = true
    try {
      fs.fsyncSync(this.fd)
      fs.closeSync(this.fd)
      fs.renameSync(this.temp, this.final)
    } catch (e) {
      try {
        fs.unlinkSync(this.temp)
      } catch {
        /* gone */
      }
      throw writeError(this.final, e)
    }
    fsyncDir(path.dirname(this.final))
  }

  abort(): void {
    if (this.done) return
    this.done = true
    try {
      fs.closeSync(this.fd)
    } catch {
      /* closed */
    }
    try {
      fs.unlinkSync(this.temp)
    } catch {
      /* gone */
    }
  }
}

/**
 * Writes the whole content atomically. Pieces of text are encoded into one reused 4 MiB buffer,
 * written out when full (no buffer per piece, no joined strings); byte pieces are written as
 * they are, after the text before them. A piece is encoded whole, so a surrogate pair must not
 * be split between two pieces (JSON and Markdown text never are).
 */
export function writeFileAtomic(final: string, data: Uint8Array | string | Iterable<Uint8Array | string>): number {
  const f = new AtomicFile(final)
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) f.write(data)
    else {
      const buf = Buffer.allocUnsafe(4 << 20)
      let n = 0
      for (const piece of data) {
        const text = typeof piece === 'string'
        // UTF-8 takes at most 3 bytes per UTF-16 unit.
        if (!text || piece.length * 3 > buf.length - n) {
          if (n) f.write(buf.subarray(0, n))
          n = 0
        }
        if (text && piece.length * 3 <= buf.length) n += buf.write(piece, n)
        else f.write(piece)
      }
      if (n) f.write(buf.subarray(0, n))
    }
    f.commit()
  } catch (e) {
    f.abort()
    throw e
  }
  return f.bytes
}

/**
 * Removes temp files a crash left behind (`.NAME.PID.RAND.tmp`) older than `maxAgeMs`
 * (default 1 hour, so a write in progress in another process is left alone). Returns their names.
 */
export function cleanStaleTemps(dir: string, maxAgeMs = 3_600_000, now = Date.now()): string[] {
  const removed: string[] = []
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return removed
  }
  for (const n of names) {
    if (!/^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(n)) continue
    const p = path.join(dir, n)
    try {
      if (now - fs.statSync(p).mtimeMs < maxAgeMs) continue
      fs.unlinkSync(p)
      removed.push(n)
    } catch {
      /* gone or not ours */
    }
  }
  return removed
}
