/**
 * The engine: opens connections, gives each an event log and a recording, and fans events
 * out to listeners. Pure Node: never imports electron (test/unit/layering.test.ts checks).
 * The CLI, the web host and the Electron utility process are thin adapters over it.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { ConnectionSpec } from '../../common/spec/index.ts'
import type { WiretraceEvent } from '../../common/events/index.ts'
import { resolveLimits, type Limits } from '../../common/limits.ts'
import { RECORDING_FORMAT, RECORDING_VERSION, type RecordingHeader } from '../../common/recording/format.ts'
import { redactSpec } from '../../common/redact.ts'
import { WiretraceError } from '../../common/errors/index.ts'
import { RecordingWriter } from '../recording/writer.ts'
import { Connection, type EventListener } from './connection.ts'
import { TRANSPORT_FACTORIES } from './transports.ts'
import { validateSpec } from './validate.ts'
import { TIME_ORIGIN } from './clock.ts'
import { LiveFeed } from './live.ts'
import { APP_VERSION } from './version.ts'

export interface EngineOptions {
  /** Where recordings go when a connection does not name a path. null = do not record by default. */
  recordingsDir?: string | null
  host?: 'cli' | 'desktop' | 'web' | 'test'
  limits?: Partial<Limits>
}

export interface OpenOptions {
  /** Recording file; "-" for stdout; null for none; undefined = recordingsDir/<id>.jsonl. */
  recordingPath?: string | null
  title?: string
}

const PROXY_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'ws_proxy', 'wss_proxy']

export class Engine {
  readonly limits: Limits
  readonly recordingsDir: string | null
  readonly host: string
  private readonly conns = new Map<string, Connection>()
  private readonly listeners: EventListener[] = []
  private counter = 0

  constructor(opts: EngineOptions = {}) {
    this.limits = resolveLimits(opts.limits)
    this.recordingsDir = opts.recordingsDir ?? null
    this.host = opts.host ?? 'cli'
    if (this.recordingsDir) fs.mkdirSync(this.recordingsDir, { recursive: true })
  }

  /** Builds the header a recording of these connections starts with. */
  header(specs: ConnectionSpec[], title?: string): RecordingHeader {
    return {
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      app: APP_VERSION,
      created: new Date().toISOString(),
      timeOrigin: TIME_ORIGIN,
      env: {
        os: os.platform(),
        release: os.release(),
        arch: os.arch(),
        runtime: `node ${process.versions.node}${process.versions.electron ? ` electron ${process.versions.electron}` : ''}`,
        host: this.host,
        proxyEnv: PROXY_ENV.filter((k) => process.env[k]),
      },
      connections: specs.map(redactSpec),
      secrets: specs.some((s) => s.keepSecrets) ? 'kept' : 'redacted',
      ...(title ? { title } : {}),
    }
  }

  /** Validates the spec, opens its recording and starts the connection. */
  open(spec: ConnectionSpec, opts: OpenOptions = {}): Connection {
    validateSpec(spec)
    const factory = TRANSPORT_FACTORIES[spec.transport]
    if (!factory) throw new WiretraceError('WT_OPTION_INVALID', `the ${spec.transport} transport is not available in this build`)
    const id = spec.id ?? `c${++this.counter}-${randomBytes(3).toString('hex')}`
    if (this.conns.has(id)) throw new WiretraceError('WT_OPTION_INVALID', `a connection with id ${id} already exists`)
    const full: ConnectionSpec = { ...spec, id }
    let recPath = opts.recordingPath
    if (recPath === undefined) recPath = this.recordingsDir ? path.join(this.recordingsDir, `${stamp()}-${id}.jsonl`) : null
    const limits = resolveLimits(this.limits, spec.limits)
    let writer: RecordingWriter | null = null
    let conn: Connection | null = null
    if (recPath) {
      writer = new RecordingWriter(recPath, this.header([full], opts.title), {
        flushBytes: limits.recorderFlushBytes,
        ringBytes: limits.recorderRingBytes,
        onError: (err) => {
          // The recording failed (disk full...): say so on the live path; the connection goes on.
          for (const l of this.listeners) {
            try {
              l({ seq: -1, ts: Date.now(), conn: id, type: 'error', code: err.code, phase: 'recording', message: err.message, fatal: false })
            } catch {
              /* ignore */
            }
          }
          void conn
        },
      })
    }
    conn = new Connection(id, full, limits, writer, this.listeners)
    this.conns.set(id, conn)
    conn.start(factory)
    return conn
  }

  get(id: string): Connection | undefined {
    return this.conns.get(id)
  }

  list(): Connection[] {
    return [...this.conns.values()]
  }

  /** Forget a finished connection (its recording stays on disk). */
  remove(id: string): boolean {
    const c = this.conns.get(id)
    if (!c) return false
    c.stop('removed')
    return this.conns.delete(id)
  }

  /** Every event of every connection, synchronously. Keep listeners O(1). Returns an unsubscribe function. */
  onEvent(fn: (ev: WiretraceEvent) => void): () => void {
    this.listeners.push(fn)
    return () => {
      const i = this.listeners.indexOf(fn)
      if (i >= 0) this.listeners.splice(i, 1)
    }
  }

  /** A batched live view for a UI. */
  live(): LiveFeed {
    return new LiveFeed(this)
  }

  async shutdown(): Promise<void> {
    const pending = [...this.conns.values()].map((c) => {
      c.stop('engine shutdown')
      return c.done
    })
    await Promise.all(pending)
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19)
}
