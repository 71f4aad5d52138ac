/**
 * The typed host API: every command the renderer may send to a host (Electron utility
 * process or the web-mode server), with its params and result. No Node, no DOM.
 * Names are `area.verb`. Errors come back as plain `{ code, message, detail }`.
 */
import type { ConnectionSpec, NetworkProfile, SendItem } from '../spec/index.ts'
import type { WiretraceEvent } from '../events/index.ts'
import type { ConnectionSummary } from '../live.ts'
import type { Limits } from '../limits.ts'
import type { RecordingDiff } from '../recording/diff.ts'
import type { RedactionManifest, PreviewSample } from '../recording/redact-rules.ts'
import type { WiretraceErrorData } from '../errors/index.ts'
import type { ProfileList, ProxyResolution, SavedProfile } from './profiles.ts'

/** A named, saved connection spec ("target"). Persisted by the host. */
export interface SavedTarget {
  name: string
  spec: ConnectionSpec
  /** Demo targets are built in and not persisted. */
  demo?: boolean
  description?: string
  /**
   * Keep proxy passwords (and key passphrases) of the spec's network in targets.json (mode 0600).
   * Off: the host strips them before writing.
   */
  rememberPassword?: boolean
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
  /** Problems reading the host's own files (a damaged profiles.json kept aside...), said once. */
  configProblems?: WiretraceErrorData[]
}

export interface DemoInfo {
  running: boolean
  targets: SavedTarget[]
}

/** Progress of a recording opened read-only (scanned in the background). */
export interface RecordingStatus {
  /** Key of the recording; its connections have ids `KEY:<conn>`. */
  key: string
  path: string
  name: string
  size: number
  scanned: number
  done: boolean
  /** Events indexed so far. */
  events: number
  error: string | null
}

/** A recording a crash left unfinished, offered for recovery. */
export interface RecoveryOffer {
  path: string
  name: string
  size: number
  modified: string
  reason: 'truncated-line' | 'no-end' | 'bad-header'
  message: string
  url?: string
  unfinished: number
}

export type ExportFormatName = 'native' | 'har' | 'md'

export interface ExportPreview {
  manifest: RedactionManifest
  samples: PreviewSample[]
  events: number
}

export interface ExportSaved {
  /** Where it was written (desktop) or the suggested file name (web: the bytes are in base64). */
  out: string
  name: string
  bytes: number
  events: number
  manifest: RedactionManifest
  /** The file, when the host did not write it to a path of the user's choosing (web mode download). */
  base64?: string
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
  /** Progress of the opened recordings. */
  'recording.status': { params: Record<string, never>; result: RecordingStatus[] }
  /** Opens a file the user dropped (web mode has no path): the bytes, at most MAX_UPLOAD_BYTES. */
  'recording.upload': { params: { name: string; base64: string }; result: ConnectionSummary[] }
  /** Recordings a crash left unfinished in the recordings directory. */
  'recording.recoverable': { params: Record<string, never>; result: RecoveryOffer[] }
  /** Repairs one (drops the partial line, appends the missing end events, atomically). */
  'recording.recover': { params: { path: string }; result: { out: string; droppedBytes: number; appended: number } }
  /** What an export would redact, before saving. */
  'export.preview': { params: { path: string; redact: boolean; rules?: string[] }; result: ExportPreview }
  /** Writes the export: to `out` (desktop, from a save dialog) or back as base64 (web download). */
  'export.save': { params: { path: string; format: ExportFormatName; redact: boolean; rules?: string[]; out?: string }; result: ExportSaved }
  /** Compares two recordings: steps aligned, first divergence, counts and rates. */
  'recording.diff': { params: { a: string; b: string }; result: RecordingDiff }
  /** Saved network profiles (profiles.json next to targets.json). */
  'profiles.list': { params: Record<string, never>; result: ProfileList }
  /** Saves one; `replace: false` ("Save as…") refuses an existing name with WT_PROFILE_EXISTS. */
  'profiles.save': { params: { profile: SavedProfile; replace?: boolean }; result: ProfileList }
  'profiles.rename': { params: { from: string; to: string }; result: ProfileList }
  'profiles.delete': { params: { name: string }; result: ProfileList }
  /** The route a network profile gives for a URL, before connecting (the system proxy: desktop only). */
  'proxy.resolve': { params: { url: string; network: NetworkProfile }; result: ProxyResolution }
  'demo.start': { params: Record<string, never>; result: DemoInfo }
  'demo.status': { params: Record<string, never>; result: DemoInfo }
}

export type CommandName = keyof CommandMap
export type ParamsOf<K extends CommandName> = CommandMap[K]['params']
export type ResultOf<K extends CommandName> = CommandMap[K]['result']

export const COMMANDS = [
  'host.info', 'session.open', 'session.send', 'session.close', 'session.stop', 'session.remove', 'session.list',
  'events.range', 'event.get', 'targets.list', 'targets.save', 'targets.delete', 'recording.list', 'recording.open',
  'recording.status', 'recording.upload', 'recording.recoverable', 'recording.recover', 'export.preview', 'export.save', 'recording.diff',
  'profiles.list', 'profiles.save', 'profiles.rename', 'profiles.delete', 'proxy.resolve', 'demo.start', 'demo.status',
] as const satisfies readonly CommandName[]
