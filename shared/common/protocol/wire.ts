/**
 * Messages on the wire between a HostClient and a host, whatever carries them (an Electron
 * MessagePort with structured clone, or a WebSocket with JSON). Flow control for batches:
 * the host sends a batch only while it holds credit; the client returns one credit (`ack`)
 * after it has applied a batch on an animation frame. A slow renderer therefore gets fewer,
 * more coalesced batches and never slows the connection under test.
 */
import type { LiveBatch } from '../live.ts'
import type { WiretraceErrorData } from '../errors/index.ts'

export type ClientMessage =
  | { t: 'call'; id: number; cmd: string; params: unknown }
  | { t: 'ack' }
  /** Start the live feed with this many credits (batches in flight). */
  | { t: 'subscribe'; credits: number }

export type HostMessage =
  | { t: 'reply'; id: number; ok: true; result: unknown }
  | { t: 'reply'; id: number; ok: false; error: WiretraceErrorData }
  | { t: 'batch'; batch: LiveBatch; /** Host time the batch was drained (ms since epoch). */ at: number }
  | { t: 'hello'; host: string; version: string }

/** Batches in flight before the host waits for an ack. */
export const DEFAULT_CREDITS = 2

export function isClientMessage(m: unknown): m is ClientMessage {
  if (!m || typeof m !== 'object') return false
  const t = (m as { t?: unknown }).t
  if (t === 'ack') return true
  if (t === 'subscribe') return typeof (m as { credits?: unknown }).credits === 'number'
  if (t === 'call') {
    const c = m as { id?: unknown; cmd?: unknown }
    return typeof c.id === 'number' && Number.isSafeInteger(c.id) && typeof c.cmd === 'string'
  }
  return false
}
