import type { Dir, EventBase, Payload } from './base.ts'

/** A reassembled WebSocket message, bytes exactly as received or sent. */
export interface WsMessageEvent extends EventBase, Payload {
  type: 'ws.message'
  dir: Dir
  /** 1 text, 2 binary. */
  opcode: 1 | 2
  /** Bytes on the wire for this message's frames (headers included). */
  wireSize?: number
  /** Number of frames; >1 means fragmented (ws.frame events precede it). */
  frames?: number
  /** RSV1 set: the message was permessage-deflate compressed. */
  compressed?: boolean
}

/** One wire frame. Emitted for fragments of fragmented messages and when frame capture is on. */
export interface WsFrameEvent extends EventBase {
  type: 'ws.frame'
  dir: Dir
  fin: boolean
  rsv1: boolean
  opcode: number
  masked: boolean
  /** Payload length as on the wire (compressed, if RSV1). */
  payloadLength: number
  /** Header + payload bytes on the wire. */
  wireLength: number
}

export interface WsPingEvent extends EventBase, Payload {
  type: 'ws.ping'
  dir: Dir
  /** Set on our pings: automatic heartbeat or a user ping. */
  origin?: 'heartbeat' | 'user'
}

export interface WsPongEvent extends EventBase, Payload {
  type: 'ws.pong'
  dir: Dir
  /** Round-trip time when this pong answers a ping we sent. */
  rttMs?: number
  /** Set when we answered a server ping automatically. */
  auto?: boolean
}

export interface WsCloseEvent extends EventBase {
  type: 'ws.close'
  code: number
  reason: string
  /** Who ended it: we sent the close, the server sent it, or the network dropped (no close frame). */
  initiator: 'local' | 'remote' | 'network'
  wasClean: boolean
  /** The code's meaning in words. */
  meaning: string
  /** Time since the last byte in / out when it closed, for idle-cut diagnosis. */
  sinceLastInMs?: number
  sinceLastOutMs?: number
  /** Set on the close frame we sent, before the server's answer. */
  dir?: Dir
}

/** permessage-deflate and subprotocol negotiation results. */
export interface WsNegotiatedEvent extends EventBase {
  type: 'ws.negotiated'
  protocol: string
  extensions: string
  deflate: null | {
    serverNoContextTakeover: boolean
    clientNoContextTakeover: boolean
    serverMaxWindowBits?: number
    clientMaxWindowBits?: number
  }
  /** What we offered. */
  offeredDeflate: boolean
  offeredProtocols: string[]
}

/** The heartbeat declared the connection half-open: no pong within the timeout. */
export interface WsHalfOpenEvent extends EventBase {
  type: 'ws.half-open'
  pingSentAt: number
  timeoutMs: number
  sinceLastInMs: number
}

export type WsEvent =
  | WsMessageEvent
  | WsFrameEvent
  | WsPingEvent
  | WsPongEvent
  | WsCloseEvent
  | WsNegotiatedEvent
  | WsHalfOpenEvent
