/**
 * One-step migrations between recording format versions (mitmproxy style): each step turns
 * a version-N header and its events into version N+1, and a chain runs them in order. The
 * reader hands out events of any version; `migrator()` upgrades them one at a time, so a
 * large old recording streams through without being held in memory.
 *
 * Version 0 (the prototype's format, before 2026-11): header without `timeOrigin`, `env`
 * and `secrets`; WebSocket payloads as `data` plus `binary: boolean` (base64 when binary)
 * with no `size`; ws.close without `initiator`, `wasClean` and `meaning`.
 * Version 1: the current format (format.ts).
 */
import type { WiretraceEvent } from '../events/index.ts'
import { RECORDING_VERSION, type RecordingHeader } from './format.ts'
import { closeCodeMeaning } from '../close-codes.ts'
import { recError, REC_CODES } from './errors.ts'
import { utf8Length } from './utf8.ts'

type Json = Record<string, unknown>

export interface Migration {
  from: number
  to: number
  describe: string
  header(h: Json): Json
  event(e: Json): Json
}

const PAYLOAD_V0 = new Set(['ws.message', 'ws.ping', 'ws.pong'])

export const v0ToV1: Migration = {
  from: 0,
  to: 1,
  describe: 'payloads become text/base64 with size; ws.close gains initiator, wasClean, meaning; header gains timeOrigin, env, secrets',
  header(h) {
    const created = typeof h.created === 'string' ? h.created : new Date(0).toISOString()
    const t = Date.parse(created)
    return {
      ...h,
      version: 1,
      app: typeof h.app === 'string' ? h.app : 'unknown',
      created,
      timeOrigin: typeof h.timeOrigin === 'number' ? h.timeOrigin : Number.isFinite(t) ? t : 0,
      env: h.env && typeof h.env === 'object' ? h.env : { os: 'unknown', release: '', arch: '', runtime: '', host: 'unknown' },
      connections: Array.isArray(h.connections) ? h.connections : [],
      secrets: h.secrets === 'kept' ? 'kept' : 'redacted',
    }
  },
  event(e) {
    if (PAYLOAD_V0.has(e.type as string) && 'data' in e) {
      const { data, binary, ...rest } = e
      const text = typeof data === 'string' ? data : ''
      const out: Json = { ...rest }
      if (binary === true) {
        out.base64 = text
        if (typeof out.size !== 'number') out.size = Math.floor((text.replace(/=+$/, '').length * 3) / 4)
      } else {
        out.text = text
        if (typeof out.size !== 'number') out.size = utf8Length(text)
      }
      if (e.type === 'ws.message' && out.opcode === undefined) out.opcode = binary === true ? 2 : 1
      return out
    }
    if (e.type === 'ws.close') {
      const code = typeof e.code === 'number' ? e.code : 1005
      return {
        ...e,
        code,
        reason: typeof e.reason === 'string' ? e.reason : '',
        initiator: e.initiator ?? (e.dir === 'out' ? 'local' : code === 1006 ? 'network' : 'remote'),
        wasClean: e.wasClean ?? code !== 1006,
        meaning: e.meaning ?? closeCodeMeaning(code),
      }
    }
    return e
  },
}

/** The chain, in order; MIGRATIONS[i] goes from version i to i + 1. */
export const MIGRATIONS: readonly Migration[] = [v0ToV1]

export function migrationSteps(from: number, to = RECORDING_VERSION): Migration[] {
  if (!Number.isInteger(from) || from < 0) throw recError(REC_CODES.version, `format version ${String(from)} is not a valid version`, { line: 1 })
  if (from > to) throw recError(REC_CODES.version, `format version ${from} is newer than ${to}, which this version reads; update Wiretrace`, { line: 1 })
  const steps: Migration[] = []
  for (let v = from; v < to; v++) {
    const m = MIGRATIONS[v]
    if (!m || m.from !== v) throw recError(REC_CODES.version, `no migration from format version ${v}`, { line: 1 })
    steps.push(m)
  }
  return steps
}

export interface Migrator {
  from: number
  header: RecordingHeader
  steps: string[]
  /** Identity when no step is needed. */
  event(e: WiretraceEvent): WiretraceEvent
}

/** Upgrades a header to the current version and returns a per-event function for the rest. */
export function migrator(header: RecordingHeader): Migrator {
  const steps = migrationSteps(header.version)
  if (steps.length === 0) return { from: header.version, header, steps: [], event: (e) => e }
  let h = header as unknown as Json
  for (const s of steps) h = s.header(h)
  return {
    from: header.version,
    header: h as unknown as RecordingHeader,
    steps: steps.map((s) => `v${s.from}->v${s.to}`),
    event: (e) => {
      let x = e as unknown as Json
      for (const s of steps) x = s.event(x)
      return x as unknown as WiretraceEvent
    },
  }
}

/** Whole-recording convenience. */
export function migrateRecording(header: RecordingHeader, events: WiretraceEvent[]): { header: RecordingHeader; events: WiretraceEvent[]; steps: string[] } {
  const m = migrator(header)
  return { header: m.header, events: m.steps.length ? events.map(m.event) : events, steps: m.steps }
}
