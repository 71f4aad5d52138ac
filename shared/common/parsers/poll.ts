/**
 * Long-poll logic without I/O: reading the next cursor from a response (a JSON path into the
 * body or a response header), the scheduler that decides when the next request goes out
 * (delay after success, backoff with jitter after errors, cycle and error caps), and the
 * doctor that names classic failures from a run of cycles (responses cut at a constant hold
 * time, 502/504 from an intermediary, empty replies). Each piece is fed plain values and a
 * clock-free outcome; randomness is injected.
 */
import type { HeaderPairs } from '../events/base.ts'

// ---------------------------------------------------------------------------------------
// Cursor extraction

export type PathSegment = string | number

/**
 * Parses a JSON path: `$.a.b`, `a.b`, `$.items[0].id`, `$.items[-1].id` (from the end),
 * `$['key.with.dots']`, `$["x"]`. Throws an Error naming the position on bad syntax.
 */
export function parseJsonPath(path: string): PathSegment[] {
  const p = path.trim()
  if (p === '') throw new Error('empty JSON path')
  let i = 0
  const out: PathSegment[] = []
  if (p[0] === '$') i = 1
  else {
    // a bare first key: "data.next"
    const m = /^[^.[\]]+/.exec(p)
    if (!m) throw new Error(`JSON path "${path}": expected a key at position 0`)
    out.push(m[0])
    i = m[0].length
  }
  while (i < p.length) {
    const c = p[i]
    if (c === '.') {
      const m = /^[^.[\]]+/.exec(p.slice(i + 1))
      if (!m) throw new Error(`JSON path "${path}": expected a key after "." at position ${i}`)
      out.push(m[0])
      i += 1 + m[0].length
    } else if (c === '[') {
      const rest = p.slice(i + 1)
      const num = /^(-?\d+)\]/.exec(rest)
      const quoted = /^(['"])((?:\\.|(?!\1).)*)\1\]/.exec(rest)
      if (num) {
        out.push(Number.parseInt(num[1]!, 10))
        i += 1 + num[0].length
      } else if (quoted) {
        out.push(quoted[2]!.replace(/\\(.)/g, '$1'))
        i += 1 + quoted[0].length
      } else throw new Error(`JSON path "${path}": bad bracket at position ${i} (use [0], [-1] or ['key'])`)
    } else throw new Error(`JSON path "${path}": unexpected "${c}" at position ${i}`)
  }
  return out
}

export type CursorResult = { ok: true; value: string } | { ok: false; reason: string }

/** Follows parsed segments into a JSON value; strings as is, numbers/booleans as text, objects as JSON. */
export function readJsonPath(value: unknown, segments: PathSegment[]): CursorResult {
  let cur: unknown = value
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k]!
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return { ok: false, reason: `not an array at segment ${k} ([${seg}])` }
      const idx = seg < 0 ? cur.length + seg : seg
      if (idx < 0 || idx >= cur.length) return { ok: false, reason: `index ${seg} out of range (length ${cur.length})` }
      cur = cur[idx]
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) {
        return { ok: false, reason: `not an object at segment ${k} (.${seg})` }
      }
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return { ok: false, reason: `no key "${seg}"` }
      cur = (cur as Record<string, unknown>)[seg]
    }
  }
  if (cur === null || cur === undefined) return { ok: false, reason: 'the value is null' }
  if (typeof cur === 'string') return { ok: true, value: cur }
  if (typeof cur === 'number' || typeof cur === 'boolean') return { ok: true, value: String(cur) }
  return { ok: true, value: JSON.stringify(cur) }
}

/** Reads a header value (first match, case-insensitive name). */
export function headerValue(headers: HeaderPairs, name: string): string | undefined {
  const lower = name.toLowerCase()
  for (const [k, v] of headers) if (k.toLowerCase() === lower) return v
  return undefined
}

export interface CursorSource {
  json?: string
  header?: string
}

/**
 * The next cursor from a response: the header first when both are set, then the JSON path
 * into the body text. A body that is not JSON is a failure with the parse error as reason.
 */
export function extractCursor(from: CursorSource, headers: HeaderPairs, bodyText: string | null, parsedPath?: PathSegment[]): CursorResult {
  if (from.header) {
    const v = headerValue(headers, from.header)
    if (v !== undefined) return { ok: true, value: v }
    if (!from.json) return { ok: false, reason: `no "${from.header}" header in the response` }
  }
  if (from.json) {
    if (bodyText === null || bodyText === '') return { ok: false, reason: 'the body is empty' }
    let doc: unknown
    try {
      doc = JSON.parse(bodyText)
    } catch (e) {
      return { ok: false, reason: `the body is not JSON (${(e as Error).message})` }
    }
    return readJsonPath(doc, parsedPath ?? parseJsonPath(from.json))
  }
  return { ok: false, reason: 'no cursor source configured' }
}

/** Puts the cursor into the request: a query parameter (set, replacing) or a header (set, replacing). */
export function applyCursor(
  url: string,
  headers: HeaderPairs,
  to: { query?: string; header?: string },
  cursor: string | undefined,
): { url: string; headers: HeaderPairs } {
  if (cursor === undefined) return { url, headers }
  let outUrl = url
  let outHeaders = headers
  if (to.query) {
    const q = url.indexOf('?')
    const hash = url.indexOf('#')
    const base = q === -1 ? (hash === -1 ? url : url.slice(0, hash)) : url.slice(0, q)
    const query = q === -1 ? '' : url.slice(q + 1, hash === -1 ? undefined : hash)
    const kept = query === '' ? [] : query.split('&').filter((kv) => decodeURIComponent(kv.split('=')[0]!.replace(/\+/g, ' ')) !== to.query)
    kept.push(`${encodeURIComponent(to.query)}=${encodeURIComponent(cursor)}`)
    outUrl = `${base}?${kept.join('&')}`
  }
  if (to.header) {
    const lower = to.header.toLowerCase()
    outHeaders = headers.filter(([k]) => k.toLowerCase() !== lower)
    outHeaders.push([to.header, cursor])
  }
  return { url: outUrl, headers: outHeaders }
}

// ---------------------------------------------------------------------------------------
// Scheduler

export type PollOutcome = 'data' | 'empty' | 'timeout' | 'error' | 'http-error'

export interface PollSchedule {
  /** Delay after a successful cycle ('data' or 'empty'), ms. */
  delayMs: number
  /** Backoff after failed cycles: initial, cap, multiplier, full jitter or none. */
  initialDelayMs: number
  maxDelayMs: number
  multiplier: number
  jitter: 'full' | 'none'
  /** Stop after this many cycles in total (0 = unlimited). */
  maxCycles: number
  /** Give up after this many consecutive failed cycles (0 = never). */
  maxConsecutiveErrors: number
}

export type PollDecision = { action: 'poll'; delayMs: number; backoff: boolean } | { action: 'stop'; reason: string; clean: boolean }

export class PollScheduler {
  cycles = 0
  consecutiveErrors = 0
  private readonly s: PollSchedule
  private readonly random: () => number

  constructor(schedule: PollSchedule, random: () => number = Math.random) {
    this.s = schedule
    this.random = random
  }

  /** Call after each cycle with its outcome: what to do next. */
  next(outcome: PollOutcome): PollDecision {
    this.cycles++
    const failed = outcome === 'error' || outcome === 'timeout' || outcome === 'http-error'
    if (failed) this.consecutiveErrors++
    else this.consecutiveErrors = 0
    if (this.s.maxCycles > 0 && this.cycles >= this.s.maxCycles) {
      return { action: 'stop', reason: `${this.cycles} cycles done (maxCycles)`, clean: !failed }
    }
    if (!failed) return { action: 'poll', delayMs: this.s.delayMs, backoff: false }
    if (this.s.maxConsecutiveErrors > 0 && this.consecutiveErrors >= this.s.maxConsecutiveErrors) {
      return { action: 'stop', reason: `${this.consecutiveErrors} failed cycles in a row`, clean: false }
    }
    const exp = this.s.initialDelayMs * Math.pow(this.s.multiplier, this.consecutiveErrors - 1)
    const cap = Math.min(this.s.maxDelayMs, exp)
    const d = this.s.jitter === 'full' ? this.random() * cap : cap
    return { action: 'poll', delayMs: Math.max(this.s.delayMs, Math.round(d)), backoff: true }
  }
}

// ---------------------------------------------------------------------------------------
// Doctor

export interface PollCycleFacts {
  outcome: PollOutcome
  status: number | null
  /** From the request written to the response head (or to the failure), ms. */
  heldMs: number
  bodySize: number
  headers?: HeaderPairs
  /** WT_* code of a failure, if any. */
  errorCode?: string
  /** The connection closed before any response byte (curl's "Empty reply from server"). */
  noResponse?: boolean
}

/** A diagnosis without the envelope (the transport adds conn, seq, ts). */
export interface PollDiagnosis {
  type: 'diagnosis'
  code: 'WT_POLL_HOLD_CUT' | 'WT_POLL_INTERMEDIARY' | 'WT_POLL_EMPTY_REPLY' | 'WT_POLL_NOT_HELD'
  severity: 'info' | 'warning' | 'error'
  title: string
  explanation: string
  suggestions: string[]
}

const RING = 6

/**
 * Watches cycles and names the classic long-poll failures, each once (again only if its
 * figure changes by more than 10%). Bounded: a fixed ring of the last hold times.
 */
export class PollDoctor {
  private readonly cutHeld = new Float64Array(RING)
  private cutCount = 0
  private cutRun = 0
  private notHeldRun = 0
  private readonly reported = new Map<string, number>()
  /** Minimum hold time that can be an intermediary's timeout, ms. */
  constructor(private readonly minCutMs = 1000) {}

  observe(c: PollCycleFacts): PollDiagnosis[] {
    const out: PollDiagnosis[] = []
    const via = c.headers ? headerValue(c.headers, 'via') : undefined
    const server = c.headers ? headerValue(c.headers, 'server') : undefined

    // 502/504: answered by something in the path, not the application.
    if (c.status === 502 || c.status === 504) {
      const who = via ? `Via: ${via}` : server ? `Server: ${server}` : 'no Via/Server header'
      if (this.once(`status-${c.status}`, c.heldMs)) {
        out.push({
          type: 'diagnosis',
          code: 'WT_POLL_INTERMEDIARY',
          severity: 'warning',
          title: `${c.status} ${c.status === 504 ? 'Gateway Timeout' : 'Bad Gateway'} after ${fmtS(c.heldMs)}`,
          explanation:
            `A ${c.status} usually comes from a proxy, load balancer or gateway in front of the server (${who}), ` +
            (c.status === 504
              ? 'which gave up waiting for the held request: its read timeout is shorter than the server\'s hold time.'
              : 'which lost or could not reach the upstream while the request was held.'),
          suggestions: [
            'Make the server answer (even empty) before the intermediary\'s timeout, or raise that timeout.',
            `Lower the server's hold time below ${fmtS(c.heldMs)}.`,
          ],
        })
      }
    }

    // The connection closed with no response at all.
    if (c.noResponse) {
      if (this.once('empty-reply', 0)) {
        out.push({
          type: 'diagnosis',
          code: 'WT_POLL_EMPTY_REPLY',
          severity: 'warning',
          title: `Empty reply: the connection closed after ${fmtS(c.heldMs)} with no response`,
          explanation:
            'The server or an intermediary closed the connection without sending a status line (curl calls this "Empty reply from server"). ' +
            'For held requests this is typically an idle timeout in a proxy or load balancer.',
          suggestions: ['Compare the time to the intermediary\'s idle timeout.', 'Shorten the server\'s hold time.'],
        })
      }
    }

    // Cuts at a constant hold time: failures (or no-response closes) ending at the same age.
    const cutLike = (c.outcome === 'error' || c.outcome === 'http-error' || c.noResponse) && c.heldMs >= this.minCutMs
    if (cutLike) {
      this.cutHeld[this.cutCount % RING] = c.heldMs
      this.cutCount++
      this.cutRun++
      if (this.cutRun >= 3) {
        const n = Math.min(this.cutRun, RING)
        let min = Infinity
        let max = -Infinity
        let sum = 0
        for (let k = 0; k < n; k++) {
          const v = this.cutHeld[(this.cutCount - 1 - k) % RING]!
          if (v < min) min = v
          if (v > max) max = v
          sum += v
        }
        const mean = sum / n
        if (max - min <= Math.max(250, mean * 0.03) && this.once('hold-cut', mean)) {
          out.push({
            type: 'diagnosis',
            code: 'WT_POLL_HOLD_CUT',
            severity: 'warning',
            title: `Requests cut at a constant ${fmtS(mean)}`,
            explanation:
              `${n} held requests in a row ended in failure after ${fmtS(min)}-${fmtS(max)}. A cut at the same age every time is the ` +
              'signature of a timeout in something between you and the server (proxy read timeout, load balancer idle timeout), not of the application.',
            suggestions: [
              `Keep the server's hold time under ${fmtS(mean * 0.8)}.`,
              'Raise the intermediary\'s timeout (proxy_read_timeout, ALB idle timeout, ...).',
            ],
          })
        }
      }
    } else this.cutRun = 0

    // Empty 200s at once, again and again: nothing is holding the request.
    if (c.outcome === 'empty' && c.heldMs < 100) {
      this.notHeldRun++
      if (this.notHeldRun >= 3 && this.once('not-held', 0)) {
        out.push({
          type: 'diagnosis',
          code: 'WT_POLL_NOT_HELD',
          severity: 'info',
          title: 'Empty replies with no hold',
          explanation:
            `${this.notHeldRun} cycles in a row were answered at once (under 100 ms) with an empty body: the server (or a cache or proxy in front of it) is not holding the request, so this is plain polling.`,
          suggestions: ['Check the cursor is sent as the server expects.', 'Check no cache answers the request (Cache-Control, Age headers).'],
        })
      }
    } else if (c.outcome !== 'empty') this.notHeldRun = 0
    return out
  }

  private once(key: string, figure: number): boolean {
    const prev = this.reported.get(key)
    if (prev !== undefined && (figure === 0 || Math.abs(prev - figure) <= prev * 0.1)) return false
    this.reported.set(key, figure)
    return true
  }
}

function fmtS(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`
}
