/**
 * Folds events into a ConnectionSummary. Pure: the live engine and a recording opened from
 * disk use the same function, so both show the same state.
 */
import type { WiretraceEvent } from './events/index.ts'
import type { ConnectionSummary } from './live.ts'
import { redactUrl } from './redact.ts'

export function emptySummary(id: string, url = '', transport: ConnectionSummary['transport'] = 'ws'): ConnectionSummary {
  return { id, url, transport, state: 'idle', attempt: 0, msgsIn: 0, msgsOut: 0, bytesIn: 0, bytesOut: 0, events: 0, startedAt: 0 }
}

export function applySummary(s: ConnectionSummary, ev: WiretraceEvent): void {
  s.events = ev.seq + 1
  switch (ev.type) {
    case 'conn.start':
      s.url = redactUrl(ev.spec.url)
      s.transport = ev.spec.transport
      if (ev.spec.name) s.name = ev.spec.name
      if (!s.startedAt) s.startedAt = ev.ts
      break
    case 'conn.state':
      s.state = ev.state
      s.attempt = ev.attempt
      if (ev.state === 'reconnecting' && ev.delayMs !== undefined) s.nextAttemptAt = ev.ts + ev.delayMs
      else delete s.nextAttemptAt
      if (ev.state === 'connecting') {
        delete s.closeCode
        delete s.closeReason
      }
      break
    case 'proxy.rule':
      s.route = ev.chosen
      break
    case 'ws.close':
      if (ev.dir !== 'out') {
        s.closeCode = ev.code
        s.closeReason = ev.reason
      }
      break
    case 'error':
      s.errorCode = ev.code
      break
    case 'diagnosis':
      s.diagnosis = { code: ev.code, severity: ev.severity, title: ev.title, explanation: ev.explanation, suggestions: ev.suggestions }
      break
    case 'stats':
      s.stats = ev
      s.msgsIn = ev.msgsIn
      s.msgsOut = ev.msgsOut
      s.bytesIn = ev.bytesIn
      s.bytesOut = ev.bytesOut
      break
    case 'end':
      s.msgsIn = ev.msgsIn
      s.msgsOut = ev.msgsOut
      s.bytesIn = ev.bytesIn
      s.bytesOut = ev.bytesOut
      s.endedAt = ev.ts
      if (s.state !== 'failed') s.state = ev.exitCode === 0 ? 'closed' : 'failed'
      break
    default:
      break
  }
}
