/**
 * The typed host API: every command the renderer may send to a host (Electron utility
 * process or the web-mode server), with its params and result. No Node, no DOM.
 * Names are `area.verb`. Errors come back as plain `{ code, message, detail }`.
 */
import type { ConnectionSpec, SendItem } from '../spec/index.ts'
import type { WiretraceEvent } from '../events/index.ts'
import type { ConnectionSummary } from '../live.ts'
import type { Limits } from '../limits.ts'

/** A named, saved connection spec ("target"). Persisted by the host. */
export interface SavedTarget {
  name: string
  spec: ConnectionSpec
  /** Demo targets are built in and not persisted. */
  demo?: boolean
  description?: string
}

export interface RecordingInfo {
  path: string
  name: string
  size: number
  mtime: number
}

export interface HostInfo {
  host: 'desktop' | 'web' | 'test'
  version: string
  recordingsDir: string | null
  limits: Limits
  /** Whether the demo servers are running. */
  demo: boolean
}

export interface DemoInfo {
  running: boolean
  targets: SavedTarget[]
}

export interface Ok {
  ok: true
}

export interface CommandMap {
  'host.info': { params: Record<string, never>; result: HostInfo }
  'session.open': { params: { spec: ConnectionSpec; record?: boolean }; result: ConnectionSummary }
  'session.send': { params: { id: string; item: SendItem }; result: Ok }
  'session.close': { params: { id: string; code?: number; reason?: string }; result: Ok }
  'session.stop': { params: { id: string }; result: Ok }
  'session.remove': { params: { id: string }; result: Ok }
  'session.list': { params: Record<string, never>; result: ConnectionSummary[] }
  'events.range': { params: { id: string; fromSeq: number; count: number }; result: WiretraceEvent[] }
  'event.get': { params: { id: string; seq: number }; result: WiretraceEvent | null }
  'targets.list': { params: Record<string, never>; result: SavedTarget[] }
  'targets.save': { params: { target: SavedTarget }; result: SavedTarget[] }
  'targets.delete': { params: { name: string }; result: SavedTarget[] }
  'recording.list': { params: Record<string, never>; result: RecordingInfo[] }
  /** Opens a recording read-only; its connections appear in session.list and stream like live ones. */
  'recording.open': { params: { path: string }; result: ConnectionSummary[] }
  'demo.start': { params: Record<string, never>; result: DemoInfo }
  'demo.status': { params: Record<string, never>; result: DemoInfo }
}

export type CommandName = keyof CommandMap
export type ParamsOf<K extends CommandName> = CommandMap[K]['params']
export type ResultOf<K extends CommandName> = CommandMap[K]['result']

export const COMMANDS = [
  'host.info', 'session.open', 'session.send', 'session.close', 'session.stop', 'session.remove', 'session.list',
  'events.range', 'event.get', 'targets.list', 'targets.save', 'targets.delete', 'recording.list', 'recording.open', 'demo.start', 'demo.status',
] as const satisfies readonly CommandName[]
