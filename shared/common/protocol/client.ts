/**
 * The one interface the renderer depends on. It does not know whether Electron IPC
 * (a MessagePort) or a WebSocket carries it. `ChannelClient` implements it over any
 * message channel; the renderer's web and Electron hosts only provide the channel.
 */
import type { LiveBatch } from '../live.ts'
import type { WiretraceErrorData } from '../errors/index.ts'
import type { CommandName, ParamsOf, ResultOf } from './commands.ts'
import { DEFAULT_CREDITS, type ClientMessage, type HostMessage } from './wire.ts'

export type LinkState = 'connecting' | 'open' | 'closed'

export interface HostClient {
  /** Which host carries the API, for display only. */
  readonly kind: 'electron' | 'web' | 'memory'
  call<K extends CommandName>(cmd: K, params: ParamsOf<K>): Promise<ResultOf<K>>
  /** Live batches; call `ack()` once the batch has been applied (painted). */
  onBatch(fn: (batch: LiveBatch, ack: () => void) => void): () => void
  onLink(fn: (state: LinkState, why?: string) => void): () => void
  readonly link: LinkState
  close(): void
}

/** What a channel must offer: send one message, deliver messages, report close. */
export interface Channel {
  send(msg: ClientMessage): void
  /** Installs the handler for incoming messages. */
  onMessage(fn: (msg: HostMessage) => void): void
  onClose(fn: (why: string) => void): void
  close(): void
}

/** A host error as thrown on the client side: keeps the stable code. */
export class HostCallError extends Error {
  readonly code: string
  readonly detail?: Record<string, unknown>
  constructor(data: WiretraceErrorData) {
    super(data.message)
    this.name = 'HostCallError'
    this.code = data.code
    this.detail = data.detail
  }
}

/** Calls that wait longer than this fail with WT_INTERNAL ("host did not answer"). */
export const CALL_TIMEOUT_MS = 30_000
/** Calls in flight at once; more fail at once rather than queue without bound. */
export const MAX_PENDING_CALLS = 256

interface Pending {
  resolve(v: unknown): void
  reject(e: unknown): void
  timer: unknown
}

/** Timers exist in every host this runs in (browser, Node); shared/common has no lib for them. */
const timers = globalThis as unknown as { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(t: unknown): void }

export class ChannelClient implements HostClient {
  readonly kind: HostClient['kind']
  link: LinkState = 'connecting'
  private readonly channel: Channel
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly batchFns = new Set<(b: LiveBatch, ack: () => void) => void>()
  private readonly linkFns = new Set<(s: LinkState, why?: string) => void>()
  private readonly ack = (): void => {
    if (this.link === 'open') this.channel.send({ t: 'ack' })
  }

  constructor(kind: HostClient['kind'], channel: Channel, opts: { credits?: number } = {}) {
    this.kind = kind
    this.channel = channel
    channel.onMessage((m) => this.receive(m))
    channel.onClose((why) => this.closed(why))
    this.setLink('open')
    channel.send({ t: 'subscribe', credits: opts.credits ?? DEFAULT_CREDITS })
  }

  call<K extends CommandName>(cmd: K, params: ParamsOf<K>): Promise<ResultOf<K>> {
    if (this.link === 'closed') return Promise.reject(new HostCallError({ code: 'WT_CONNECTION_CLOSED', message: 'the host link is closed' }))
    if (this.pending.size >= MAX_PENDING_CALLS) {
      return Promise.reject(new HostCallError({ code: 'WT_INTERNAL', message: `more than ${MAX_PENDING_CALLS} host calls in flight` }))
    }
    const id = this.nextId++
    return new Promise<ResultOf<K>>((resolve, reject) => {
      const timer = timers.setTimeout(() => {
        this.pending.delete(id)
        reject(new HostCallError({ code: 'WT_INTERNAL', message: `the host did not answer ${cmd} within ${CALL_TIMEOUT_MS} ms` }))
      }, CALL_TIMEOUT_MS)
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.channel.send({ t: 'call', id, cmd, params })
    })
  }

  onBatch(fn: (batch: LiveBatch, ack: () => void) => void): () => void {
    this.batchFns.add(fn)
    return () => this.batchFns.delete(fn)
  }

  onLink(fn: (state: LinkState, why?: string) => void): () => void {
    this.linkFns.add(fn)
    return () => this.linkFns.delete(fn)
  }

  close(): void {
    this.channel.close()
    this.closed('closed by the client')
  }

  private receive(m: HostMessage): void {
    if (m.t === 'reply') {
      const p = this.pending.get(m.id)
      if (!p) return
      this.pending.delete(m.id)
      timers.clearTimeout(p.timer)
      if (m.ok) p.resolve(m.result)
      else p.reject(new HostCallError(m.error))
    } else if (m.t === 'batch') {
      if (this.batchFns.size === 0) {
        this.ack()
        return
      }
      for (const fn of this.batchFns) fn(m.batch, this.ack)
    }
  }

  private closed(why: string): void {
    if (this.link === 'closed') return
    for (const [, p] of this.pending) {
      timers.clearTimeout(p.timer)
      p.reject(new HostCallError({ code: 'WT_CONNECTION_CLOSED', message: `the host link closed: ${why}` }))
    }
    this.pending.clear()
    this.setLink('closed', why)
  }

  private setLink(s: LinkState, why?: string): void {
    this.link = s
    for (const fn of this.linkFns) fn(s, why)
  }
}

