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

/** Rows kept in the renderer per connection; older ones stay in the recording. */
export const MAX_ROWS = 200_000
/** Rows dropped at once when the cap is reached (amortises the shift). */
export const TRIM_ROWS = 20_000
/** Points kept per chart series (one per stats sample). */
export const MAX_POINTS = 1800
/** Establishment events kept for the waterfall. */
export const MAX_LIFECYCLE = 200

const LIFECYCLE = new Set([
  'conn.state', 'proxy.rule', 'dns', 'tcp', 'proxy.connect', 'proxy.socks', 'tls', 'http.request', 'http.response',
  'open', 'ws.negotiated', 'h2.session', 'error', 'diagnosis', 'end',
])

export class Series {
  readonly t: number[] = []
  readonly cols: number[][]
  constructor(cols: number) {
    this.cols = Array.from({ length: cols }, () => [])
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
  /** Rows dropped here to stay within MAX_ROWS; all are in the recording. */
  dropped = $state(0)
  lifecycle: WiretraceEvent[] = $state.raw([])
  /** Bumped when the filter changes (the list jumps back to the newest rows). */
  filterEpoch = $state(0)
  /** Bumped when a chart series got a point. */
  chartVersion = $state(0)
  /** Time of the first message after the latest open, for the waterfall. */
  firstMessageTs: number | null = $state(null)

  readonly rows: Row[] = []
  /** bytes/s in, out; msgs/s in, out; bufferedAmount; writableLength. */
  readonly stats = new Series(6)
  readonly rtt = new Series(1)
  /** SSE / stream gaps between chunks, ms. */
  readonly gaps = new Series(1)

  private filter: RowPredicate | null = null
  private filtered: Row[] = []
  private filteredUpTo = 0
  private rowsChanged = false
  private lifecycleChanged = false
  private pendingLifecycle: WiretraceEvent[] = []
  private chartsChanged = false
  private awaitingFirst = false

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

  /** O(1) per event: route it to rows, lifecycle or charts. */
  add(ev: WiretraceEvent): void {
    const t = ev.type
    if (t === 'stats') {
      this.stats.push(ev.ts / 1000, ev.rateIn, ev.rateOut, ev.msgRateIn, ev.msgRateOut, ev.bufferedAmount ?? NaN, ev.writableLength ?? NaN)
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
    } else if (this.awaitingFirst && (t === 'ws.message' || t === 'sse.event' || t === 'stream.line' || t === 'stream.data' || t === 'poll.cycle')) {
      this.awaitingFirst = false
      this.firstMessageTs = ev.ts
    }
    const row = toRow(ev)
    if (row) {
      this.rows.push(row)
      this.rowsChanged = true
    }
  }

  addCoalesced(n: number): void {
    this.coalesced += n
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
    if (!this.rowsChanged) return
    this.rowsChanged = false
    if (this.rows.length > MAX_ROWS) {
      const cut = this.rows.length - MAX_ROWS + TRIM_ROWS
      const firstKept = this.rows[cut]!.seq
      this.rows.splice(0, cut)
      this.dropped += cut
      this.filteredUpTo = Math.max(0, this.filteredUpTo - cut)
      if (this.filter?.active) {
        let lo = 0
        while (lo < this.filtered.length && this.filtered[lo]!.seq < firstKept) lo++
        if (lo) this.filtered.splice(0, lo)
      }
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
