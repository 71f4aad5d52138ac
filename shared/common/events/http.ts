import type { EventBase, HeaderPairs, Payload } from './base.ts'

/** One long-poll request/response cycle. */
export interface PollCycleEvent extends EventBase {
  type: 'poll.cycle'
  index: number
  method: string
  url: string
  status: number | null
  /** How long the server held the request before the response head arrived. */
  heldMs: number
  durationMs: number
  outcome: 'data' | 'empty' | 'timeout' | 'error' | 'http-error'
  /** The cursor sent with this request. */
  cursor?: string
  /** The cursor read from this response for the next request. */
  nextCursor?: string
  headers?: HeaderPairs
  body?: Payload
  /** Set when the body was cut: the cap (limits.maxPollBodyBytes) in effect. */
  bodyCap?: number
  errorCode?: string
  /** Which poll loop (with poll.concurrency > 1). */
  loop?: number
}

/** A line of a line-split raw stream, or an NDJSON record. */
export interface StreamLineEvent extends EventBase, Payload {
  type: 'stream.line'
  index: number
}

/** Body bytes of a raw stream chunk (recorded when line splitting is off). */
export interface StreamDataEvent extends EventBase, Payload {
  type: 'stream.data'
  index: number
}

export interface H2SessionEvent extends EventBase {
  type: 'h2.session'
  alpn: string | null
  localSettings: Record<string, number | boolean>
  remoteSettings: Record<string, number | boolean>
  which: 'connect' | 'local-settings' | 'remote-settings'
}

export interface H2PingEvent extends EventBase {
  type: 'h2.ping'
  rttMs: number
}

export interface H2GoawayEvent extends EventBase {
  type: 'h2.goaway'
  errorCode: number
  errorName: string
  lastStreamId: number
  opaqueData?: string
}

export interface H2StreamEvent extends EventBase {
  type: 'h2.stream'
  streamId: number
  phase: 'headers-sent' | 'response' | 'data' | 'trailers' | 'end' | 'rst'
  headers?: HeaderPairs
  status?: number
  /** data: bytes in this event (the sum of `sizes`). */
  size?: number
  /**
   * data: each DATA chunk's size in arrival order, present when the event carries more than one
   * chunk (one chunk: `size` alone). DATA chunks are recorded per stream in batches.
   */
  sizes?: number[]
  /** data: each DATA chunk's arrival time, wall-clock ms (same clock as `ts`, which is the batch's emit time). */
  times?: number[]
  rstCode?: number
  rstName?: string
}

export type HttpEvents =
  | PollCycleEvent
  | StreamLineEvent
  | StreamDataEvent
  | H2SessionEvent
  | H2PingEvent
  | H2GoawayEvent
  | H2StreamEvent
