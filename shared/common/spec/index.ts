/**
 * What to open: one connection's full description. Commands carry it from the UI or
 * CLI to the engine; recordings keep it (secrets redacted) in the header.
 */
import type { HeaderPairs } from '../events/base.ts'
import type { Limits } from '../limits.ts'
import type { NetworkProfile } from './network.ts'
import type { SseOptions, PollOptions, H2Options, StreamOptions } from './http.ts'

export type * from './network.ts'
export type * from './http.ts'

export type Transport = 'ws' | 'sse' | 'poll' | 'h2' | 'stream'
export const TRANSPORTS = ['ws', 'sse', 'poll', 'h2', 'stream'] as const satisfies readonly Transport[]

export interface TlsOptions {
  /** Extra CA certificates, PEM text (files are read by the host before the spec reaches the engine). */
  ca?: string[]
  /** Paths the CA PEMs came from, for display. */
  caFiles?: string[]
  /** Also trust the platform's default CAs (true by default). */
  systemCa?: boolean
  /** Accept any certificate. Recorded, and diagnosed as a warning. */
  insecure?: boolean
  /** Client certificate and key, PEM text. */
  cert?: string
  key?: string
  /** Client certificate as PKCS#12, base64. */
  pfx?: string
  passphrase?: string
  servername?: string
}

export interface WsOptions {
  subprotocols?: string[]
  origin?: string
  /** Offer permessage-deflate (default true, as browsers do). */
  deflate?: boolean
  /** Largest message accepted, bytes (ws maxPayload). */
  maxPayload?: number
  /** Answer server pings automatically (default true). */
  autoPong?: boolean
  /** Record every wire frame, not only fragments (default false). */
  captureFrames?: boolean
}

export interface HeartbeatOptions {
  /** Send a ping every N ms (0 = off). */
  intervalMs: number
  /** Declare half-open after this long without the pong. */
  timeoutMs: number
}

export interface ReconnectPolicy {
  enabled: boolean
  initialDelayMs: number
  maxDelayMs: number
  /** Attempts after the first; 0 = unlimited (still bounded by the user stopping). */
  maxAttempts: number
  multiplier: number
  jitter: 'full' | 'none'
}

export type SendItem =
  | { kind: 'text'; text: string }
  | { kind: 'json'; text: string }
  | { kind: 'binary'; base64: string }
  | { kind: 'ping'; text?: string }
  | { kind: 'pong'; text?: string }
  | { kind: 'close'; code?: number; reason?: string }

/** Flood sender for backpressure experiments. */
export interface FloodOptions {
  count: number
  size: number
  /** `respect`: wait while bufferedAmount is above `highWaterMark`; `ignore`: send as fast as the loop allows. */
  mode: 'respect' | 'ignore'
  highWaterMark?: number
  binary?: boolean
}

export interface ConnectionSpec {
  /** Chosen by the engine when absent. */
  id?: string
  name?: string
  url: string
  transport: Transport
  method?: string
  headers?: HeaderPairs
  /** Request body for SSE, long-poll, h2 and stream (text or base64). */
  body?: { text?: string; base64?: string }
  ws?: WsOptions
  tls?: TlsOptions
  heartbeat?: HeartbeatOptions
  reconnect?: Partial<ReconnectPolicy>
  network?: NetworkProfile
  sse?: SseOptions
  poll?: PollOptions
  h2?: H2Options
  stream?: StreamOptions
  /** Sent in order once open. */
  send?: SendItem[]
  /** Stop cleanly after N received messages/events. */
  maxMessages?: number
  /** Stop cleanly after N ms. */
  durationMs?: number
  /** Stats sample interval, ms (default 1000; 0 = off). */
  statsIntervalMs?: number
  limits?: Partial<Limits>
  /** Keep secrets (Authorization, passwords) unredacted in the recording. Off by default. */
  keepSecrets?: boolean
}

/** The spec as it may be written to a recording: secrets replaced by "[redacted]". */
export type PublicSpec = ConnectionSpec
