/** Shapes the live view works with: connection summaries and event batches. No Node, no DOM. */
import type { ConnState, DiagnosisEvent, StatsEvent, WiretraceEvent } from './events/index.ts'
import type { Transport } from './spec/index.ts'

export interface ConnectionSummary {
  id: string
  name?: string
  url: string
  transport: Transport
  state: ConnState
  attempt: number
  /** Set while reconnecting: when the next attempt starts (ms since epoch). */
  nextAttemptAt?: number
  /** "DIRECT" or the proxy used. */
  route?: string
  closeCode?: number
  closeReason?: string
  /** The most recent error code, if any. */
  errorCode?: string
  diagnosis?: Pick<DiagnosisEvent, 'code' | 'severity' | 'title' | 'explanation' | 'suggestions'>
  msgsIn: number
  msgsOut: number
  bytesIn: number
  bytesOut: number
  /** Events recorded so far (== last seq + 1). */
  events: number
  startedAt: number
  endedAt?: number
  recordingPath?: string | null
  /** The latest stats sample. */
  stats?: StatsEvent
  readOnly?: boolean
}

/** One batch for a UI, built at most once per animation frame. */
export interface LiveBatch {
  /** Newest events per connection, in seq order, at most maxBatchEvents in all. */
  events: WiretraceEvent[]
  /** Events per connection that happened since the last batch but are not in `events` (still in the recording). */
  coalesced: Record<string, number>
  /** Summaries of connections that changed since the last batch. */
  summaries: ConnectionSummary[]
}
