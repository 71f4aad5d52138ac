/**
 * The hosts' own small files: saved network profiles (profiles.json) and saved targets
 * (targets.json), both `{ "version": 1, "<key>": [...] }`. Written atomically (a temp file
 * created with mode 0600, fsync, rename, fsync of the directory), so they are readable only by
 * the user: they may hold a proxy password the user chose to remember. Read back entry by entry:
 * an entry that fails its check is skipped and a file that cannot be read at all is renamed
 * aside (`NAME.bad-TIME`), never overwritten, with a coded problem the UI shows once. A partly
 * damaged file is copied aside only when its bytes differ from the newest copy already kept (the
 * CLI loads it on every run), and at most MAX_ASIDE_COPIES copies are kept per file (the oldest
 * removed): they may hold remembered passwords. A JSON error is reported by position only (V8's
 * message quotes the text around it). Never imports electron.
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
/** Copies kept aside per config file (`NAME.bad-TIME`); the oldest beyond this are removed. */
export const MAX_ASIDE_COPIES = 5

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

/** The aside copies of `file`, oldest first (by the time in their name, then their -N suffix). */
function asideCopies(file: string): string[] {
  const prefix = `${path.basename(file)}.bad-`
  let names: string[]
  try {
    names = fs.readdirSync(path.dirname(file))
  } catch {
    return []
  }
  const key = (n: string): [string, number] => {
    const m = /^(\d{8}T\d{6}Z)(?:-(\d+))?$/.exec(n.slice(prefix.length))
    return m ? [m[1]!, Number(m[2] ?? 1)] : ['', 0]
  }
  return names
    .filter((n) => n.startsWith(prefix) && key(n)[0] !== '')
    .sort((a, b) => {
      const [ta, na] = key(a)
      const [tb, nb] = key(b)
      return ta < tb ? -1 : ta > tb ? 1 : na - nb
    })
    .map((n) => path.join(path.dirname(file), n))
}

/** Removes the oldest aside copies beyond MAX_ASIDE_COPIES (never `keep`). */
function pruneAside(file: string, keep: string | null): void {
  const all = asideCopies(file)
  for (const old of all.slice(0, Math.max(0, all.length - MAX_ASIDE_COPIES))) {
    if (old === keep) continue
    try {
      fs.unlinkSync(old)
    } catch {
      /* gone, or not ours to remove */
    }
  }
}

/** The newest aside copy when it holds exactly `bytes`, else null. */
function sameAsNewestAside(file: string, bytes: Buffer): string | null {
  const newest = asideCopies(file).at(-1)
  if (!newest) return null
  try {
    if (fs.statSync(newest).size !== bytes.length) return null
    return fs.readFileSync(newest).equals(bytes) ? newest : null
  } catch {
    return null
  }
}

/** A JSON.parse failure without the text V8 quotes from the file (it may be a password). */
function jsonProblem(e: unknown): string {
  const m = /at position (\d+)/.exec((e as Error)?.message ?? '')
  return m ? `not valid JSON (at position ${m[1]})` : 'not valid JSON'
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
    pruneAside(file, aside)
    return { items: [], problem: damaged(file, why, aside, `starting with no saved ${what}`) }
  }
  if (st.size > MAX_CONFIG_FILE_BYTES) return moveAside(`larger than ${MAX_CONFIG_FILE_BYTES} bytes`)
  let bytes: Buffer
  let raw: unknown
  try {
    bytes = fs.readFileSync(file)
  } catch (e) {
    return { items: [], problem: { code: 'WT_CONFIG_DAMAGED', message: `${path.basename(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); no ${what} loaded`, detail: { file } } }
  }
  try {
    raw = JSON.parse(bytes.toString('utf8'))
  } catch (e) {
    return moveAside(jsonProblem(e))
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
  // Loaded again unchanged (each CLI run does): the copy made last time is the one to name.
  let aside: string | null = sameAsNewestAside(file, bytes)
  if (!aside) {
    aside = asideName(file, now)
    try {
      fs.writeFileSync(aside, bytes, { flag: 'wx', mode: CONFIG_FILE_MODE })
      fs.chmodSync(aside, CONFIG_FILE_MODE)
    } catch {
      aside = null
    }
    pruneAside(file, aside)
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
