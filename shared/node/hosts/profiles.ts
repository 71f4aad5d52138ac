/**
 * Saved network profiles (profiles.json) and saved targets (targets.json) as the hosts keep
 * them: bounded, checked on the way in and on the way back from disk, written atomically with
 * mode 0600, passwords kept only when the user asked for it. Never imports electron.
 */
import fs from 'node:fs'
import { WiretraceError, type WiretraceErrorData } from '../../common/errors/index.ts'
import { ParamError, checkProfile, checkTarget } from '../../common/protocol/validate.ts'
import { MAX_PROFILES, specHasSecrets, stripSecrets, stripSpecSecrets, type ProfileList, type SavedProfile } from '../../common/protocol/profiles.ts'
import type { SavedTarget } from '../../common/protocol/commands.ts'
import type { NetworkProfile, ProxyTlsOptions } from '../../common/spec/index.ts'
import { loadList, writeList } from './store.ts'

export { MAX_PROFILES } from '../../common/protocol/profiles.ts'
/** Saved targets kept in the targets file. */
export const MAX_TARGETS = 500
/** Largest CA, certificate or key file a profile may name (read when a connection opens). */
export const MAX_PEM_FILE_BYTES = 1024 * 1024

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

/** The profile as it is written: named, secrets stripped unless remembered, stamped. */
function stored(p: SavedProfile, now: Date): SavedProfile {
  const remember = p.rememberPassword === true
  const network = { ...(remember ? p.network : stripSecrets(p.network)), name: p.name }
  return { name: p.name, network, ...(remember ? { rememberPassword: true } : {}), updated: now.toISOString() }
}

export class ProfileStore {
  readonly file: string | null
  readonly limit: number
  private items: SavedProfile[] | null = null
  private problems: WiretraceErrorData[] = []
  private readonly now: () => Date

  constructor(file: string | null, opts: { limit?: number; now?: () => Date } = {}) {
    this.file = file
    this.limit = opts.limit ?? MAX_PROFILES
    this.now = opts.now ?? (() => new Date())
  }

  /** Problems met reading the file, handed out once. */
  takeProblems(): WiretraceErrorData[] {
    this.load()
    return this.problems.splice(0)
  }

  list(): ProfileList {
    return { profiles: this.load().slice(), file: this.file, limit: this.limit }
  }

  get(name: string): SavedProfile | undefined {
    return this.load().find((p) => same(p.name, name))
  }

  /** Saves a profile. `replace` false refuses an existing name (WT_PROFILE_EXISTS). */
  save(p: SavedProfile, replace: boolean): ProfileList {
    const list = this.load()
    const at = list.findIndex((x) => same(x.name, p.name))
    if (at >= 0 && !replace) throw new WiretraceError('WT_PROFILE_EXISTS', `a profile named "${list[at]!.name}" already exists: choose another name, or save over it`, { name: p.name })
    if (at < 0 && list.length >= this.limit) throw new WiretraceError('WT_PROFILES_FULL', `at most ${this.limit} network profiles can be saved; delete one first`, { limit: this.limit })
    const next = list.filter((_, i) => i !== at)
    next.push(stored(p, this.now()))
    return this.commit(next)
  }

  rename(from: string, to: string): ProfileList {
    const list = this.load()
    const at = list.findIndex((x) => same(x.name, from))
    if (at < 0) throw new WiretraceError('WT_PROFILE_NOT_FOUND', `no saved profile is named "${from}"`, { name: from })
    const clash = list.findIndex((x) => same(x.name, to))
    if (clash >= 0 && clash !== at) throw new WiretraceError('WT_PROFILE_EXISTS', `a profile named "${list[clash]!.name}" already exists`, { name: to })
    const old = list[at]!
    const next = list.slice()
    next[at] = { ...old, name: to, network: { ...old.network, name: to }, updated: this.now().toISOString() }
    return this.commit(next)
  }

  delete(name: string): ProfileList {
    const list = this.load()
    if (!list.some((x) => same(x.name, name))) throw new WiretraceError('WT_PROFILE_NOT_FOUND', `no saved profile is named "${name}"`, { name })
    return this.commit(list.filter((x) => !same(x.name, name)))
  }

  private commit(next: SavedProfile[]): ProfileList {
    next.sort((a, b) => a.name.localeCompare(b.name))
    // Written first: when the disk refuses, the list stays as it was.
    if (this.file) writeList(this.file, 'profiles', next)
    this.items = next
    return this.list()
  }

  private load(): SavedProfile[] {
    if (this.items) return this.items
    if (!this.file) return (this.items = [])
    // Loaded without the host's file-name rules: a profile saved before them stays listed (and
    // saved again) and is refused, naming the field, only when a connection uses it.
    const r = loadList(this.file, 'profiles', (e) => checkProfile(e, 'profile', { fileNames: false }), this.limit, 'network profiles', this.now())
    if (r.problem) this.problems.push(r.problem)
    this.items = r.items
    return this.items
  }
}

function readPemFile(file: string, field: string): string {
  let st: fs.Stats
  try {
    st = fs.statSync(file)
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' })
  } catch (e) {
    throw new WiretraceError('WT_FILE_UNREADABLE', `${field}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, field })
  }
  if (st.size > MAX_PEM_FILE_BYTES) throw new WiretraceError('WT_FILE_UNREADABLE', `${field}: ${file} is larger than ${MAX_PEM_FILE_BYTES} bytes`, { file, field })
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw new WiretraceError('WT_FILE_UNREADABLE', `${field}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, field })
  }
}

/**
 * A profile names its proxy CA, client certificate and key, and its origin CAs, by path (the UI
 * cannot hand over file contents in web mode, and a saved profile should follow the file); the
 * hosts and the CLI read them into the PEM fields the engine uses, when the connection opens.
 * The paths stay, for display.
 */
export function readProxyTlsFiles(network: NetworkProfile): NetworkProfile {
  let out = network
  const t = (network as { proxyTls?: ProxyTlsOptions }).proxyTls
  if (t && (t.caFiles?.length || t.certFile || t.keyFile)) {
    const p: ProxyTlsOptions = { ...t }
    if (t.caFiles?.length) p.ca = [...(t.ca ?? []), ...t.caFiles.map((f, i) => readPemFile(f, `proxyTls.caFiles[${i}]`))]
    if (t.certFile) p.cert = readPemFile(t.certFile, 'proxyTls.certFile')
    if (t.keyFile) p.key = readPemFile(t.keyFile, 'proxyTls.keyFile')
    out = { ...out, proxyTls: p } as NetworkProfile
  }
  // TLS to the origin (every mode, direct too): its CA files, after any inline CAs.
  const o = network.originTls
  if (o?.caFiles?.length) out = { ...out, originTls: { ...o, ca: [...(o.ca ?? []), ...o.caFiles.map((f, i) => readPemFile(f, `originTls.caFiles[${i}]`))] } }
  return out
}

// What a target keeps with "Remember password" off: shared with the renderer, which offers the box.
export { specHasSecrets, stripSpecSecrets } from '../../common/protocol/profiles.ts'

/** Saved targets: the same file rules as profiles (0600, atomic, kept aside when unreadable). */
export class TargetStore {
  readonly file: string | null
  private items: SavedTarget[] | null = null
  private problems: WiretraceErrorData[] = []

  constructor(file: string | null) {
    this.file = file
  }

  takeProblems(): WiretraceErrorData[] {
    this.load()
    return this.problems.splice(0)
  }

  list(): SavedTarget[] {
    return this.load().slice()
  }

  save(t: SavedTarget): SavedTarget[] {
    const list = this.load().filter((x) => x.name !== t.name)
    if (list.length >= MAX_TARGETS) throw new ParamError(`at most ${MAX_TARGETS} targets can be saved; delete some first`)
    const remember = t.rememberPassword === true
    list.push({
      name: t.name,
      spec: remember ? t.spec : stripSpecSecrets(t.spec),
      ...(t.description ? { description: t.description } : {}),
      ...(remember ? { rememberPassword: true } : {}),
    })
    return this.commit(list)
  }

  delete(name: string): SavedTarget[] {
    return this.commit(this.load().filter((t) => t.name !== name))
  }

  private commit(next: SavedTarget[]): SavedTarget[] {
    next.sort((a, b) => a.name.localeCompare(b.name))
    if (this.file) writeList(this.file, 'targets', next)
    this.items = next
    return this.list()
  }

  private load(): SavedTarget[] {
    if (this.items) return this.items
    if (!this.file) return (this.items = [])
    const r = loadList(
      this.file,
      'targets',
      (e) => {
        // Without the host's file-name rules, as profiles: a target saved before them stays and
        // is refused, naming the field, only when it is opened.
        const t = checkTarget(e, 'target', { fileNames: false })
        // Saved without the flag (before passwords were optional, or before URL tokens counted as
        // secrets): what it holds was kept, so it stays kept and is marked so (the file is 0600
        // now); the user unticks "Remember" and saves to drop it. Never deleted behind their back.
        return t.rememberPassword === undefined && specHasSecrets(t.spec) ? { ...t, rememberPassword: true } : t
      },
      MAX_TARGETS,
      'targets',
    )
    if (r.problem) this.problems.push(r.problem)
    this.items = r.items.filter((t) => !t.demo)
    return this.items
  }
}
