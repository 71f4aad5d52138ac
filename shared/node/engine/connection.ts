/**
 * One connection under test: owns its event log (seq, ts, recording, listeners), its
 * counters and stats timer, and drives its transport. Summaries for the UI are kept up to
 * date from the events themselves, so a recording replayed through `applySummary` gives
 * the same picture as the live connection.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { EndEvent, EventDraft, StatsEvent, WiretraceEvent, WsMessageEvent, SseEvent } from '../../common/events/index.ts'
import type { ConnectionSpec, FloodOptions, SendItem } from '../../common/spec/index.ts'
import type { Limits } from '../../common/limits.ts'
import type { ConnectionSummary } from '../../common/live.ts'
import { applySummary } from '../../common/summary.ts'
import { Diagnoser } from '../../common/diagnose/index.ts'
import { redactSpec } from '../../common/redact.ts'
import { WiretraceError, exitCodeFor } from '../../common/errors/index.ts'
import { RecordingWriter } from '../recording/writer.ts'
import { mono, nowTs, ms } from './clock.ts'
import { Counters, type Transport, type TransportContext, type DialRequest, type DialResult } from './types.ts'
import { dial } from '../net/dial.ts'

export type EventListener = (ev: WiretraceEvent) => void

let loopHistogram: IntervalHistogram | null = null
function loopDelay(): IntervalHistogram {
  if (!loopHistogram) {
    loopHistogram = monitorEventLoopDelay({ resolution: 10 })
    loopHistogram.enable()
  }
  return loopHistogram
}

export class Connection {
  readonly id: string
  readonly spec: ConnectionSpec
  readonly limits: Limits
  readonly counters = new Counters()
  readonly summaryState: ConnectionSummary
  readonly writer: RecordingWriter | null
  readonly done: Promise<EndEvent>
  private seq = 0
  private lastTs = 0
  private readonly diagnoser: Diagnoser
  private readonly listeners: EventListener[]
  private readonly abort = new AbortController()
  private transport: Transport | null = null
  private statsTimer: NodeJS.Timeout | null = null
  private durationTimer: NodeJS.Timeout | null = null
  private finished = false
  private resolveDone!: (ev: EndEvent) => void
  private readonly startedMono = mono()
  private attempts = 0
  private lastSample = { t: 0, bytesIn: 0, bytesOut: 0, msgsIn: 0, msgsOut: 0 }
  private stopping = false

  constructor(
    id: string,
    spec: ConnectionSpec,
    limits: Limits,
    writer: RecordingWriter | null,
    listeners: EventListener[],
  ) {
    this.id = id
    this.spec = spec
    this.limits = limits
    this.writer = writer
    this.listeners = listeners
    this.done = new Promise((r) => (this.resolveDone = r))
    this.diagnoser = new Diagnoser(id)
    this.summaryState = {
      id,
      name: spec.name,
      url: redactSpec(spec).url,
      transport: spec.transport,
      state: 'idle',
      attempt: 0,
      msgsIn: 0,
      msgsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      events: 0,
      startedAt: nowTs(),
      recordingPath: writer?.path ?? null,
    }
  }

  /** Stamp, record, then tell listeners. The single path every event takes. */
  readonly emit = (draft: EventDraft): WiretraceEvent => {
    let ev: WiretraceEvent
    if (draft.seq !== undefined) {
      // Hot paths pre-fill seq and ts so the object keeps its shape: stamp in place. A ts
      // already set is the arrival time of the socket read the event was parsed from (one
      // clock read per read, not per event); it never goes back before the last stamp.
      ev = draft as WiretraceEvent
      ev.seq = this.seq++
      const at = ev.ts
      ev.ts = at > 0 && at >= this.lastTs ? at : nowTs()
    } else {
      ev = { seq: this.seq++, ts: nowTs(), ...draft } as WiretraceEvent
    }
    this.lastTs = ev.ts
    this.writer?.write(ev)
    const t = ev.type
    let diagnosis: EventDraft | null = null
    // The data events (and HTTP/2's four per stream) change neither the summary nor a diagnosis.
    if (t !== 'ws.message' && t !== 'sse.event' && t !== 'chunk' && t !== 'stream.line' && t !== 'stream.data' && t !== 'h2.stream') {
      applySummary(this.summaryState, ev)
      if (t === 'conn.state') this.attempts = Math.max(this.attempts, (ev as { attempt: number }).attempt)
      // Diagnoses that follow from a sequence of events (Upgrade stripped, idle cut) are made live.
      diagnosis = this.diagnoser.observe(ev)
    }
    const ls = this.listeners
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i]!(ev)
      } catch {
        /* a listener must never break the connection */
      }
    }
    if (diagnosis) this.emit(diagnosis)
    return ev
  }

  /** emit() for a data message, with a WebSocket message's raw payload bytes (see TransportContext.emitMessage). */
  readonly emitMessage = (ev: WsMessageEvent | SseEvent, raw?: Buffer, arrivedTs?: number, rawAt?: number, rawEnd?: number): void => {
    ev.seq = this.seq++
    // Messages parsed from one socket read share its arrival time; never earlier than the last stamp.
    const t = arrivedTs !== undefined && arrivedTs >= this.lastTs ? arrivedTs : nowTs()
    ev.ts = this.lastTs = t
    this.writer?.write(ev, raw, rawAt, rawEnd)
    const ls = this.listeners
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i]!(ev)
      } catch {
        /* a listener must never break the connection */
      }
    }
  }

  summary(): ConnectionSummary {
    const s = this.summaryState
    const c = this.counters
    s.msgsIn = c.msgsIn
    s.msgsOut = c.msgsOut
    s.bytesIn = c.bytesIn
    s.bytesOut = c.bytesOut
    s.events = this.seq
    return s
  }

  get signal(): AbortSignal {
    return this.abort.signal
  }

  start(factory: (ctx: TransportContext) => Transport): void {
    this.emit({ type: 'conn.start', conn: this.id, spec: redactSpec(this.spec) })
    const ctx: TransportContext = {
      id: this.id,
      spec: this.spec,
      limits: this.limits,
      counters: this.counters,
      signal: this.abort.signal,
      emit: this.emit,
      emitMessage: this.emitMessage,
      dial: (req: DialRequest): Promise<DialResult> => dial(req, { conn: this.id, emit: this.emit, limits: this.limits }),
      countMessageIn: () => {
        const max = this.spec.maxMessages
        if (max && this.counters.msgsIn >= max && !this.stopping) {
          this.stopping = true
          this.emit({ type: 'note', conn: this.id, text: `stopping: received ${max} messages (maxMessages)`, source: 'engine' })
          queueMicrotask(() => this.transport?.close(1000, 'done'))
        }
      },
      finish: (reason, exitCode) => this.finish(reason, exitCode),
      sleep: (delay) =>
        new Promise<boolean>((resolve) => {
          if (this.abort.signal.aborted) return resolve(false)
          const t = setTimeout(() => {
            this.abort.signal.removeEventListener('abort', onAbort)
            resolve(true)
          }, delay)
          const onAbort = (): void => {
            clearTimeout(t)
            resolve(false)
          }
          this.abort.signal.addEventListener('abort', onAbort, { once: true })
        }),
    }
    try {
      this.transport = factory(ctx)
    } catch (e) {
      const err = e instanceof WiretraceError ? e : new WiretraceError('WT_INTERNAL', (e as Error).message)
      this.emit({ type: 'error', conn: this.id, code: err.code, phase: 'config', message: err.message, fatal: true })
      this.finish(err.message, exitCodeFor(err.code))
      return
    }
    const interval = this.spec.statsIntervalMs ?? 1000
    if (interval > 0) {
      this.lastSample.t = mono()
      loopDelay()
      this.statsTimer = setInterval(() => this.sample(interval), interval)
      this.statsTimer.unref?.()
    }
    if (this.spec.durationMs && this.spec.durationMs > 0) {
      this.durationTimer = setTimeout(() => {
        this.stopping = true
        this.emit({ type: 'note', conn: this.id, text: `stopping: duration of ${this.spec.durationMs} ms reached`, source: 'engine' })
        this.transport?.close(1000, 'done')
      }, this.spec.durationMs)
    }
    this.transport.start().catch((e: unknown) => {
      this.emit({ type: 'error', conn: this.id, code: 'WT_INTERNAL', phase: 'open', message: String((e as Error)?.stack ?? e), fatal: true })
      this.finish('internal error', 1)
    })
  }

  /** Whether the engine asked the transport to stop (duration, maxMessages, user): a clean outcome. */
  get stopRequested(): boolean {
    return this.stopping
  }

  send(item: SendItem): void {
    if (!this.transport) throw new WiretraceError('WT_CONNECTION_CLOSED', 'the connection is not running')
    this.transport.send(item)
  }

  async flood(opts: FloodOptions): Promise<void> {
    if (!this.transport?.flood) throw new WiretraceError('WT_OPTION_INVALID', `the ${this.spec.transport} transport has no flood sender`)
    await this.transport.flood(opts)
  }

  /** Graceful close (WebSocket close frame with code and reason; others end the request). */
  close(code?: number, reason?: string): void {
    this.stopping = true
    if (this.finished) return
    this.transport?.close(code, reason)
  }

  /** Tear down now. */
  stop(reason = 'stopped by user'): void {
    this.stopping = true
    if (this.finished) return
    this.abort.abort(new WiretraceError('WT_ABORTED', reason))
    this.transport?.destroy()
    this.finish(reason, 0)
  }

  private sample(interval: number): void {
    const c = this.counters
    const t = mono()
    const dt = (t - this.lastSample.t) / 1000 || interval / 1000
    const h = loopDelay()
    const extra = this.transport?.sample() ?? {}
    const ev: Omit<StatsEvent, 'seq' | 'ts'> = {
      type: 'stats',
      conn: this.id,
      intervalMs: interval,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      msgsIn: c.msgsIn,
      msgsOut: c.msgsOut,
      rateIn: Math.round((c.bytesIn - this.lastSample.bytesIn) / dt),
      rateOut: Math.round((c.bytesOut - this.lastSample.bytesOut) / dt),
      msgRateIn: Math.round((c.msgsIn - this.lastSample.msgsIn) / dt),
      msgRateOut: Math.round((c.msgsOut - this.lastSample.msgsOut) / dt),
      loopDelayMs: ms(h.percentile(99) / 1e6),
      ...extra,
    }
    if (c.lastInAt) ev.idleInMs = Math.round(t - c.lastInAt)
    if (c.lastOutAt) ev.idleOutMs = Math.round(t - c.lastOutAt)
    h.reset()
    this.lastSample = { t, bytesIn: c.bytesIn, bytesOut: c.bytesOut, msgsIn: c.msgsIn, msgsOut: c.msgsOut }
    this.emit(ev)
  }

  private finish(reason: string, exitCode: number): void {
    if (this.finished) return
    this.finished = true
    if (this.statsTimer) clearInterval(this.statsTimer)
    if (this.durationTimer) clearTimeout(this.durationTimer)
    const c = this.counters
    const ev = this.emit({
      type: 'end',
      conn: this.id,
      reason,
      durationMs: ms(mono() - this.startedMono),
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      msgsIn: c.msgsIn,
      msgsOut: c.msgsOut,
      attempts: this.attempts,
      exitCode,
    }) as EndEvent
    this.summaryState.endedAt = ev.ts
    this.writer?.close()
    this.resolveDone(ev)
  }
}
