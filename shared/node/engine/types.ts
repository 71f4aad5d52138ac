/**
 * The contract between the engine core and the transports. A transport gets a
 * TransportContext, opens its connection through `ctx.dial` (the one network pipeline,
 * proxies included), reports everything through `ctx.emit`, and calls `ctx.finish` once.
 */
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { EventDraft, WiretraceEvent, StatsEvent, WsMessageEvent, SseEvent } from '../../common/events/index.ts'
import type { ConnectionSpec, SendItem, FloodOptions, TlsOptions, NetworkProfile } from '../../common/spec/index.ts'
import type { Limits } from '../../common/limits.ts'

/** Live counters, updated by the transport on the hot path (plain fields, no events). */
export class Counters {
  bytesIn = 0
  bytesOut = 0
  msgsIn = 0
  msgsOut = 0
  /** performance.now() of the last byte in / out, 0 if none yet. */
  lastInAt = 0
  lastOutAt = 0
}

export interface DialRequest {
  url: URL
  /** TLS to the origin (wss:, https:). */
  secure: boolean
  /** ALPN protocols to offer to the origin. */
  alpn?: string[]
  tls?: TlsOptions
  network?: NetworkProfile
  /** What will run over the connection; decides CONNECT vs forward for plain-HTTP proxies. */
  purpose: 'ws' | 'http'
  signal: AbortSignal
}

export interface DialResult {
  socket: Socket | TLSSocket
  /** ALPN the origin (or an intercepting proxy) chose. */
  alpn: string | null
  /** Phase durations for the waterfall, ms. */
  phases: { dns?: number; tcp?: number; proxy?: number; tls?: number }
  /** "DIRECT" or the proxy URL used (credentials redacted). */
  route: string
  /**
   * Set when the request must be sent to an HTTP proxy in absolute-URI form (forward mode):
   * headers to add (Proxy-Authorization) and the request-target to use.
   */
  forward?: { headers: Array<[string, string]>; requestTarget: string }
}

export interface TransportContext {
  readonly id: string
  readonly spec: ConnectionSpec
  readonly limits: Limits
  readonly counters: Counters
  /** Aborted when the user stops the connection or the engine shuts down. */
  readonly signal: AbortSignal
  /** Stamp and deliver an event (recording first, then live listeners). Never throws. */
  emit(draft: EventDraft): WiretraceEvent
  /**
   * The hot path for a data message (a WebSocket message, an SSE event): like emit, without
   * its checks for lifecycle events, and it hands the recording the wire bytes so it can copy
   * them instead of re-encoding the decoded text: for a WebSocket message the payload (`raw`
   * whole); for an SSE event the chunk its data line came from, the data being
   * raw[rawAt, rawEnd) (the chunk must not change afterwards). `arrivedTs` is the socket
   * read's time (ts clock) that delivered it, saving a clock read per message.
   */
  emitMessage(ev: WsMessageEvent | SseEvent, raw?: Buffer, arrivedTs?: number, rawAt?: number, rawEnd?: number): void
  /** The one network pipeline: route (proxy rules), DNS, TCP, proxy exchange, TLS. Emits those events. */
  dial(req: DialRequest): Promise<DialResult>
  /** Count a received message toward maxMessages; the engine stops cleanly when reached. */
  countMessageIn(): void
  /** The transport is done for good. `exitCode` 0 for a clean outcome. Idempotent. */
  finish(reason: string, exitCode: number): void
  /** Resolves after ms unless aborted (then resolves false). */
  sleep(ms: number): Promise<boolean>
}

export interface Transport {
  /** Runs the connection, including its own reconnect policy. Must not throw: report errors as events. */
  start(): Promise<void>
  send(item: SendItem): void
  flood?(opts: FloodOptions): Promise<void>
  /** User asked to close: close gracefully (code and reason for WebSocket). */
  close(code?: number, reason?: string): void
  /** Tear down at once (engine stop, abort). */
  destroy(): void
  /** Transport-specific stats fields (bufferedAmount, writableLength, h2 windows). */
  sample(): Partial<StatsEvent>
}

export type TransportFactory = (ctx: TransportContext) => Transport
