/**
 * One connection as the inspector sees it: its summary, a bounded list of rows, the
 * establishment events of the latest attempt (for the waterfall), and chart series.
 * Rows live in a plain array (never deep $state); one version signal per applied batch
 * tells the view to re-read it, so 100k events/s cost O(1) per event and one update per frame.
 */
import type { WiretraceEvent } from '../../../../shared/common/events/index.ts'
import type { ConnectionSummary } from '../../../../shared/common/live.ts'
import { toRow, type Row } from '../rows.ts'
import type { RowPredicate } from '../filter.ts'

/**
 * Rows kept in the renderer per connection: a window of the connection's events. The rest
 * stay in the recording and are read back by seq as the user scrolls (older pages prepended,
 * newer pages appended, the far end dropped). 50k rows are ~10 MB of heap: reached in seconds
 * at 100k events/s, after which the heap stays flat, and small enough that leaving the tail
 * (the virtual list takes the whole array) stays within a frame.
 */
export const MAX_ROWS = 50_000
/** Rows dropped at once when the cap is reached (amortises the shift). */
export const TRIM_ROWS = 5_000
/** Points kept per chart series (one per stats sample). */
export const MAX_POINTS = 1800
/** Establishment events kept for the waterfall. */
export const MAX_LIFECYCLE = 200
/** Gaps (seq ranges never received) remembered per connection; more are merged. */
export const MAX_GAPS = 256

const LIFECYCLE = new Set([
  'conn.state', 'proxy.rule', 'dns', 'tcp', 'proxy.connect', 'proxy.socks', 'tls', 'http.request', 'http.response',
  'open', 'ws.negotiated', 'h2.session', 'error', 'diagnosis', 'end',
])

/** A message for the waterfall's "first message": a long-poll cycle only when it carried data (as msgsIn counts). */
export function isFirstMessage(e: WiretraceEvent): boolean {
  const t = e.type
  return t === 'ws.message' || t === 'sse.event' || t === 'stream.line' || t === 'stream.data' || (t === 'poll.cycle' && e.outcome === 'data')
}

/** The first index in `rows` (sorted by seq) whose seq is >= `seq` (rows.length if none). */
export function indexOfSeq(rows: readonly Row[], seq: number): number {
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (rows[mid]!.seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class Series {
  readonly t: number[] = []
  readonly cols: number[][]
  constructor(cols: number) {
    this.cols = Array.from({ length: cols }, () => [])
  }
  /** Inserts a point in time order (read-back events arrive older than the live ones). */
  insert(t: number, ...values: number[]): void {
    const ts = this.t
    if (!ts.length || t >= ts[ts.length - 1]!) return this.push(t, ...values)
    let lo = 0
    let hi = ts.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (ts[mid]! <= t) lo = mid + 1
      else hi = mid
    }
    if (lo === 0 && ts.length >= MAX_POINTS) return
    ts.splice(lo, 0, t)
    for (let i = 0; i < this.cols.length; i++) this.cols[i]!.splice(lo, 0, values[i] ?? NaN)
    if (ts.length > MAX_POINTS) {
      ts.shift()
      for (const c of this.cols) c.shift()
    }
  }
  push(t: number, ...values: number[]): void {
    this.t.push(t)
    for (let i = 0; i < this.cols.length; i++) this.cols[i]!.push(values[i] ?? NaN)
    if (this.t.length > MAX_POINTS) {
      const cut = this.t.length - MAX_POINTS
      this.t.splice(0, cut)
      for (const c of this.cols) c.splice(0, cut)
    }
  }
}

export class ConnView {
  readonly id: string
  summary: ConnectionSummary = $state.raw(null as unknown as ConnectionSummary)
  /** Bumped once per applied batch that changed rows. */
  version = $state(0)
  /** Rows the live view never received (the host coalesced them); all are in the recording. */
  coalesced = $state(0)
  /**
   * The window the rows cover. Events with seq < windowStart are not held (older: read back a
   * page at a time when the user scrolls up). windowEnd null: the rows reach the live tail and
   * live rows are appended; otherwise events with seq >= windowEnd are not held (newer: the
   * user is browsing older history; live events only move nextSeq, and scrolling down or
   * "Jump to latest" reads them back).
   */
  windowStart = 0
  windowEnd: number | null = null
  /** Bumped when the window moved by a page or was reset (the list re-reads at once, keeping its place). */
  windowVersion = $state(0)
  /** Events newer than the window that arrived while browsing back (not held; in the recording). */
  newer = $state(0)
  /** A page of older or newer rows is being read. */
  paging: 'older' | 'newer' | null = $state(null)
  /**
   * The list is browsing (not following the tail): at the cap, live rows then stop being
   * appended (the window detaches from the tail) instead of pushing the oldest rows out from
   * under the user.
   */
  browsing = false
  /** Bumped on every reset of the window: reads begun before it are discarded. */
  epoch = 0
  /** An older page came back empty: the host has nothing before windowStart (a connection not recorded). */
  olderLost = false
  lifecycle: WiretraceEvent[] = $state.raw([])
  /** Bumped when the filter changes (the list jumps back to the newest rows). */
  filterEpoch = $state(0)
  /** Bumped when a chart series got a point. */
  chartVersion = $state(0)
  /** Time of the first message after the latest open, for the waterfall. */
  firstMessageTs: number | null = $state(null)
  /** The saved network profile the connection used (its conn.start's network.name), named on the route. */
  profileName: string | null = $state(null)

  readonly rows: Row[] = []
  /** bytes/s in, out; msgs/s in, out; bufferedAmount; writableLength. */
  /** rateIn, rateOut, msgRateIn, msgRateOut, bufferedAmount, writableLength, h2LocalWindow, h2RemoteWindow */
  readonly stats = new Series(8)
  readonly rtt = new Series(1)
  /** SSE / stream gaps between chunks, ms. */
  readonly gaps = new Series(1)

  private filter: RowPredicate | null = null
  private filtered: Row[] = []
  private filteredUpTo = 0
  private rowsChanged = false
  private newerChanged = false
  private lifecycleChanged = false
  private pendingLifecycle: WiretraceEvent[] = []
  private chartsChanged = false
  private awaitingFirst = false
  /** seq after the newest event received. */
  nextSeq = 0
  /** Seq ranges [from, to) this view never received (coalesced, or from before a reload); fetched with events.range. */
  readonly missing: Array<[number, number]> = []
  /** Rows are being read back from the host. */
  filling = $state(false)

  constructor(summary: ConnectionSummary) {
    this.id = summary.id
    this.summary = summary
  }

  /** The rows to show for the current filter (a fresh array so the list sees the change). */
  visible(): Row[] {
    return this.filter?.active ? this.filtered.slice() : this.rows.slice()
  }

  /** The row with this seq, by binary search (rows are in seq order). */
  findRow(seq: number): Row | null {
    const a = this.rows
    let lo = 0
    let hi = a.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const s = a[mid]!.seq
      if (s === seq) return a[mid]!
      if (s < seq) lo = mid + 1
      else hi = mid - 1
    }
    return null
  }

  /** The newest `n` rows for the current filter (what the tail view shows): O(n), no full copy. */
  tail(n: number): Row[] {
    const src = this.filter?.active ? this.filtered : this.rows
    return src.slice(Math.max(0, src.length - n))
  }

  get matchCount(): number {
    void this.version
    return this.filter?.active ? this.filtered.length : this.rows.length
  }

  setFilter(test: RowPredicate | null): void {
    this.filter = test
    this.filtered = []
    this.filteredUpTo = 0
    this.refilter()
    this.filterEpoch++
    this.version++
  }

  /** Notes a gap before `seq` when events were skipped (not when detached: all of that is "newer"). */
  private noteSeq(seq: number): void {
    if (seq > this.nextSeq && this.windowEnd === null) this.addGap(this.nextSeq, seq)
    if (seq >= this.nextSeq) this.nextSeq = seq + 1
  }

  /** Older events exist that the rows do not hold. */
  get hasOlder(): boolean {
    return this.windowStart > 0
  }

  /** rows[0] is the connection's first row: nothing older exists and no gap before it is waiting to be read. */
  get holdsBeginning(): boolean {
    void this.version
    void this.windowVersion
    const g = this.missing[0]
    return this.windowStart === 0 && !this.olderLost && !(g && g[0] < (this.rows[0]?.seq ?? Infinity))
  }

  /** The window stopped short of the tail (browsing back): newer events are not held. */
  get detached(): boolean {
    return this.windowEnd !== null
  }

  /** Events the connection has as far as this view knows. */
  get total(): number {
    return Math.max(this.nextSeq, this.summary.events ?? 0)
  }

  /** What the rows cover, for the header ("showing #a–#b of N"); partial when some events are not held. */
  get span(): { first: number; last: number; total: number; partial: boolean } {
    void this.version
    void this.windowVersion
    const total = this.total
    const first = this.rows[0]?.seq ?? this.windowStart
    const last = this.rows[this.rows.length - 1]?.seq ?? first
    return { first, last, total, partial: this.windowStart > 0 || this.windowEnd !== null }
  }

  /** The next older page to read, [from, to) with at most `max` events, or null at the beginning. */
  olderPage(max: number): [number, number] | null {
    if (this.windowStart <= 0) return null
    return [Math.max(0, this.windowStart - max), this.windowStart]
  }

  /** The next newer page to read while detached, [from, to) with at most `max` events, or null at the tail. */
  newerPage(max: number): [number, number] | null {
    if (this.windowEnd === null) return null
    if (this.windowEnd >= this.nextSeq) {
      this.attach()
      return null
    }
    return [this.windowEnd, Math.min(this.nextSeq, this.windowEnd + max)]
  }

  private attach(): void {
    this.windowEnd = null
    this.newer = 0
    this.windowVersion++
  }

  /** Rows for these events (a page read back): no charts or lifecycle (they keep the latest). */
  private pageRows(events: WiretraceEvent[], from: number, to: number): Row[] {
    const out: Row[] = []
    for (const ev of events) {
      if (ev.seq < from || ev.seq >= to) continue
      const row = this.toRow(ev)
      if (row) out.push(row)
    }
    return out
  }

  /**
   * An older page [from, to) read back (to == windowStart), put in front of the rows. Past
   * MAX_ROWS the newest rows are dropped and the window detaches from the tail. Returns the
   * rows added that the filter shows.
   */
  prependOlder(from: number, to: number, events: WiretraceEvent[]): number {
    if (to !== this.windowStart || from >= to) return 0
    if (!events.length) {
      // The host has none of them (not recorded): nothing older can be read.
      this.olderLost = true
      this.windowStart = 0
      this.windowVersion++
      return 0
    }
    const add = this.pageRows(events, from, to)
    this.windowStart = from
    let shown = add.length
    if (add.length) {
      this.rows.splice(0, 0, ...add)
      this.filteredUpTo += add.length
      const f = this.filter
      if (f?.active) {
        const match = add.filter((r) => f(r))
        shown = match.length
        if (match.length) this.filtered.splice(0, 0, ...match)
      }
      if (this.rows.length > MAX_ROWS) this.trimNewest(this.rows.length - MAX_ROWS)
      this.version++
    }
    this.windowVersion++
    return shown
  }

  /**
   * A newer page [from, to) read back while detached (from == windowEnd), put after the rows.
   * `to` is where the host's answer ends: once it reaches the tail the window attaches again
   * and live rows are appended. Past MAX_ROWS the oldest rows are dropped. Returns the rows
   * added that the filter shows.
   */
  appendNewer(from: number, to: number, events: WiretraceEvent[]): number {
    if (this.windowEnd === null || from !== this.windowEnd || from >= to) return 0
    const add = this.pageRows(events, from, to)
    const lastSeq = events.length ? events[events.length - 1]!.seq + 1 : from
    // A short answer means the host had no more: that is the tail as of the call.
    const end = events.length >= to - from ? to : Math.max(from, lastSeq)
    for (const r of add) this.rows.push(r)
    const before = this.filtered.length
    this.refilter()
    const shown = this.filter?.active ? this.filtered.length - before : add.length
    if (this.rows.length > MAX_ROWS) this.trimOldest(this.rows.length - MAX_ROWS)
    this.windowEnd = end
    if (end >= this.nextSeq) this.attach()
    else if (end === from) {
      // The host has none of them (not recorded): back to the tail, the hole noted.
      this.attach()
      this.addGap(end, this.nextSeq)
    } else this.newer = this.nextSeq - end
    this.version++
    this.windowVersion++
    return shown
  }

  /** Drops the `n` newest rows: the window now ends before them (they stay in the recording). */
  private trimNewest(n: number): void {
    if (n <= 0) return
    const keep = this.rows.length - n
    const firstDropped = this.rows[keep]!.seq
    this.rows.length = keep
    if (this.filteredUpTo > keep) this.filteredUpTo = keep
    const fl = this.filtered
    while (fl.length && fl[fl.length - 1]!.seq >= firstDropped) fl.pop()
    this.windowEnd = this.windowEnd === null ? firstDropped : Math.min(this.windowEnd, firstDropped)
    this.newer = this.nextSeq - this.windowEnd
    // Gaps past the window are read back with the newer pages.
    for (let i = this.missing.length - 1; i >= 0; i--) {
      const g = this.missing[i]!
      if (g[0] >= firstDropped) this.missing.splice(i, 1)
      else if (g[1] > firstDropped) g[1] = firstDropped
    }
  }

  /** Drops the `n` oldest rows: the window now starts at the first kept one. */
  private trimOldest(n: number): void {
    if (n <= 0) return
    const firstKept = this.rows[n]?.seq ?? this.nextSeq
    this.rows.splice(0, n)
    this.filteredUpTo = Math.max(0, this.filteredUpTo - n)
    if (this.filter?.active) {
      const lo = indexOfSeq(this.filtered, firstKept)
      if (lo) this.filtered.splice(0, lo)
    }
    this.windowStart = Math.max(this.windowStart, firstKept)
    this.dropGapsBefore(firstKept)
  }

  private clearRows(): void {
    this.rows.length = 0
    this.filtered = []
    this.filteredUpTo = 0
    this.missing.length = 0
    this.coalesced = 0
    this.olderLost = false
    this.epoch++
  }

  /**
   * Back to the live tail from a detached window: the rows are dropped and everything is
   * noted missing, so fill() reads the newest events back (newest first, up to the cap) and
   * live rows are appended again.
   */
  resetToTail(): void {
    this.clearRows()
    this.windowStart = 0
    this.windowEnd = null
    this.newer = 0
    this.addGap(0, this.nextSeq)
    this.version++
    this.windowVersion++
  }

  /** An empty window detached at `seq` (Home: the beginning); newer pages are then read from there. */
  resetAt(seq: number): void {
    this.clearRows()
    this.windowStart = seq
    this.windowEnd = seq
    this.newer = this.nextSeq - seq
    this.version++
    this.windowVersion++
  }

  private addGap(from: number, to: number): void {
    if (to <= from) return
    const last = this.missing[this.missing.length - 1]
    if (last && last[1] >= from) last[1] = Math.max(last[1], to)
    else this.missing.push([from, to])
    if (this.missing.length > MAX_GAPS) {
      // Merge the two oldest: over-fetching a little beats forgetting a gap.
      const [a, b] = this.missing.splice(0, 2) as [[number, number], [number, number]]
      this.missing.unshift([a[0], b[1]])
    }
  }

  /** A finished (or not live) connection whose newest events never arrived: note the missing tail. */
  noteKnownEnd(events: number): void {
    if (events > this.nextSeq) {
      if (this.windowEnd === null) this.addGap(this.nextSeq, events)
      this.nextSeq = events
      if (this.windowEnd !== null) this.newer = this.nextSeq - this.windowEnd
    }
  }

  /** The newest missing range to fetch next, at most `max` events, and not past the row cap. */
  nextGap(max: number): [number, number] | null {
    const g = this.missing[this.missing.length - 1]
    if (!g) return null
    const from = Math.max(g[0], g[1] - max)
    return [from, g[1]]
  }

  /** Marks [from, to) as fetched (whatever the host returned). */
  gapDone(from: number, to: number): void {
    for (let i = this.missing.length - 1; i >= 0; i--) {
      const g = this.missing[i]!
      if (to <= g[0] || from >= g[1]) continue
      const parts: Array<[number, number]> = []
      if (g[0] < from) parts.push([g[0], from])
      if (to < g[1]) parts.push([to, g[1]])
      this.missing.splice(i, 1, ...parts)
    }
  }

  /**
   * Drops the gaps older than `seq` (the row cap: they would be trimmed at once); the window
   * then starts there (older pages are read back when the user scrolls up).
   */
  dropGapsBefore(seq: number): void {
    while (this.missing.length && this.missing[0]![1] <= seq) this.missing.shift()
    if (this.missing[0] && this.missing[0][0] < seq) this.missing[0][0] = seq
    if (seq > this.windowStart) {
      this.windowStart = seq
      this.windowVersion++
    }
  }

  /**
   * Events read back from the host (events.range), a contiguous run older than or between
   * the rows held: merged in seq order into rows, lifecycle and charts.
   */
  insertOlder(events: WiretraceEvent[]): number {
    if (!events.length) return 0
    const newRows: Row[] = []
    const life: WiretraceEvent[] = []
    for (const ev of events) {
      if (this.findRow(ev.seq)) continue
      const t = ev.type
      if (t === 'stats') this.stats.insert(ev.ts / 1000, ev.rateIn, ev.rateOut, ev.msgRateIn, ev.msgRateOut, ev.bufferedAmount ?? NaN, ev.writableLength ?? NaN, ev.h2LocalWindow ?? NaN, ev.h2RemoteWindow ?? NaN)
      else if (t === 'chunk') this.gaps.insert(ev.ts / 1000, ev.gapMs)
      else if (t === 'ws.pong' && ev.rttMs !== undefined) this.rtt.insert(ev.ts / 1000, ev.rttMs)
      else if (t === 'h2.ping') this.rtt.insert(ev.ts / 1000, ev.rttMs)
      if (LIFECYCLE.has(t)) life.push(ev)
      const row = this.toRow(ev)
      if (row) newRows.push(row)
    }
    this.chartsChanged = true
    if (life.length) this.mergeLifecycle(life, events)
    if (newRows.length) {
      // One contiguous run: it goes in at one place.
      const first = newRows[0]!.seq
      let lo = 0
      let hi = this.rows.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (this.rows[mid]!.seq < first) lo = mid + 1
        else hi = mid
      }
      this.rows.splice(lo, 0, ...newRows)
      this.filtered = []
      this.filteredUpTo = 0
      this.rowsChanged = true
    }
    this.coalesced = Math.max(0, this.coalesced - events.length)
    this.commit()
    return newRows.length
  }

  /** Lifecycle of the latest attempt, with older events read back merged in seq order. */
  private mergeLifecycle(older: WiretraceEvent[], run: WiretraceEvent[]): void {
    const sorted = [...older, ...this.pendingLifecycle].sort((a, b) => a.seq - b.seq)
    const all = sorted.filter((e, i) => i === 0 || sorted[i - 1]!.seq !== e.seq)
    let start = 0
    for (let i = all.length - 1; i >= 0; i--) {
      const e = all[i]!
      if (e.type === 'conn.state' && e.state === 'connecting') {
        start = i
        break
      }
    }
    this.pendingLifecycle = all.slice(start, start + MAX_LIFECYCLE)
    this.lifecycleChanged = true
    if (this.firstMessageTs === null) {
      const open = this.pendingLifecycle.findLast((e) => e.type === 'open')
      if (open) {
        const first = run.find((e) => e.seq > open.seq && isFirstMessage(e))
        if (first) this.firstMessageTs = first.ts
      }
    }
  }

  /** O(1) per event: route it to rows, lifecycle or charts. */
  add(ev: WiretraceEvent): void {
    // Already read back with events.range (rare: a batch in flight while filling).
    if (ev.seq < this.nextSeq && this.findRow(ev.seq)) return
    this.noteSeq(ev.seq)
    const t = ev.type
    if (t === 'stats') {
      this.stats.push(ev.ts / 1000, ev.rateIn, ev.rateOut, ev.msgRateIn, ev.msgRateOut, ev.bufferedAmount ?? NaN, ev.writableLength ?? NaN, ev.h2LocalWindow ?? NaN, ev.h2RemoteWindow ?? NaN)
      this.chartsChanged = true
      return
    }
    if (t === 'chunk') {
      this.gaps.push(ev.ts / 1000, ev.gapMs)
      this.chartsChanged = true
      return
    }
    if (t === 'ws.pong' && ev.rttMs !== undefined) {
      this.rtt.push(ev.ts / 1000, ev.rttMs)
      this.chartsChanged = true
    } else if (t === 'h2.ping') {
      this.rtt.push(ev.ts / 1000, ev.rttMs)
      this.chartsChanged = true
    }
    if (LIFECYCLE.has(t)) {
      if (t === 'conn.state' && ev.state === 'connecting') {
        this.pendingLifecycle = []
        this.awaitingFirst = false
        this.firstMessageTs = null
      }
      if (t === 'open') this.awaitingFirst = true
      if (this.pendingLifecycle.length < MAX_LIFECYCLE) this.pendingLifecycle.push(ev)
      this.lifecycleChanged = true
    } else if (this.awaitingFirst && isFirstMessage(ev)) {
      this.awaitingFirst = false
      this.firstMessageTs = ev.ts
    }
    if (this.windowEnd !== null) {
      // Browsing back: the newer events stay in the recording.
      if (t === 'conn.start') this.toRow(ev)
      this.newerChanged = true
      return
    }
    const row = this.toRow(ev)
    if (row) {
      this.rows.push(row)
      this.rowsChanged = true
    }
  }

  /** A row for an event; the connection's start names its network profile, which the route row shows. */
  private toRow(ev: WiretraceEvent): Row | null {
    if (ev.type === 'conn.start') {
      const name = ev.spec.network?.name ?? null
      if (name !== this.profileName) this.profileName = name
    }
    return toRow(ev, this.profileName)
  }

  addCoalesced(n: number): void {
    if (this.windowEnd === null) this.coalesced += n
  }

  /** Once per applied batch: trim, filter the new rows, publish. */
  commit(): void {
    if (this.lifecycleChanged) {
      this.lifecycleChanged = false
      this.lifecycle = this.pendingLifecycle.slice()
    }
    if (this.chartsChanged) {
      this.chartsChanged = false
      this.chartVersion++
    }
    if (this.newerChanged) {
      this.newerChanged = false
      if (this.windowEnd !== null) this.newer = this.nextSeq - this.windowEnd
    }
    if (!this.rowsChanged) return
    this.rowsChanged = false
    if (this.rows.length > MAX_ROWS) {
      // Following: the oldest rows leave. Browsing: the newest stop coming (the user's place stays).
      if (this.browsing) {
        this.trimNewest(this.rows.length - MAX_ROWS)
        this.windowVersion++
      } else this.trimOldest(this.rows.length - MAX_ROWS + TRIM_ROWS)
    }
    this.refilter()
    this.version++
  }

  private refilter(): void {
    const f = this.filter
    if (!f?.active) {
      this.filteredUpTo = this.rows.length
      return
    }
    const rows = this.rows
    for (let i = this.filteredUpTo; i < rows.length; i++) if (f(rows[i]!)) this.filtered.push(rows[i]!)
    this.filteredUpTo = rows.length
  }
}
