/// <reference types="svelte" />
/**
 * The message list's window over a connection (ConnView): older pages put in front with
 * the newest rows dropped past the cap, newer pages appended with the oldest dropped, live
 * rows noted instead of appended while the user browses back, resets for Home and "Jump to
 * latest", and filters. conn.svelte.ts uses runes, so it is compiled here with the real
 * Svelte compiler (vitest runs without the Svelte plugin) and imported from a temp file.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
import { compileModule } from 'svelte/compiler'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WiretraceEvent } from '../../../shared/common/events/index.ts'
import type { ConnectionSummary } from '../../../shared/common/live.ts'
import { compileFilter, EMPTY_FILTER } from '../../../renderer/src/lib/filter.ts'
import type * as ConnModule from '../../../renderer/src/lib/state/conn.svelte.ts'

const SOURCE = path.resolve(import.meta.dirname, '../../../renderer/src/lib/state/conn.svelte.ts')
let tmp: string
let M: typeof ConnModule

beforeAll(async () => {
  const js = ts.transpileModule(fs.readFileSync(SOURCE, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
  }).outputText
  const out = compileModule(js, { filename: SOURCE, generate: 'client', dev: false }).js.code
  // Relative imports point back into the source tree; package imports are resolved from here.
  const fixed = out.replace(/from '([^']+)'/g, (_m, spec: string) => `from '${spec.startsWith('.') ? pathToFileURL(path.resolve(path.dirname(SOURCE), spec)).href : import.meta.resolve(spec)}'`)
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-window-'))
  const file = path.join(tmp, 'conn.svelte.js')
  fs.writeFileSync(file, fixed)
  M = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof ConnModule
})

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

/** Event `seq` of a long connection: every 10th is a stats event (no row), the rest messages, even seqs in, odd out. */
function event(seq: number): WiretraceEvent {
  if (seq % 10 === 9) {
    return { seq, ts: 1000 + seq, conn: 'c1', type: 'stats', intervalMs: 1000, bytesIn: 0, bytesOut: 0, msgsIn: 0, msgsOut: 0, rateIn: 1, rateOut: 1, msgRateIn: 1, msgRateOut: 1 } as WiretraceEvent
  }
  const text = `message ${seq}`
  return { seq, ts: 1000 + seq, conn: 'c1', type: 'ws.message', dir: seq % 2 ? 'out' : 'in', opcode: 1, size: text.length, text } as WiretraceEvent
}

/** What events.range answers for [from, to), capped at `known` (the recording as written so far). */
function range(from: number, to: number, known: number): WiretraceEvent[] {
  const out: WiretraceEvent[] = []
  for (let s = from; s < Math.min(to, known); s++) out.push(event(s))
  return out
}

function summary(events: number): ConnectionSummary {
  return { id: 'c1', events, state: 'open', transport: 'ws', url: 'ws://x/', startedAt: 1000, recordingPath: '/tmp/x.jsonl' } as unknown as ConnectionSummary
}

/** A view that followed a live connection of `n` events (all received). */
function liveView(n: number): ConnModule.ConnView {
  const v = new M.ConnView(summary(0))
  for (let s = 0; s < n; s += 1000) {
    for (let i = s; i < Math.min(n, s + 1000); i++) v.add(event(i))
    v.commit()
  }
  return v
}

/** Reads older pages (as the list does when the user scrolls up) until the newest rows had to leave. */
function browseBack(v: ConnModule.ConnView, known: number): void {
  v.browsing = true
  for (let i = 0; i < 10 && !v.detached; i++) {
    const p = v.olderPage(2000)!
    v.prependOlder(p[0], p[1], range(p[0], p[1], known))
  }
  expect(v.detached).toBe(true)
}

function seqs(v: ConnModule.ConnView): number[] {
  return v.rows.map((r) => r.seq)
}

function inOrder(v: ConnModule.ConnView): boolean {
  for (let i = 1; i < v.rows.length; i++) if (v.rows[i]!.seq <= v.rows[i - 1]!.seq) return false
  return true
}

describe('the row window of a connection', () => {
  it('following the tail keeps the newest rows and notes that older ones exist', () => {
    const v = liveView(80_000)
    expect(v.rows.length).toBeLessThanOrEqual(M.MAX_ROWS)
    expect(v.rows.at(-1)!.seq).toBe(79_998)
    expect(v.hasOlder).toBe(true)
    expect(v.windowStart).toBe(v.rows[0]!.seq)
    expect(v.detached).toBe(false)
    expect(v.holdsBeginning).toBe(false)
    expect(v.span).toMatchObject({ first: v.rows[0]!.seq, last: 79_998, total: 80_000, partial: true })
  })

  it('puts older pages in front and drops the newest rows past the cap, remembering them as newer', () => {
    const v = liveView(80_000)
    v.browsing = true
    let first = v.rows[0]!.seq
    let shown = 0
    while (!v.detached) {
      first = v.rows[0]!.seq
      const p = v.olderPage(2000)!
      expect(p).toEqual([first - 2000, first])
      shown = v.prependOlder(p[0], p[1], range(p[0], p[1], 80_000))
      expect(v.rows.length).toBeLessThanOrEqual(M.MAX_ROWS)
    }
    expect(shown).toBe(1800) // 2,000 events, every 10th a stats event
    expect(v.rows[0]!.seq).toBe(first - 2000)
    expect(v.rows.length).toBe(M.MAX_ROWS)
    expect(inOrder(v)).toBe(true)
    // The newest rows left; the window now ends before them.
    expect(v.detached).toBe(true)
    const end = v.windowEnd!
    expect(v.rows.at(-1)!.seq).toBeLessThan(end)
    expect(v.findRow(end)).toBeNull()
    expect(v.newer).toBe(80_000 - end)
    expect(v.span.partial).toBe(true)
    // Not the page before the rows: ignored.
    expect(v.prependOlder(0, 10, range(0, 10, 80_000))).toBe(0)
    expect(v.rows[0]!.seq).toBe(first - 2000)
  })

  it('pages back to the very first row without ever holding more than MAX_ROWS', () => {
    const v = liveView(120_000)
    v.browsing = true
    let pages = 0
    for (let p = v.olderPage(2000); p; p = v.olderPage(2000)) {
      v.prependOlder(p[0], p[1], range(p[0], p[1], 120_000))
      expect(v.rows.length).toBeLessThanOrEqual(M.MAX_ROWS)
      pages++
    }
    expect(pages).toBeGreaterThan(30)
    expect(v.rows[0]!.seq).toBe(0)
    expect(v.hasOlder).toBe(false)
    expect(v.holdsBeginning).toBe(true)
    expect(inOrder(v)).toBe(true)
    // 50,000 rows from seq 0 (9 rows in every 10 events) end before event 55,556.
    expect(v.rows.length).toBe(M.MAX_ROWS)
    expect(v.windowEnd).toBe(v.rows.at(-1)!.seq + 1)
  })

  it('notes live rows instead of appending them while browsing back, and reads them back page by page', () => {
    const v = liveView(60_000)
    browseBack(v, 60_000)
    const before = seqs(v)
    const end = v.windowEnd!
    // 30,000 live events while the user looks at old rows: no row added, counted as newer.
    for (let i = 60_000; i < 90_000; i++) v.add(event(i))
    v.commit()
    expect(seqs(v)).toEqual(before)
    expect(v.nextSeq).toBe(90_000)
    expect(v.newer).toBe(90_000 - end)
    expect(v.missing).toEqual([])
    // Scrolling down reads them back: the oldest rows leave, and at the tail the window attaches again.
    let pages = 0
    for (let q = v.newerPage(2000); q; q = v.newerPage(2000)) {
      v.appendNewer(q[0], q[1], range(q[0], q[1], v.nextSeq))
      expect(v.rows.length).toBeLessThanOrEqual(M.MAX_ROWS)
      expect(inOrder(v)).toBe(true)
      pages++
    }
    expect(pages).toBeGreaterThan(10)
    expect(v.detached).toBe(false)
    expect(v.newer).toBe(0)
    expect(v.rows.at(-1)!.seq).toBe(89_998)
    expect(v.windowStart).toBe(v.rows[0]!.seq)
    // Attached: live rows are appended again.
    v.browsing = false
    v.add(event(90_000))
    v.commit()
    expect(v.rows.at(-1)!.seq).toBe(90_000)
  })

  it('a short answer to a newer page is the tail: the window attaches once it covers nextSeq', () => {
    const v = liveView(60_000)
    browseBack(v, 60_000)
    for (let q = v.newerPage(5000); q; q = v.newerPage(5000)) v.appendNewer(q[0], q[1], range(q[0], q[1], 60_000))
    expect(v.detached).toBe(false)
    // Events that arrived during a read (seq past the short answer) keep the window detached.
    const w = liveView(60_000)
    browseBack(w, 60_000)
    const q = [w.windowEnd!, w.windowEnd! + 5000] as const
    const answer = range(q[0], q[1], q[0] + 100)
    w.add(event(60_000))
    w.commit()
    w.appendNewer(q[0], q[1], answer)
    expect(w.detached).toBe(true)
    expect(w.windowEnd).toBe(q[0] + 100)
  })

  it('at the cap while browsing near the tail, the newest live rows stop coming instead of the oldest leaving', () => {
    const v = liveView(M.MAX_ROWS + 2000) // 45k–50k rows after trims
    v.browsing = true
    const first = v.rows[0]!.seq
    for (let i = M.MAX_ROWS + 2000; i < M.MAX_ROWS + 20_000; i++) v.add(event(i))
    v.commit()
    expect(v.rows[0]!.seq).toBe(first)
    expect(v.rows.length).toBe(M.MAX_ROWS)
    expect(v.detached).toBe(true)
    expect(v.newer).toBe(v.nextSeq - v.windowEnd!)
    expect(v.newer).toBeGreaterThan(0)
  })

  it('Home resets to an empty window at seq 0; Jump to latest resets to the tail with everything to read back', () => {
    const v = liveView(70_000)
    v.browsing = true
    v.resetAt(0)
    expect(v.rows.length).toBe(0)
    expect(v.detached).toBe(true)
    const q = v.newerPage(2000)!
    expect(q).toEqual([0, 2000])
    v.appendNewer(q[0], q[1], range(q[0], q[1], 70_000))
    expect(v.rows[0]!.seq).toBe(0)
    expect(v.holdsBeginning).toBe(true)
    expect(v.windowEnd).toBe(2000)
    v.resetToTail()
    expect(v.rows.length).toBe(0)
    expect(v.detached).toBe(false)
    expect(v.missing).toEqual([[0, 70_000]])
    expect(v.nextGap(2000)).toEqual([68_000, 70_000])
    expect(v.holdsBeginning).toBe(false)
    v.gapDone(68_000, 70_000)
    v.insertOlder(range(68_000, 70_000, 70_000))
    expect(v.rows.at(-1)!.seq).toBe(69_998)
    // fill() stops at the cap and the rest becomes "older".
    v.dropGapsBefore(68_000)
    expect(v.missing).toEqual([])
    expect(v.windowStart).toBe(68_000)
    expect(v.hasOlder).toBe(true)
  })

  it('with a filter, pages add only the rows it shows, and dropping the newest drops them from the filtered rows', () => {
    const v = liveView(80_000)
    v.setFilter(compileFilter({ ...EMPTY_FILTER, dir: 'in' }).test)
    v.browsing = true
    const shownBefore = v.visible()
    expect(shownBefore.every((r) => r.dir === 'in')).toBe(true)
    const p = v.olderPage(2000)!
    const shown = v.prependOlder(p[0], p[1], range(p[0], p[1], 80_000))
    expect(shown).toBe(1000) // the even seqs of 2,000 (the stats events have odd seqs)
    browseBack(v, 80_000)
    const vis = v.visible()
    expect(vis[0]!.seq).toBe(v.windowStart)
    expect(vis.every((r) => r.dir === 'in')).toBe(true)
    expect(vis.every((r) => r.seq < v.windowEnd!)).toBe(true)
    for (let i = 1; i < vis.length; i++) expect(vis[i]!.seq).toBeGreaterThan(vis[i - 1]!.seq)
    // Every row the window holds that matches is shown, and nothing else.
    expect(vis.length).toBe(v.rows.filter((r) => r.dir === 'in').length)
    // Newer pages keep it so.
    for (let q = v.newerPage(2000); q; q = v.newerPage(2000)) v.appendNewer(q[0], q[1], range(q[0], q[1], 80_000))
    const after = v.visible()
    expect(after.length).toBe(v.rows.filter((r) => r.dir === 'in').length)
    expect(after.at(-1)!.seq).toBe(79_998)
  })

  it('an older page the host answers empty (not recorded) ends the reading back honestly', () => {
    const v = liveView(60_000)
    const p = v.olderPage(2000)!
    v.prependOlder(p[0], p[1], [])
    expect(v.hasOlder).toBe(false)
    expect(v.olderLost).toBe(true)
    expect(v.holdsBeginning).toBe(false)
  })

  it("the waterfall's first message is a long-poll reply that carried data, not a timeout or an empty reply (as msgsIn counts)", () => {
    const cycle = (outcome: string): WiretraceEvent => ({ seq: 1, ts: 1, conn: 'c1', type: 'poll.cycle', index: 0, method: 'GET', url: 'http://x/', status: null, heldMs: 1, durationMs: 1, outcome }) as WiretraceEvent
    expect(['data', 'empty', 'timeout', 'error', 'http-error'].map((o) => M.isFirstMessage(cycle(o)))).toEqual([true, false, false, false, false])
    expect(M.isFirstMessage(event(2))).toBe(true)
    expect(M.isFirstMessage(event(9))).toBe(false)
  })

  it('indexOfSeq finds the first row at or after a seq', () => {
    const rows = [1, 3, 5, 7].map((seq) => ({ seq }) as ConnModule.ConnView['rows'][number])
    expect([0, 1, 2, 3, 7, 8].map((s) => M.indexOfSeq(rows, s))).toEqual([0, 0, 1, 1, 3, 4])
  })
})
