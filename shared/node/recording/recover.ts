/**
 * Crash recovery: find recordings a crash left unfinished (a truncated last line, or no
 * `end` event for a connection) in a recordings directory, report them for the UI, and
 * repair one on request (drop the partial line, append an `end` per unfinished connection)
 * with an atomic rewrite. Reading is bounded: the header line and the file's tail; a full
 * scan only for multi-connection files up to `maxScanBytes`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { EndEvent } from '../../common/events/index.ts'
import { isRecordingHeader, type RecordingHeader } from '../../common/recording/format.ts'
import { recError, REC_CODES } from '../../common/recording/errors.ts'
import { AtomicFile } from './atomic.ts'
import { statOrThrow } from './files.ts'

export interface RecoveryCandidate {
  path: string
  size: number
  modified: string
  /** Why it is unfinished. */
  reason: 'truncated-line' | 'no-end' | 'bad-header'
  title?: string
  url?: string
  connections: number
  /** Connections with no end event. */
  unfinished: string[]
  lastSeq: number | null
  lastTs: number | null
  message: string
}

export interface ScanOptions {
  /** Files to leave out (recordings being written right now). */
  exclude?: string[]
  /** Most files looked at (newest first). Default 1000. */
  maxFiles?: number
  /** Bytes read from each file's end. Default 256 KiB. */
  tailBytes?: number
  /** Largest file scanned in full to find end events of several connections. Default 256 MiB. */
  maxScanBytes?: number
}

const HEAD_MAX = 4 * 1024 * 1024

function readRange(fd: number, start: number, len: number): Buffer {
  const buf = Buffer.alloc(len)
  let got = 0
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, start + got)
    if (n === 0) break
    got += n
  }
  return buf.subarray(0, got)
}

function readHeader(fd: number, size: number): { header: RecordingHeader | null; headerEnd: number } {
  const buf = readRange(fd, 0, Math.min(size, HEAD_MAX))
  const nl = buf.indexOf(10)
  if (nl < 0) return { header: null, headerEnd: -1 }
  try {
    const h = JSON.parse(buf.subarray(0, nl).toString('utf8'))
    return { header: isRecordingHeader(h) ? h : null, headerEnd: nl + 1 }
  } catch {
    return { header: null, headerEnd: nl + 1 }
  }
}

interface TailInfo {
  endsWithNewline: boolean
  ends: Set<string>
  conns: Set<string>
  lastSeq: number | null
  lastTs: number | null
  /** Offset where the partial last line starts (== size when none). */
  cut: number
}

function scanLines(buf: Buffer, base: number, info: TailInfo, skipFirstPartial: boolean): void {
  let start = 0
  if (skipFirstPartial) {
    const nl = buf.indexOf(10)
    if (nl < 0) return
    start = nl + 1
  }
  for (;;) {
    const nl = buf.indexOf(10, start)
    if (nl < 0) {
      if (start < buf.length) info.cut = base + start
      break
    }
    const line = buf.subarray(start, nl)
    start = nl + 1
    if (line.length === 0) continue
    try {
      const ev = JSON.parse(line.toString('utf8')) as { type?: unknown; conn?: unknown; seq?: unknown; ts?: unknown }
      if (typeof ev.conn === 'string') info.conns.add(ev.conn)
      if (ev.type === 'end' && typeof ev.conn === 'string') info.ends.add(ev.conn)
      if (typeof ev.seq === 'number') info.lastSeq = ev.seq
      if (typeof ev.ts === 'number') info.lastTs = ev.ts
    } catch {
      /* a damaged line in the middle; import reports those */
    }
  }
}

/** Checks one recording; null when it is finished. */
export function inspectForRecovery(file: string, opts: ScanOptions = {}): RecoveryCandidate | null {
  const st = statOrThrow(file)
  const fd = fs.openSync(file, 'r')
  try {
    const base: Omit<RecoveryCandidate, 'reason' | 'message' | 'unfinished' | 'connections' | 'lastSeq' | 'lastTs'> = { path: file, size: st.size, modified: st.mtime.toISOString() }
    const { header, headerEnd } = readHeader(fd, st.size)
    if (!header) {
      return { ...base, reason: 'bad-header', connections: 0, unfinished: [], lastSeq: null, lastTs: null, message: 'line 1 is not a complete Wiretrace header (the app stopped while creating the file?)' }
    }
    const info: TailInfo = { endsWithNewline: true, ends: new Set(), conns: new Set(), lastSeq: null, lastTs: null, cut: st.size }
    const tailBytes = opts.tailBytes ?? 256 * 1024
    const ids = header.connections.map((c) => c.id).filter((x): x is string => typeof x === 'string')
    const full = ids.length > 1 && st.size <= (opts.maxScanBytes ?? 256 * 1024 * 1024)
    const from = full ? headerEnd : Math.max(headerEnd, st.size - tailBytes)
    const buf = readRange(fd, from, st.size - from)
    scanLines(buf, from, info, from > headerEnd)
    info.endsWithNewline = st.size === 0 || readRange(fd, st.size - 1, 1)[0] === 10
    const all = new Set([...ids, ...info.conns])
    const unfinished = [...all].filter((c) => !info.ends.has(c))
    const common = {
      ...base,
      title: header.title,
      url: header.connections[0]?.url,
      connections: all.size,
      unfinished,
      lastSeq: info.lastSeq,
      lastTs: info.lastTs,
    }
    if (!info.endsWithNewline) return { ...common, reason: 'truncated-line', message: `the last line is incomplete (${st.size - info.cut} bytes): the writer was interrupted` }
    if (unfinished.length) return { ...common, reason: 'no-end', message: `no end event for ${unfinished.join(', ')}: the app stopped while recording` }
    return null
  } finally {
    fs.closeSync(fd)
  }
}

/** Unfinished recordings in a directory, newest first. */
export function scanRecordings(dir: string, opts: ScanOptions = {}): RecoveryCandidate[] {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw recError(REC_CODES.notFound, `cannot read ${dir}: ${(e as Error).message}`, { file: dir })
  }
  const exclude = new Set((opts.exclude ?? []).map((p) => path.resolve(p)))
  const files = names
    .filter((n) => n.endsWith('.jsonl') && !n.startsWith('.'))
    .map((n) => path.join(dir, n))
    .filter((p) => !exclude.has(path.resolve(p)))
    .map((p) => {
      try {
        return { p, m: fs.statSync(p).mtimeMs }
      } catch {
        return null
      }
    })
    .filter((x): x is { p: string; m: number } => x !== null)
    .sort((a, b) => b.m - a.m)
    .slice(0, opts.maxFiles ?? 1000)
  const out: RecoveryCandidate[] = []
  for (const { p } of files) {
    try {
      const c = inspectForRecovery(p, opts)
      if (c) out.push(c)
    } catch {
      /* vanished or unreadable: not ours to report */
    }
  }
  return out
}

/**
 * Repairs a recording: drops a partial last line and appends an `end` event for each
 * unfinished connection (reason "recovered after an interrupted recording", exit 1). Writes
 * to `out` (default: the same file, replaced atomically). Returns what was done.
 */
export function recoverRecording(file: string, out = file): { out: string; droppedBytes: number; appended: number } {
  const c = inspectForRecovery(file, { maxScanBytes: Number.MAX_SAFE_INTEGER })
  if (!c) return { out: file, droppedBytes: 0, appended: 0 }
  if (c.reason === 'bad-header') throw recError(REC_CODES.foreign, `${file}: ${c.message}; nothing to recover`, { line: 1, file })
  const st = statOrThrow(file)
  const fd = fs.openSync(file, 'r')
  const af = new AtomicFile(out)
  let keep = st.size
  try {
    if (c.reason === 'truncated-line') {
      // Find the start of the partial line.
      const tail = readRange(fd, Math.max(0, st.size - 64 * 1024 * 1024), Math.min(st.size, 64 * 1024 * 1024))
      const nl = tail.lastIndexOf(10)
      keep = nl < 0 ? 0 : st.size - tail.length + nl + 1
    }
    for (let pos = 0; pos < keep; ) {
      const len = Math.min(1 << 20, keep - pos)
      af.write(readRange(fd, pos, len))
      pos += len
    }
    // Re-inspect what we kept for seq, ts and ends.
    let seq = (c.lastSeq ?? -1) + 1
    const ts = c.lastTs ?? Date.now()
    const finished = new Set<string>()
    const check = inspectAfterCut(fd, keep)
    if (check) {
      seq = check.lastSeq + 1
      for (const e of check.ends) finished.add(e)
    }
    let appended = 0
    for (const conn of c.unfinished) {
      if (finished.has(conn)) continue
      const end: EndEvent = { seq: seq++, ts, conn, type: 'end', reason: 'recovered after an interrupted recording', durationMs: 0, bytesIn: 0, bytesOut: 0, msgsIn: 0, msgsOut: 0, attempts: 0, exitCode: 1 }
      af.write(JSON.stringify(end) + '\n')
      appended++
    }
    af.commit()
    return { out, droppedBytes: st.size - keep, appended }
  } catch (e) {
    af.abort()
    throw e
  } finally {
    fs.closeSync(fd)
  }
}

function inspectAfterCut(fd: number, keep: number): { lastSeq: number; ends: Set<string> } | null {
  const len = Math.min(keep, 1024 * 1024)
  const buf = readRange(fd, keep - len, len)
  const info: TailInfo = { endsWithNewline: true, ends: new Set(), conns: new Set(), lastSeq: null, lastTs: null, cut: keep }
  scanLines(buf, keep - len, info, keep - len > 0)
  return info.lastSeq === null ? null : { lastSeq: info.lastSeq, ends: info.ends }
}
