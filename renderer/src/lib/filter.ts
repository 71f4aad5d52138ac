/** Message-list filtering: text or regex search, direction, kind and size. Pure. */
import type { Row } from './rows.ts'

export interface FilterSpec {
  text: string
  regex: boolean
  dir: 'all' | 'in' | 'out'
  /** messages: data messages only; control: ping/pong/close/comments; events: everything. */
  kind: 'all' | 'messages' | 'control' | 'errors'
  minSize: number | null
  maxSize: number | null
}

export const EMPTY_FILTER: FilterSpec = { text: '', regex: false, dir: 'all', kind: 'all', minSize: null, maxSize: null }

export type RowPredicate = ((r: Row) => boolean) & { active: boolean }

/** Compiles a filter; returns an error message for a bad regex instead of throwing. */
export function compileFilter(f: FilterSpec): { test: RowPredicate; error: string | null } {
  let error: string | null = null
  let re: RegExp | null = null
  const needle = f.text.trim().toLowerCase()
  const plain = !f.regex && needle ? new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i') : null
  if (f.regex && f.text) {
    try {
      re = new RegExp(f.text, 'i')
    } catch (e) {
      error = `Invalid regular expression: ${(e as Error).message}`
    }
  }
  const active = Boolean((f.regex ? re : needle) || f.dir !== 'all' || f.kind !== 'all' || f.minSize !== null || f.maxSize !== null)
  const test = ((r: Row): boolean => {
    if (f.dir !== 'all' && r.dir !== f.dir) return false
    if (f.kind === 'messages' && r.kind !== 'msg') return false
    if (f.kind === 'control' && r.kind !== 'control' && r.kind !== 'close') return false
    if (f.kind === 'errors' && r.kind !== 'error') return false
    if (f.minSize !== null && r.size < f.minSize) return false
    if (f.maxSize !== null && r.size > f.maxSize) return false
    if (re) return re.test(r.preview) || re.test(r.label)
    if (plain) return plain.test(r.label) || plain.test(r.preview)
    return true
  }) as RowPredicate
  test.active = active
  return { test, error }
}

/**
 * Applies filter edits: typing is debounced, other edits apply at once, and an edit never
 * drops a pending one (a select change right after typing keeps the typed text).
 */
export class FilterEditor {
  private pending: Partial<FilterSpec> = {}
  private timer: unknown = null
  private readonly current: () => FilterSpec
  private readonly apply: (f: FilterSpec) => void
  private readonly timers: { set(fn: () => void, ms: number): unknown; clear(t: unknown): void }

  constructor(
    current: () => FilterSpec,
    apply: (f: FilterSpec) => void,
    timers: { set(fn: () => void, ms: number): unknown; clear(t: unknown): void },
    readonly debounceMs = 120,
  ) {
    this.current = current
    this.apply = apply
    this.timers = timers
  }

  update(patch: Partial<FilterSpec>, debounce = false): void {
    this.pending = { ...this.pending, ...patch }
    if (this.timer !== null) this.timers.clear(this.timer)
    this.timer = null
    if (debounce) this.timer = this.timers.set(() => this.flush(), this.debounceMs)
    else this.flush()
  }

  flush(): void {
    this.timer = null
    const next = { ...this.current(), ...this.pending }
    this.pending = {}
    this.apply(next)
  }
}
