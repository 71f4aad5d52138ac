import type { CoreEvent } from './core.ts'
import type { WsEvent } from './ws.ts'
import type { SseEvents } from './sse.ts'
import type { HttpEvents } from './http.ts'
import type { ProxyEvents } from './proxy.ts'
import type { DistributiveOmit } from './base.ts'

export type * from './base.ts'
export type * from './core.ts'
export type * from './ws.ts'
export type * from './sse.ts'
export type * from './http.ts'
export type * from './proxy.ts'

/** Everything the engine reports. */
export type WiretraceEvent = CoreEvent | WsEvent | SseEvents | HttpEvents | ProxyEvents
export type EventType = WiretraceEvent['type']
export type EventOf<T extends EventType> = Extract<WiretraceEvent, { type: T }>
/** An event before the log stamps it with seq and ts (hot paths pre-fill `seq: 0, ts: 0` to keep key order and shape). */
export type EventDraft = DistributiveOmit<WiretraceEvent, 'seq' | 'ts'> & { seq?: number; ts?: number }

/** The event type names, declared once. A test checks this list against the union. */
export const EVENT_TYPES = [
  'conn.start', 'conn.state', 'dns', 'tcp', 'tls', 'http.request', 'http.response', 'open', 'stats',
  'error', 'diagnosis', 'note', 'end',
  'ws.message', 'ws.frame', 'ws.ping', 'ws.pong', 'ws.close', 'ws.negotiated', 'ws.half-open',
  'chunk', 'sse.event', 'sse.retry', 'sse.comment', 'sse.resume',
  'poll.cycle', 'stream.line', 'stream.data', 'h2.session', 'h2.ping', 'h2.goaway', 'h2.stream',
  'proxy.rule', 'proxy.connect', 'proxy.socks',
] as const satisfies readonly EventType[]

/** Message-like events: what "messages" counts and the message list shows by default. */
export const MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'ws.message', 'ws.ping', 'ws.pong', 'ws.close', 'sse.event', 'poll.cycle', 'stream.line', 'stream.data', 'h2.stream',
])
