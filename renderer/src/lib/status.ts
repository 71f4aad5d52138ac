/** The one-line state of a connection for the sidebar and the header. Pure. */
import type { ConnectionSummary } from '../../../shared/common/live.ts'

export function stateLine(s: ConnectionSummary, now: number): string {
  switch (s.state) {
    case 'reconnecting': {
      const left = s.nextAttemptAt ? Math.max(0, Math.ceil((s.nextAttemptAt - now) / 1000)) : null
      return left !== null ? `reconnecting in ${left} s (attempt ${s.attempt + 1})` : 'reconnecting'
    }
    case 'closed':
      return s.closeCode !== undefined ? `closed ${s.closeCode}${s.closeReason ? ` "${s.closeReason}"` : ''}` : 'closed'
    case 'failed':
      return s.diagnosis ? `failed: ${s.diagnosis.title}` : s.errorCode ? `failed: ${s.errorCode}` : 'failed'
    case 'connecting':
      return s.attempt > 1 ? `connecting (attempt ${s.attempt})` : 'connecting'
    default:
      return s.state
  }
}

export const TRANSPORT_LABEL: Record<string, string> = { ws: 'WS', sse: 'SSE', poll: 'POLL', h2: 'H2', stream: 'STREAM' }
/** The transports in words, for sentences. */
export const TRANSPORT_WORDS: Record<string, string> = { ws: 'WebSocket', sse: 'SSE', poll: 'long-poll', h2: 'HTTP/2', stream: 'HTTP stream' }
