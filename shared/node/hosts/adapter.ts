/**
 * The host adapter: command dispatch and the live feed over the engine, shared by the
 * Electron utility process and web mode. A host creates one HostAdapter and attaches one
 * Peer per renderer link; the peer speaks the wire protocol (shared/common/protocol/wire.ts)
 * through a `send` function, so it does not care whether a MessagePort or a WebSocket
 * carries it. Never imports electron.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Engine } from '../engine/engine.ts'
import type { LiveFeed } from '../engine/live.ts'
import { APP_VERSION } from '../engine/version.ts'
import type { WiretraceEvent } from '../../common/events/index.ts'
import type { LiveBatch } from '../../common/live.ts'
import { toErrorData, type WiretraceErrorData } from '../../common/errors/index.ts'
import {
  ParamError,
  isClientMessage,
  validateCommand,
  type ClientMessage,
  type CommandName,
  type DemoInfo,
  type HostMessage,
  type ParamsOf,
  type RecordingInfo,
  type ResultOf,
  type SavedTarget,
} from '../../common/protocol/index.ts'
import { startDemoServers, type DemoServers } from '../demo/servers.ts'
import { FIRST_SCAN_BYTES, MAX_OPEN_RECORDINGS, OpenedRecording } from './recordings.ts'
import { sniff } from '../recording/files.ts'
import { importRecording } from '../recording/import.ts'
import { exportRecording, previewExport } from '../recording/export.ts'
import { defaultExportName } from '../recording/commands.ts'
import { loadRecording } from '../recording/files.ts'
import { recoverRecording, scanRecordings } from '../recording/recover.ts'
import { diffRecordings } from '../../common/recording/diff.ts'
import type { ConnectionSummary } from '../../common/live.ts'

/** Live events carry at most this many characters of payload; the full event is one `event.get` away. */
export const LIVE_PREVIEW_CHARS = 4096
/** Most batches a peer may have in flight (credits it may ask for). */
export const MAX_CREDITS = 4
/** How often a peer's feed is drained while it holds credit, ms (about one animation frame). */
export const PUMP_INTERVAL_MS = 16
/** Saved targets kept in the targets file. */
export const MAX_TARGETS = 500
/** Recordings listed by recording.list (newest first). */
export const MAX_RECORDINGS_LISTED = 500

export interface HostAdapterOptions {
  engine: Engine
  host: 'desktop' | 'web' | 'test'
  /** JSON file where named targets persist; null keeps them in memory only. */
  targetsFile?: string | null
  /** Demo servers already started by the host (else demo.start starts them). */
  demo?: DemoServers | null
  /**
   * The desktop host resolves the system proxy for a URL (Electron's session.resolveProxy,
   * e.g. "PROXY proxy:3128; DIRECT"); other hosts have none and the route goes direct, saying so.
   */
  resolveSystemProxy?: (url: string) => Promise<string>
}

type Handlers = { [K in CommandName]: (p: ParamsOf<K>) => ResultOf<K> | Promise<ResultOf<K>> }

/** Replaces a long payload by its head; the renderer shows the preview and fetches the rest by seq. */
export function livePreview(ev: WiretraceEvent): WiretraceEvent {
  const e = ev as WiretraceEvent & { text?: string; base64?: string; data?: string }
  if (typeof e.text === 'string' && e.text.length > LIVE_PREVIEW_CHARS) return { ...e, text: e.text.slice(0, LIVE_PREVIEW_CHARS), elided: true } as unknown as WiretraceEvent
  if (typeof e.base64 === 'string' && e.base64.length > LIVE_PREVIEW_CHARS) return { ...e, base64: e.base64.slice(0, LIVE_PREVIEW_CHARS), elided: true } as unknown as WiretraceEvent
  if (typeof e.data === 'string' && e.data.length > LIVE_PREVIEW_CHARS) return { ...e, data: e.data.slice(0, LIVE_PREVIEW_CHARS), elided: true } as unknown as WiretraceEvent
  return ev
}

export class HostAdapter {
  readonly engine: Engine
  readonly host: HostAdapterOptions['host']
  private readonly targetsFile: string | null
  private targets: SavedTarget[] | null = null
  private demo: DemoServers | null
  private demoStarting: Promise<DemoServers> | null = null
  private ownsDemo = false
  private readonly peers = new Set<Peer>()
  /** Recordings opened read-only, by key ("r1"); their connections have ids "r1:<conn>". */
  readonly recordings = new Map<string, OpenedRecording>()
  private recCounter = 0
  private readonly handlers: Handlers

  private readonly resolveSystemProxy?: (url: string) => Promise<string>

  constructor(opts: HostAdapterOptions) {
    this.engine = opts.engine
    this.resolveSystemProxy = opts.resolveSystemProxy
    this.host = opts.host
    this.targetsFile = opts.targetsFile ?? null
    this.demo = opts.demo ?? null
    // Created now so its rings hold every event from the start (range/event lookups).
    this.feed = this.engine.live()
    const live = (): LiveFeed => this.sharedFeed()
    this.handlers = {
      'host.info': () => ({
        host: this.host,
        version: APP_VERSION,
        recordingsDir: this.engine.recordingsDir,
        limits: this.engine.limits,
        demo: this.demo !== null,
      }),
      'session.open': async (p) => {
        let spec = p.spec
        const net = spec.network
        if (net?.mode === 'system' && !net.resolved && this.resolveSystemProxy) {
          // Resolved before the engine opens, so the recording shows the system's answer as the rule.
          spec = { ...spec, network: { ...net, resolved: await this.resolveSystemProxy(spec.url.replace(/^ws/i, 'http')) } }
        }
        const conn = this.engine.open(spec, p.record === false ? { recordingPath: null } : {})
        return { ...conn.summary() }
      },
      'session.send': (p) => {
        this.writable(p.id)
        this.conn(p.id).send(p.item)
        return { ok: true }
      },
      'session.close': (p) => {
        this.writable(p.id)
        this.conn(p.id).close(p.code, p.reason)
        return { ok: true }
      },
      'session.stop': (p) => {
        this.writable(p.id)
        this.conn(p.id).stop()
        return { ok: true }
      },
      'session.remove': (p) => {
        const rec = this.recordingOf(p.id)
        if (rec) {
          rec.rec.close()
          this.recordings.delete(rec.rec.key)
          return { ok: true }
        }
        this.conn(p.id)
        this.engine.remove(p.id)
        return { ok: true }
      },
      'session.list': () => [...this.engine.list().map((c) => ({ ...c.summary() })), ...this.recordingSummaries()],
      'events.range': (p) => {
        const rec = this.recordingOf(p.id)
        if (rec) return rec.rec.range(rec.conn, p.fromSeq, p.count)
        this.conn(p.id)
        return live().range(p.id, p.fromSeq, p.count)
      },
      'event.get': (p) => {
        const rec = this.recordingOf(p.id)
        if (rec) return rec.rec.range(rec.conn, p.seq, 1)[0] ?? null
        this.conn(p.id)
        return live().event(p.id, p.seq) ?? null
      },
      'targets.list': () => this.allTargets(),
      'targets.save': (p) => {
        const list = this.loadTargets().filter((t) => t.name !== p.target.name)
        if (list.length >= MAX_TARGETS) throw new ParamError(`at most ${MAX_TARGETS} targets can be saved; delete some first`)
        list.push({ name: p.target.name, spec: p.target.spec, ...(p.target.description ? { description: p.target.description } : {}) })
        list.sort((a, b) => a.name.localeCompare(b.name))
        this.saveTargets(list)
        return this.allTargets()
      },
      'targets.delete': (p) => {
        this.saveTargets(this.loadTargets().filter((t) => t.name !== p.name))
        return this.allTargets()
      },
      'recording.list': () => this.listRecordings(),
      'recording.open': (p) => this.openRecording(p.path),
      'recording.status': () =>
        [...this.recordings.values()].map((r) => ({
          key: r.key,
          path: r.path,
          name: path.basename(r.shownPath),
          size: r.size,
          scanned: r.scanned,
          done: r.done,
          events: r.eventCount,
          error: r.error,
        })),
      'recording.upload': async (p) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-drop-'))
        const file = path.join(dir, path.basename(p.name).replace(/[^\w.-]+/g, '_') || 'dropped.jsonl')
        fs.writeFileSync(file, Buffer.from(p.base64, 'base64'))
        this.tempDirs.push(dir)
        return this.openRecording(file)
      },
      'recording.recoverable': () => {
        const dir = this.engine.recordingsDir
        if (!dir) return []
        const writing = this.engine.list().map((c) => c.summary().recordingPath).filter((x): x is string => typeof x === 'string')
        return scanRecordings(dir, { exclude: writing }).map((c) => ({
          path: c.path,
          name: path.basename(c.path),
          size: c.size,
          modified: c.modified,
          reason: c.reason,
          message: c.message,
          ...(c.url ? { url: c.url } : {}),
          unfinished: c.unfinished.length,
        }))
      },
      'recording.recover': (p) => recoverRecording(p.path),
      'export.preview': async (p) => {
        const r = await previewExport(p.path, { redact: p.redact, rules: p.rules ?? [], maxSamples: 50 })
        return { manifest: r.manifest, samples: r.samples, events: r.manifest.events }
      },
      'export.save': async (p) => {
        const name = path.basename(defaultExportName(p.path, p.format))
        if (p.out !== undefined && this.host === 'web') throw new ParamError('params.out: web mode downloads the export; it does not write to a path')
        const tmpDir = p.out === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-export-')) : null
        const out = p.out ?? path.join(tmpDir!, name)
        try {
          const r = await exportRecording(p.path, { format: p.format, out, redact: p.redact, rules: p.rules ?? [] })
          const base64 = tmpDir ? fs.readFileSync(out).toString('base64') : undefined
          return { out: p.out ?? name, name: path.basename(out), bytes: r.bytes, events: r.events, manifest: r.manifest, ...(base64 !== undefined ? { base64 } : {}) }
        } finally {
          if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true })
        }
      },
      'recording.diff': async (p) => {
        const [ra, rb] = await Promise.all([loadRecording(p.a), loadRecording(p.b)])
        return diffRecordings({ label: path.basename(p.a), header: ra.header, events: ra.events }, { label: path.basename(p.b), header: rb.header, events: rb.events })
      },
      'demo.start': async () => {
        await this.startDemo()
        return this.demoInfo()
      },
      'demo.status': () => this.demoInfo(),
    }
  }

  /** Runs one command: validates params at runtime, then dispatches. Never throws. */
  async dispatch(cmd: unknown, params: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: WiretraceErrorData }> {
    try {
      const p = validateCommand(cmd, params)
      const fn = this.handlers[cmd as CommandName] as (p: unknown) => unknown
      return { ok: true, result: await fn(p) }
    } catch (e) {
      if (e instanceof ParamError) return { ok: false, error: { code: 'WT_USAGE', message: e.message } }
      return { ok: false, error: toErrorData(e) }
    }
  }

  /** A renderer link. `send` must not throw; the peer stops pumping once closed. */
  attach(send: (m: HostMessage) => void): Peer {
    const peer = new Peer(this, send, () => this.peers.delete(peer))
    this.peers.add(peer)
    return peer
  }

  private readonly tempDirs: string[] = []

  /**
   * Opens a recording read-only and returns the summaries of its connections. A native
   * recording is read in place (scanned in the background, paged by a sparse index); a
   * `.wtrace.gz` export, a HAR or an older format is imported to a temp file first.
   */
  async openRecording(file: string, shownName?: string): Promise<ConnectionSummary[]> {
    if (this.recordings.size >= MAX_OPEN_RECORDINGS) throw new ParamError(`at most ${MAX_OPEN_RECORDINGS} recordings can be open; remove one first`)
    let readFrom = file
    let kind: string = 'native'
    try {
      kind = sniff(file)
    } catch {
      /* OpenedRecording names the problem */
    }
    if (kind === 'native-gz' || kind === 'har') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-open-'))
      this.tempDirs.push(dir)
      readFrom = path.join(dir, path.basename(file).replace(/(\.wtrace\.gz|\.har|\.json|\.gz)$/i, '') + '.jsonl')
      await importRecording(file, { out: readFrom })
    }
    const key = `r${++this.recCounter}`
    const rec = new OpenedRecording(key, readFrom, shownName ?? file)
    rec.scanStep(FIRST_SCAN_BYTES)
    this.recordings.set(key, rec)
    return rec.summaries()
  }

  recordingSummaries(): ConnectionSummary[] {
    return [...this.recordings.values()].flatMap((r) => r.summaries())
  }

  /** The recording and its own connection id, when `id` names a connection of an opened recording. */
  recordingOf(id: string): { rec: OpenedRecording; conn: string } | null {
    const colon = id.indexOf(':')
    if (colon < 0) return null
    const rec = this.recordings.get(id.slice(0, colon))
    return rec ? { rec, conn: id.slice(colon + 1) } : null
  }

  private writable(id: string): void {
    if (this.recordingOf(id)) throw new ParamError(`params.id: ${id} is an opened recording; it is read-only`)
  }

  async startDemo(): Promise<DemoServers> {
    if (this.demo) return this.demo
    this.demoStarting ??= startDemoServers().then((d) => {
      this.demo = d
      this.ownsDemo = true
      return d
    })
    return this.demoStarting
  }

  async close(): Promise<void> {
    for (const p of [...this.peers]) p.close()
    for (const r of this.recordings.values()) r.close()
    this.recordings.clear()
    for (const d of this.tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
    this.feed?.close()
    this.feed = null
    if (this.ownsDemo && this.demo) await this.demo.close()
    this.demo = null
  }

  private feed: LiveFeed | null = null
  /** One feed for range/event lookups (rings of recent events); peers each own a feed for batches. */
  private sharedFeed(): LiveFeed {
    this.feed ??= this.engine.live()
    return this.feed
  }

  private conn(id: string): NonNullable<ReturnType<Engine['get']>> {
    const c = this.engine.get(id)
    if (!c) throw new ParamError(`params.id: no connection with id ${JSON.stringify(id)}`)
    return c
  }

  private demoInfo(): DemoInfo {
    return { running: this.demo !== null, targets: this.demo?.targets ?? [] }
  }

  private allTargets(): SavedTarget[] {
    return [...(this.demo?.targets ?? []), ...this.loadTargets()]
  }

  private loadTargets(): SavedTarget[] {
    if (this.targets) return this.targets
    this.targets = []
    if (this.targetsFile) {
      try {
        const raw = JSON.parse(fs.readFileSync(this.targetsFile, 'utf8')) as { targets?: unknown }
        if (Array.isArray(raw.targets)) {
          for (const t of raw.targets.slice(0, MAX_TARGETS)) {
            try {
              validateCommand('targets.save', { target: t })
              this.targets.push(t as SavedTarget)
            } catch {
              /* skip a damaged entry, keep the rest */
            }
          }
        }
      } catch {
        /* no file yet, or unreadable: start empty */
      }
    }
    return this.targets
  }

  private saveTargets(list: SavedTarget[]): void {
    this.targets = list
    if (!this.targetsFile) return
    fs.mkdirSync(path.dirname(this.targetsFile), { recursive: true })
    const tmp = `${this.targetsFile}.${process.pid}.tmp`
    const fd = fs.openSync(tmp, 'w')
    try {
      fs.writeSync(fd, JSON.stringify({ version: 1, targets: list }, null, 2) + '\n')
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, this.targetsFile)
  }

  private listRecordings(): RecordingInfo[] {
    const dir = this.engine.recordingsDir
    if (!dir) return []
    let names: string[]
    try {
      names = fs.readdirSync(dir).filter((n) => n.endsWith('.jsonl'))
    } catch {
      return []
    }
    const out: RecordingInfo[] = []
    for (const name of names) {
      try {
        const st = fs.statSync(path.join(dir, name))
        out.push({ path: path.join(dir, name), name, size: st.size, mtime: st.mtimeMs })
      } catch {
        /* removed meanwhile */
      }
    }
    return out.sort((a, b) => b.mtime - a.mtime).slice(0, MAX_RECORDINGS_LISTED)
  }
}

/** One renderer link: answers calls and pumps live batches while it holds credit. */
export class Peer {
  private readonly adapter: HostAdapter
  private readonly sendFn: (m: HostMessage) => void
  private readonly onClose: () => void
  private feed: LiveFeed | null = null
  private timer: NodeJS.Timeout | null = null
  private credits = 0
  private maxCredits = 0
  private closed = false
  /** Batches sent and events coalesced on this link, for the bench and diagnostics. */
  readonly stats = { batches: 0, events: 0, coalesced: 0 }

  constructor(adapter: HostAdapter, send: (m: HostMessage) => void, onClose: () => void) {
    this.adapter = adapter
    this.sendFn = send
    this.onClose = onClose
  }

  /** Handles one message from the renderer. Unknown shapes are ignored (and counted as bad calls when they have an id). */
  receive(msg: unknown): void {
    if (this.closed) return
    if (!isClientMessage(msg)) {
      const id = (msg as { id?: unknown } | null)?.id
      if (typeof id === 'number') this.send({ t: 'reply', id, ok: false, error: { code: 'WT_USAGE', message: 'malformed message' } })
      return
    }
    this.handle(msg)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.feed?.close()
    this.feed = null
    this.onClose()
  }

  private handle(msg: ClientMessage): void {
    if (msg.t === 'call') {
      void this.adapter.dispatch(msg.cmd, msg.params).then((r) => {
        this.send(r.ok ? { t: 'reply', id: msg.id, ok: true, result: r.result } : { t: 'reply', id: msg.id, ok: false, error: r.error })
      })
    } else if (msg.t === 'subscribe') {
      this.maxCredits = Math.max(1, Math.min(MAX_CREDITS, Math.floor(msg.credits)))
      this.credits = this.maxCredits
      if (!this.feed) {
        this.feed = this.adapter.engine.live()
        this.timer = setInterval(() => this.pump(), PUMP_INTERVAL_MS)
        this.timer.unref?.()
      }
    } else if (msg.t === 'ack') {
      this.credits = Math.min(this.maxCredits, this.credits + 1)
    }
  }

  /** Byte offset each opened recording has been streamed to on this link. */
  private readonly recCursors = new Map<string, number>()
  private readonly recScanned = new Map<string, number>()

  private pump(): void {
    if (this.credits <= 0 || !this.feed) return
    const raw = this.feed.drain()
    const events = raw.events
    const summaries = raw.summaries
    // Opened recordings stream through the same path, in the room the live events left.
    const limit = this.adapter.engine.limits.maxBatchEvents
    // The room the live events left is shared fairly: a huge recording still streaming does
    // not hold back one opened after it.
    let streaming = 0
    for (const rec of this.adapter.recordings.values()) if ((this.recCursors.get(rec.key) ?? rec.dataStart) < rec.scanned) streaming++
    const share = streaming ? Math.max(1, Math.floor((limit - events.length) / streaming)) : 0
    for (const rec of this.adapter.recordings.values()) {
      const cursor = this.recCursors.get(rec.key) ?? rec.dataStart
      const scannedBefore = this.recScanned.get(rec.key) ?? -1
      if (cursor >= rec.scanned && scannedBefore === rec.scanned) continue
      this.recScanned.set(rec.key, rec.scanned)
      const room = Math.min(share, limit - events.length)
      if (room > 0 && cursor < rec.scanned) {
        const { events: recEvents, next } = rec.readFrom(cursor, room)
        this.recCursors.set(rec.key, next)
        for (const ev of recEvents) events.push(ev)
      }
      for (const s of rec.summaries()) summaries.push(s)
    }
    const coalescedKeys = Object.keys(raw.coalesced)
    if (events.length === 0 && summaries.length === 0 && coalescedKeys.length === 0) return
    for (let i = 0; i < events.length; i++) events[i] = livePreview(events[i]!)
    const batch: LiveBatch = { events, coalesced: raw.coalesced, summaries }
    this.credits--
    this.stats.batches++
    this.stats.events += events.length
    for (const k of coalescedKeys) this.stats.coalesced += raw.coalesced[k] ?? 0
    this.send({ t: 'batch', batch, at: Date.now() })
  }

  private send(m: HostMessage): void {
    if (this.closed) return
    try {
      this.sendFn(m)
    } catch {
      this.close()
    }
  }
}
