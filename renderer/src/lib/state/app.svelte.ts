/**
 * The inspector's application state. Depends only on HostClient; batches are applied on
 * the next animation frame (all queued batches at once) and acknowledged after, so the host
 * sends at most what the renderer can paint and coalesces the rest.
 */
import type { HostClient, LinkState, SavedTarget, HostInfo, DemoInfo, RecordingInfo, RecordingStatus, RecoveryOffer, SavedProfile, ProfileList, ProxyResolution } from '../../../../shared/common/protocol/index.ts'
import { MAX_PROFILES } from '../../../../shared/common/protocol/profiles.ts'
import type { NetworkProfile } from '../../../../shared/common/spec/index.ts'
import type { LiveBatch, ConnectionSummary } from '../../../../shared/common/live.ts'
import type { ConnectionSpec, SendItem } from '../../../../shared/common/spec/index.ts'
import type { WiretraceEvent } from '../../../../shared/common/events/index.ts'
import { ConnView, MAX_ROWS } from './conn.svelte.ts'
import { compileFilter, EMPTY_FILTER, type FilterSpec } from '../filter.ts'

/**
 * Events asked for per events.range call (the host's maximum is PARAM_LIMITS.maxRange). Small
 * enough that merging one page fits in a frame next to a live stream; the reader yields a
 * frame between pages.
 */
export const RANGE_PAGE = 2000
/** Pages read at most for one scroll step when the filter hides all their rows. */
export const MAX_EMPTY_PAGES = 25

/** Resolves at the next animation frame (a timer where there are no frames). */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => resolve()) : setTimeout(resolve, 0)))
}

/** Connections listed in the sidebar at most (the oldest finished ones are forgotten first). */
export const MAX_CONNECTIONS = 200

export class AppState {
  readonly host: HostClient
  info: HostInfo | null = $state.raw(null)
  summaries: ConnectionSummary[] = $state.raw([])
  selectedId: string | null = $state(null)
  targets: SavedTarget[] = $state.raw([])
  /** Saved network profiles, where the host keeps them and how many it keeps at most. */
  profiles: SavedProfile[] = $state.raw([])
  profilesFile: string | null = $state(null)
  profileLimit = $state(MAX_PROFILES)
  /** A saved target to load into the composer (set by the sidebar, taken by the composer). */
  composerLoad: SavedTarget | null = $state.raw(null)
  demo: DemoInfo = $state.raw({ running: false, targets: [] })
  recordings: RecordingInfo[] = $state.raw([])
  filter: FilterSpec = $state({ ...EMPTY_FILTER })
  filterError: string | null = $state(null)
  link: LinkState = $state('open')
  linkWhy = $state('')
  /** A transient message for the user (an error from the host, a hint). */
  toast: { text: string; kind: 'error' | 'info' } | null = $state(null)
  /** Wall clock, ticking twice a second, for "reconnecting in N s". */
  now = $state(Date.now())
  /** Opened recordings still being scanned (progress bars). */
  opening: RecordingStatus[] = $state.raw([])
  /** Recordings a crash left unfinished, offered for recovery on start. */
  recovery: RecoveryOffer[] = $state.raw([])
  /** The modal in front: export of a recording, or compare two. */
  dialog: { kind: 'export'; path: string } | { kind: 'compare'; a: string } | null = $state(null)
  /** Batches applied and frames, for the perf bench. */
  readonly counters = { batches: 0, events: 0, frames: 0 }

  // Not reactive on purpose: views publish their own signals; `summaries` is the reactive list.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private readonly views = new Map<string, ConnView>()
  private queue: Array<{ batch: LiveBatch; ack: () => void }> = []
  private frameRequested = false
  private toastTimer: ReturnType<typeof setTimeout> | null = null

  constructor(host: HostClient) {
    this.host = host
    this.link = host.link
    host.onLink((s, why) => {
      this.link = s
      this.linkWhy = why ?? ''
    })
    host.onBatch((batch, ack) => {
      this.queue.push({ batch, ack })
      if (!this.frameRequested) {
        this.frameRequested = true
        requestAnimationFrame(() => this.flush())
      }
    })
    setInterval(() => (this.now = Date.now()), 500)
  }

  async init(): Promise<void> {
    const [info, list, targets, demo] = await Promise.all([
      this.host.call('host.info', {}),
      this.host.call('session.list', {}),
      this.host.call('targets.list', {}),
      this.host.call('demo.status', {}),
    ])
    this.info = info
    this.targets = targets
    const problems = info.configProblems ?? []
    if (problems.length) this.say({ code: problems[0]!.code, message: problems.map((p) => p.message).join(' · ') })
    void this.refreshProfiles()
    void this.refreshRecordings()
    this.demo = demo
    for (const s of list) this.upsert(s)
    this.publishSummaries()
    if (!this.selectedId && this.summaries[0]) this.select(this.summaries[0].id)
    void this.checkRecovery()
    if (list.some((s) => s.readOnly)) this.watchOpening()
  }

  async checkRecovery(): Promise<void> {
    try {
      this.recovery = await this.host.call('recording.recoverable', {})
    } catch {
      /* an older host: nothing offered */
    }
  }

  async recover(offer: RecoveryOffer, thenOpen: boolean): Promise<void> {
    try {
      const r = await this.host.call('recording.recover', { path: offer.path })
      this.recovery = this.recovery.filter((o) => o.path !== offer.path)
      this.say(`Recovered ${offer.name}${r.droppedBytes ? ` (dropped a partial line of ${r.droppedBytes} bytes)` : ''}`, 'info')
      void this.refreshRecordings()
      if (thenOpen) await this.openRecording(r.out)
    } catch (e) {
      this.say(e)
    }
  }

  dismissRecovery(offer: RecoveryOffer): void {
    this.recovery = this.recovery.filter((o) => o.path !== offer.path)
  }

  openExport(path: string): void {
    this.dialog = { kind: 'export', path }
  }

  openCompare(path: string): void {
    this.dialog = { kind: 'compare', a: path }
  }

  private openingTimer: ReturnType<typeof setInterval> | null = null
  // Keys of recordings whose scan error was shown once (not reactive).
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private readonly reportedErrors = new Set<string>()
  /** Polls recording.status while an opened recording is being scanned (the progress bar). */
  watchOpening(): void {
    if (this.openingTimer) return
    const poll = async (): Promise<void> => {
      try {
        const st = await this.host.call('recording.status', {})
        for (const r of st) {
          if (r.error && !this.reportedErrors.has(r.key)) {
            this.reportedErrors.add(r.key)
            this.say(`${r.name}: ${r.error}`)
          }
        }
        this.opening = st.filter((r) => !r.done)
        if (!this.opening.length && this.openingTimer) {
          clearInterval(this.openingTimer)
          this.openingTimer = null
        }
      } catch {
        /* link lost: the banner says so */
      }
    }
    void poll()
    this.openingTimer = setInterval(() => void poll(), 200)
  }

  view(id: string | null): ConnView | undefined {
    return id ? this.views.get(id) : undefined
  }

  get selected(): ConnView | undefined {
    return this.view(this.selectedId)
  }

  select(id: string | null): void {
    this.selectedId = id
    const v = this.view(id)
    if (v) {
      v.setFilter(this.compiled())
      void this.fill(v)
    }
  }

  /**
   * Reads back what this view never received (after a reload, or coalesced while live) with
   * events.range: the newest missing ranges first, in pages of RANGE_PAGE, up to the row cap.
   * One read per view at a time (fill or a page); called on select, when the user scrolls up
   * and by "Jump to latest" after browsing back. A reset of the window (epoch) restarts it.
   */
  async fill(v: ConnView): Promise<void> {
    if (v.filling || v.paging) return
    const s = v.summary
    const finished = s.state === 'closed' || s.state === 'failed'
    if (finished && !s.readOnly) v.noteKnownEnd(s.events)
    if (!v.missing.length) return
    v.filling = true
    try {
      let epoch = v.epoch
      let budget = MAX_ROWS - v.rows.length
      for (let guard = 0; guard < 1000 && budget > 0; guard++) {
        const g = v.nextGap(Math.min(RANGE_PAGE, budget))
        if (!g) break
        const [from, to] = g
        const events = await this.readRange(v, from, to)
        if (v.epoch !== epoch) {
          // The window was reset meanwhile: this answer is for the old one.
          epoch = v.epoch
          budget = MAX_ROWS - v.rows.length
          continue
        }
        v.gapDone(from, to)
        if (events === null) break
        budget -= v.insertOlder(events)
        if (!this.views.has(v.id)) break
        await nextFrame()
      }
      if (budget <= 0) v.dropGapsBefore(v.rows[0]?.seq ?? 0)
    } finally {
      v.filling = false
    }
  }

  /** events.range for [from, to); null on an error (said, unless the connection is gone). */
  private async readRange(v: ConnView, from: number, to: number): Promise<WiretraceEvent[] | null> {
    try {
      return await this.host.call('events.range', { id: v.id, fromSeq: from, count: to - from })
    } catch (e) {
      if ((e as { code?: string }).code !== 'WT_USAGE') this.say(e)
      return null
    }
  }

  /**
   * The user scrolled near the top of the list: reads the page before the rows (RANGE_PAGE
   * events) and puts it in front; past the cap the newest rows leave. With a filter, pages
   * are read (a frame apart) until one adds a row it shows, at most MAX_EMPTY_PAGES.
   */
  older(v: ConnView): Promise<void> {
    return v.hasOlder ? this.page(v, 'older') : Promise.resolve()
  }

  /**
   * The user scrolled near the bottom of a window detached from the tail: reads the page
   * after the rows and appends it; past the cap the oldest rows leave. Reaching the tail
   * attaches the window again (live rows are appended).
   */
  newer(v: ConnView): Promise<void> {
    return v.detached ? this.page(v, 'newer') : Promise.resolve()
  }

  private async page(v: ConnView, dir: 'older' | 'newer'): Promise<void> {
    if (v.filling || v.paging) return
    v.paging = dir
    try {
      const epoch = v.epoch
      for (let i = 0; i < MAX_EMPTY_PAGES; i++) {
        const p = dir === 'older' ? v.olderPage(RANGE_PAGE) : v.newerPage(RANGE_PAGE)
        if (!p) break
        const events = await this.readRange(v, p[0], p[1])
        if (events === null || v.epoch !== epoch || !this.views.has(v.id)) break
        const shown = dir === 'older' ? v.prependOlder(p[0], p[1], events) : v.appendNewer(p[0], p[1], events)
        await nextFrame()
        if (shown > 0) break
      }
    } finally {
      v.paging = null
    }
  }

  /** "Jump to latest": a window detached from the tail is dropped and the newest rows read back. */
  async latest(v: ConnView): Promise<void> {
    if (!v.detached) return
    v.resetToTail()
    await this.waitIdle(v)
    await this.fill(v)
  }

  /** Home: the connection's first rows (read back from the start when the window does not hold them). */
  async first(v: ConnView): Promise<void> {
    if (!v.hasOlder) return
    v.resetAt(0)
    await this.waitIdle(v)
    await this.newer(v)
  }

  /** Waits (a frame at a time, bounded) for a read of this view to end. */
  private async waitIdle(v: ConnView): Promise<void> {
    for (let i = 0; i < 600 && (v.filling || v.paging); i++) await nextFrame()
  }

  setFilter(f: FilterSpec): void {
    this.filter = f
    this.selected?.setFilter(this.compiled())
  }

  async open(spec: ConnectionSpec, record = true): Promise<ConnectionSummary | null> {
    try {
      const s = await this.host.call('session.open', { spec, record })
      this.upsert(s)
      this.publishSummaries()
      this.select(s.id)
      // Its recording now exists: list it.
      setTimeout(() => void this.refreshRecordings(), 500)
      return s
    } catch (e) {
      this.say(e)
      return null
    }
  }

  async send(id: string, item: SendItem): Promise<boolean> {
    try {
      await this.host.call('session.send', { id, item })
      return true
    } catch (e) {
      this.say(e)
      return false
    }
  }

  async close(id: string, code?: number, reason?: string): Promise<void> {
    try {
      await this.host.call('session.close', { id, ...(code !== undefined ? { code } : {}), ...(reason ? { reason } : {}) })
    } catch (e) {
      this.say(e)
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.host.call('session.remove', { id })
    } catch {
      /* already gone on the host: forget it here too */
    }
    this.views.delete(id)
    this.summaries = this.summaries.filter((s) => s.id !== id)
    if (this.selectedId === id) this.select(this.summaries.at(-1)?.id ?? null)
  }

  async event(id: string, seq: number): Promise<WiretraceEvent | null> {
    return this.host.call('event.get', { id, seq })
  }

  async saveTarget(target: SavedTarget): Promise<void> {
    try {
      this.targets = await this.host.call('targets.save', { target: $state.snapshot(target) })
      this.say(`Saved target "${target.name}"`, 'info')
    } catch (e) {
      this.say(e)
    }
  }

  private setProfiles(l: ProfileList): void {
    this.profiles = l.profiles
    this.profilesFile = l.file
    this.profileLimit = l.limit
  }

  async refreshProfiles(): Promise<void> {
    try {
      this.setProfiles(await this.host.call('profiles.list', {}))
    } catch {
      /* an older host: no saved profiles */
    }
  }

  /** Saves a network profile; throws the host's error (WT_PROFILE_EXISTS...) for the editor to show. */
  async saveProfile(profile: SavedProfile, replace: boolean): Promise<void> {
    // A snapshot: parts of it may come from $state (proxies do not cross a MessagePort).
    this.setProfiles(await this.host.call('profiles.save', { profile: $state.snapshot(profile), replace }))
    this.say(`Saved network profile "${profile.name}"`, 'info')
  }

  async renameProfile(from: string, to: string): Promise<void> {
    this.setProfiles(await this.host.call('profiles.rename', { from, to }))
  }

  async deleteProfile(name: string): Promise<void> {
    this.setProfiles(await this.host.call('profiles.delete', { name }))
    this.say(`Deleted network profile "${name}"`, 'info')
  }

  /** The route a profile gives for a URL, asked of the host before connecting. */
  async resolveRoute(url: string, network: NetworkProfile): Promise<ProxyResolution> {
    return this.host.call('proxy.resolve', { url, network: $state.snapshot(network) })
  }

  async deleteTarget(name: string): Promise<void> {
    try {
      this.targets = await this.host.call('targets.delete', { name })
    } catch (e) {
      this.say(e)
    }
  }

  async refreshRecordings(): Promise<void> {
    try {
      this.recordings = await this.host.call('recording.list', {})
    } catch (e) {
      this.say(e)
    }
  }

  async openRecording(path: string): Promise<void> {
    try {
      this.opened(await this.host.call('recording.open', { path }))
    } catch (e) {
      this.say(e)
    }
  }

  /** A file dropped on the window: by path in Electron, by its bytes in web mode. */
  async openDropped(file: File, path: string | null): Promise<void> {
    if (path) return this.openRecording(path)
    try {
      const buf = new Uint8Array(await file.arrayBuffer())
      let bin = ''
      for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000))
      this.opened(await this.host.call('recording.upload', { name: file.name, base64: btoa(bin) }))
    } catch (e) {
      this.say(e)
    }
  }

  private opened(list: ConnectionSummary[]): void {
    for (const s of list) this.upsert(s)
    this.publishSummaries()
    this.watchOpening()
    if (list[0]) this.select(list[0].id)
    else this.say('The recording has no connections yet.', 'info')
  }

  async startDemo(): Promise<void> {
    try {
      this.demo = await this.host.call('demo.start', {})
      this.targets = await this.host.call('targets.list', {})
    } catch (e) {
      this.say(e)
    }
  }

  say(e: unknown, kind: 'error' | 'info' = 'error'): void {
    const err = e as { code?: string; message?: string }
    const text = typeof e === 'string' ? e : `${err.message ?? String(e)}${err.code ? ` (${err.code})` : ''}`
    this.toast = { text, kind }
    if (this.toastTimer) clearTimeout(this.toastTimer)
    this.toastTimer = setTimeout(() => (this.toast = null), kind === 'error' ? 8000 : 3000)
  }

  private compiled(): ReturnType<typeof compileFilter>['test'] {
    const { test, error } = compileFilter(this.filter)
    this.filterError = error
    return test
  }

  private upsert(s: ConnectionSummary): ConnView {
    let v = this.views.get(s.id)
    if (!v) {
      v = new ConnView(s)
      this.views.set(s.id, v)
      if (this.views.size > MAX_CONNECTIONS) {
        for (const [id, old] of this.views) {
          if (id !== this.selectedId && (old.summary.state === 'closed' || old.summary.state === 'failed')) {
            this.views.delete(id)
            break
          }
        }
      }
      if (s.id === this.selectedId) v.setFilter(this.compiled())
    } else v.summary = s
    return v
  }

  private publishSummaries(): void {
    this.summaries = [...this.views.values()].map((v) => v.summary)
  }

  /** Applies every queued batch, then acknowledges them. One pass per animation frame. */
  private flush(): void {
    this.frameRequested = false
    const queue = this.queue
    this.queue = []
    // A scratch set for one flush, never read reactively.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const touched = new Set<ConnView>()
    let newConn = false
    for (const { batch } of queue) {
      for (const s of batch.summaries) {
        if (!this.views.has(s.id)) newConn = true
        this.upsert(s)
      }
      const evs = batch.events
      let last: ConnView | undefined
      for (let i = 0; i < evs.length; i++) {
        const ev = evs[i]!
        if (last?.id !== ev.conn) last = this.views.get(ev.conn)
        if (!last) continue
        last.add(ev)
        touched.add(last)
      }
      for (const id in batch.coalesced) this.views.get(id)?.addCoalesced(batch.coalesced[id] ?? 0)
      this.counters.batches++
      this.counters.events += evs.length
    }
    for (const v of touched) v.commit()
    if (queue.some((q) => q.batch.summaries.length)) this.publishSummaries()
    if (newConn && !this.selectedId && this.summaries[0]) this.select(this.summaries[0].id)
    for (const q of queue) q.ack()
  }
}
