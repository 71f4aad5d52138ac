import type { EventBase } from './base.ts'

/** A raw chunk arrived from the stream body (any streamed transport: sse, stream). Shows buffering intermediaries. */
export interface ChunkEvent extends EventBase {
  type: 'chunk'
  size: number
  /** Index of the chunk within this attempt, from 0. */
  index: number
  /** Milliseconds since the previous chunk (or since the response head, for the first). */
  gapMs: number
}

/** A dispatched Server-Sent Event. */
export interface SseEvent extends EventBase {
  type: 'sse.event'
  /** The event's `id` field if this event set one; `lastEventId` is what EventSource exposes. */
  id?: string
  event: string
  data: string
  retry?: number
  lastEventId: string
  /** Byte size of the event's lines in the stream. */
  size: number
}

/** The server set a new reconnection time. */
export interface SseRetryEvent extends EventBase {
  type: 'sse.retry'
  retryMs: number
}

/** A comment line (often a heartbeat). */
export interface SseCommentEvent extends EventBase {
  type: 'sse.comment'
  text: string
}

/** After a resume with Last-Event-ID, numeric ids that repeat or skip. */
export interface SseResumeCheckEvent extends EventBase {
  type: 'sse.resume'
  lastEventId: string
  firstId: string
  duplicates: number
  gap: number
}

export type SseEvents = ChunkEvent | SseEvent | SseRetryEvent | SseCommentEvent | SseResumeCheckEvent
