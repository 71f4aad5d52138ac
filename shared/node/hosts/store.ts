/**
 * The hosts' own small files: saved network profiles (profiles.json) and saved targets
 * (targets.json), both `{ "version": 1, "<key>": [...] }`. Written atomically (a temp file
 * created with mode 0600, fsync, rename, fsync of the directory), so they are readable only by
 * the user: they may hold a proxy password the user chose to remember. Read back entry by entry:
 * an entry that fails its check is skipped and a file that cannot be read at all is renamed
 * aside (`NAME.bad-TIME`), never overwritten, with a coded problem the UI shows once.
 * Never imports electron.
 */
import { fsyncDir } from '../recording/atomic.ts'
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { WiretraceError, type WiretraceErrorData } from '../../common/errors/index.ts'

/** Largest config file read (a profiles.json of 100 profiles is a few tens of KiB). */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024
/** Mode of the files we write (and of an existing one we find readable by others). */
export const CONFIG_FILE_MODE = 0o600

export interface Loaded<T> {
  items: T[]
  /** What went wrong reading the file, if anything (its content was kept aside). */
  problem?: WiretraceErrorData
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
}

/** A free name next to `file`: NAME.bad-20261128T101500Z (then -2, -3...). */
function asideName(file: string, now: Date): string {
  const base = `${file}.bad-${stamp(now)}`
  let out = base
  for (let i = 2; fs.existsSync(out); i++) out = `${base}-${i}`
  return out
}

function damaged(file: string, why: string, aside: string | null, kept: string): WiretraceErrorData {
  const where = aside ? `; the file was kept as ${path.basename(aside)}` : ''
  return { code: 'WT_CONFIG_DAMAGED', message: `${path.basename(file)}: ${why}${where}; ${kept}`, detail: { file, ...(aside ? { keptAs: aside } : {}) } }
}

/**
 * Reads the list under `key`. Each entry goes through `check` (which throws on a bad one) and
 * `fix` (an upgrade of older entries). At most `max` entries are kept. The original file is
 * never lost: unreadable, it is renamed aside; partly readable, it is copied aside first.
 */
export function loadList<T>(
  file: string,
  key: string,
  check: (entry: unknown) => T,
  max: number,
  what: string,
  now = new Date(),
): Loaded<T> {
  let st: fs.Stats
  try {
    st = fs.statSync(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { items: [] }
    return { items: [], problem: { code: 'WT_CONFIG_DAMAGED', message: `${path.basename(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); no ${what} loaded`, detail: { file } } }
  }
  // Written before files were private: make it so now (it may hold a password).
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    try {
      fs.chmodSync(file, CONFIG_FILE_MODE)
    } catch {
      /* not ours to change: leave it */
    }
  }
  const moveAside = (why: string): Loaded<T> => {
    let aside: string | null = asideName(file, now)
    try {
      fs.renameSync(file, aside)
    } catch {
      aside = null
    }
    return { items: [], problem: damaged(file, why, aside, `starting with no saved ${what}`) }
  }
  if (st.size > MAX_CONFIG_FILE_BYTES) return moveAside(`larger than ${MAX_CONFIG_FILE_BYTES} bytes`)
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    return moveAside(`not valid JSON (${(e as Error).message})`)
  }
  const list = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>)[key] : undefined
  if (!Array.isArray(list)) return moveAside(`no "${key}" list in it`)
  const items: T[] = []
  const bad: string[] = []
  list.forEach((entry, i) => {
    if (items.length >= max) {
      bad.push(`entry ${i + 1}: over the limit of ${max}`)
      return
    }
    try {
      items.push(check(entry))
    } catch (e) {
      bad.push(`entry ${i + 1}: ${(e as Error).message}`)
    }
  })
  if (!bad.length) return { items }
  let aside: string | null = asideName(file, now)
  try {
    fs.copyFileSync(file, aside, fs.constants.COPYFILE_EXCL)
    fs.chmodSync(aside, CONFIG_FILE_MODE)
  } catch {
    aside = null
  }
  const first = bad.slice(0, 3).join('; ')
  return { items, problem: damaged(file, `${bad.length} entr${bad.length === 1 ? 'y' : 'ies'} skipped (${first}${bad.length > 3 ? '; …' : ''})`, aside, `${items.length} loaded`) }
}

/**
 * Writes `{ version: 1, [key]: items }` atomically with mode 0600. A failure leaves the old
 * file as it was and throws WT_CONFIG_WRITE.
 */
export function writeList(file: string, key: string, items: unknown[]): void {
  const dir = path.dirname(path.resolve(file))
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let fd: number | null = null
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fd = fs.openSync(tmp, 'wx', CONFIG_FILE_MODE)
    const buf = Buffer.from(JSON.stringify({ version: 1, [key]: items }, null, 2) + '\n', 'utf8')
    let off = 0
    while (off < buf.length) off += fs.writeSync(fd, buf, off)
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fd = null
    fs.renameSync(tmp, file)
  } catch (e) {
    if (fd !== null) {
      try {
        fs.closeSync(fd)
      } catch {
        /* closed */
      }
    }
    try {
      fs.unlinkSync(tmp)
    } catch {
      /* never created, or gone */
    }
    throw new WiretraceError('WT_CONFIG_WRITE', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file })
  }
  fsyncDir(dir)
}
