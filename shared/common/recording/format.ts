/**
 * The recording format: JSON Lines. Line 1 is the header, every further line one event.
 * Versioned apart from the app; docs/recording-format.md documents it, and
 * docs/recording.schema.json is its JSON Schema.
 */
import type { PublicSpec } from '../spec/index.ts'

export const RECORDING_FORMAT = 'wiretrace'
export const RECORDING_VERSION = 1

export interface RecordingHeader {
  format: typeof RECORDING_FORMAT
  version: number
  /** App version that wrote it. */
  app: string
  /** ISO 8601 creation time. */
  created: string
  /** The monotonic-clock origin used for `ts`, ms since the epoch. */
  timeOrigin: number
  env: {
    os: string
    release: string
    arch: string
    runtime: string
    /** Where it was recorded: cli, desktop, web. */
    host: string
    /** Proxy-related environment variable names present (values not recorded). */
    proxyEnv?: string[]
  }
  /** The connections recorded, secrets redacted. */
  connections: PublicSpec[]
  /** Whether the user asked to keep secrets unredacted. */
  secrets: 'redacted' | 'kept'
  /** Free-form title. */
  title?: string
}

export function isRecordingHeader(v: unknown): v is RecordingHeader {
  if (!v || typeof v !== 'object') return false
  const h = v as Record<string, unknown>
  return h.format === RECORDING_FORMAT && typeof h.version === 'number' && Array.isArray(h.connections)
}
