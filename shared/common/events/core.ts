import type { CertInfo, EventBase, HeaderPairs } from './base.ts'
import type { PublicSpec } from '../spec/index.ts'

export type ConnState = 'idle' | 'connecting' | 'open' | 'closing' | 'reconnecting' | 'closed' | 'failed'

/** A connection starts (once; `attempt` events follow for each try). Carries the spec with secrets redacted. */
export interface ConnStartEvent extends EventBase {
  type: 'conn.start'
  spec: PublicSpec
}

/** The connection's state changed. `attempt` counts from 1; `delayMs` is set for `reconnecting`. */
export interface ConnStateEvent extends EventBase {
  type: 'conn.state'
  state: ConnState
  attempt: number
  delayMs?: number
  reason?: string
}

/** Name resolution. `via` is `proxy` when the proxy resolves the name (socks5h, socks4a, HTTP CONNECT). */
export interface DnsEvent extends EventBase {
  type: 'dns'
  host: string
  addresses: Array<{ address: string; family: number }>
  durationMs: number
  via: 'local' | 'proxy' | 'literal'
  /** What was resolved: the origin, or the proxy's own host name. */
  target: 'origin' | 'proxy'
}

export interface TcpEvent extends EventBase {
  type: 'tcp'
  remoteAddress: string
  remotePort: number
  localAddress: string
  localPort: number
  durationMs: number
  target: 'origin' | 'proxy'
}

export interface TlsEvent extends EventBase {
  type: 'tls'
  /** `origin` for the server under test, `proxy` for TLS to an HTTPS proxy. */
  hop: 'origin' | 'proxy'
  servername: string
  protocol: string | null
  cipher: string | null
  alpn: string | null
  /** ALPN protocols we offered. */
  alpnOffered: string[]
  authorized: boolean
  authorizationError?: string
  /** Leaf first, then each issuer as presented or resolved. */
  chain: CertInfo[]
  durationMs: number
  sessionReused: boolean
}

/** The request that opens the exchange (WebSocket upgrade, SSE GET/POST, poll request, h2 stream headers...). */
export interface HttpRequestEvent extends EventBase {
  type: 'http.request'
  method: string
  url: string
  /** Headers exactly as written, secrets redacted unless the user asked otherwise. */
  headers: HeaderPairs
  bodySize?: number
  /** Which request within the connection (poll cycle, h2 stream id...); absent for the single handshake. */
  ref?: string
}

export interface HttpResponseEvent extends EventBase {
  type: 'http.response'
  status: number
  statusText: string
  httpVersion: string
  headers: HeaderPairs
  /** From the request being written to the response head arriving. */
  durationMs: number
  ref?: string
  /** A preview of the body when the response was not the expected stream (an error page). */
  bodyPreview?: string
}

/** The connection is established and ready for messages. */
export interface OpenEvent extends EventBase {
  type: 'open'
  /** From the start of this attempt to open. */
  durationMs: number
  protocol?: string
  extensions?: string
  /** What each phase took, in ms, for the waterfall. */
  phases: Partial<Record<'proxy' | 'dns' | 'tcp' | 'tls' | 'handshake', number>>
}

/** Periodic sample of counters, rates and queues. Absent fields do not apply to the transport. */
export interface StatsEvent extends EventBase {
  type: 'stats'
  intervalMs: number
  bytesIn: number
  bytesOut: number
  msgsIn: number
  msgsOut: number
  /** Bytes per second over the last interval. */
  rateIn: number
  rateOut: number
  /** Messages (or events) per second over the last interval. */
  msgRateIn: number
  msgRateOut: number
  bufferedAmount?: number
  writableLength?: number
  /** Event-loop delay p99 over the interval, ms. */
  loopDelayMs: number
  /** HTTP/2 flow-control windows. */
  h2LocalWindow?: number
  h2RemoteWindow?: number
  /** Milliseconds since the last byte in / out. */
  idleInMs?: number
  idleOutMs?: number
}

/** A failure with a stable code. `phase` is where it happened. */
export interface ErrorEvent extends EventBase {
  type: 'error'
  code: string
  phase: Phase
  message: string
  detail?: Record<string, unknown>
  /** Whether the connection gives up (no reconnect follows from this error). */
  fatal: boolean
  /**
   * On the error that ended an open exchange of SSE, long-poll, raw streams and HTTP/2 (closed or
   * reset): ms since the last byte in / out on that TCP connection, for idle-cut diagnosis
   * (WebSocket carries them on `ws.close`).
   */
  sinceLastInMs?: number
  sinceLastOutMs?: number
}

export type Phase = 'config' | 'proxy' | 'dns' | 'tcp' | 'tls' | 'handshake' | 'open' | 'close' | 'recording'

/** A plain-words explanation of what happened and what to try next. */
export interface DiagnosisEvent extends EventBase {
  type: 'diagnosis'
  code: string
  severity: 'info' | 'warning' | 'error'
  title: string
  explanation: string
  suggestions: string[]
}

/** Free-form note from the engine or the user (a marker in the timeline). */
export interface NoteEvent extends EventBase {
  type: 'note'
  text: string
  source: 'engine' | 'user'
}

/** The connection is finished for good: no more events follow for it. */
export interface EndEvent extends EventBase {
  type: 'end'
  reason: string
  durationMs: number
  bytesIn: number
  bytesOut: number
  msgsIn: number
  msgsOut: number
  attempts: number
  /** Process exit status the CLI uses for this outcome (0 clean). */
  exitCode: number
}

export type CoreEvent =
  | ConnStartEvent
  | ConnStateEvent
  | DnsEvent
  | TcpEvent
  | TlsEvent
  | HttpRequestEvent
  | HttpResponseEvent
  | OpenEvent
  | StatsEvent
  | ErrorEvent
  | DiagnosisEvent
  | NoteEvent
  | EndEvent
