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
import type { NetworkProfile } from '../../common/spec/index.ts'
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
  type ProxyResolution,
  type ResultOf,
  type SavedTarget,
} from '../../common/protocol/index.ts'
import { resolveRoutes } from '../net/proxy/index.ts'
import { ProfileStore, TargetStore, readProxyTlsFiles } from './profiles.ts'
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
export { MAX_TARGETS, MAX_PROFILES, MAX_PEM_FILE_BYTES, readProxyTlsFiles } from './profiles.ts'
/** How long the desktop host waits for the system proxy lookup before going DIRECT (and saying so), ms. */
export const SYSTEM_PROXY_TIMEOUT_MS = 5000
/** How long proxy.resolve may take (a PAC file fetched and evaluated), ms. */
export const RESOLVE_TIMEOUT_MS = 15_000
/** PAC evaluations proxy.resolve runs at once (each is a worker thread); more are answered WT_PAC_ERROR (reason busy). */
export const MAX_PAC_RESOLVES = 4

/** Why a host without Electron cannot look up the system proxy. */
export const SYSTEM_PROXY_UNAVAILABLE =
  'only the desktop app can ask the OS for its proxy (Chromium\'s network stack, Electron session.resolveProxy); web mode and the CLI run in plain Node, ' +
  'so System goes DIRECT here and its route says so. Use an Environment or PAC profile instead.'
/** Recordings listed by recording.list (newest first). */
export const MAX_RECORDINGS_LISTED = 500

export interface HostAdapterOptions {
  engine: Engine
  host: 'desktop' | 'web' | 'test'
  /** JSON file where named targets persist; null keeps them in memory only. */
  targetsFile?: string | null
  /** JSON file where named network profiles persist (default: profiles.json next to targetsFile; null: memory only). */
  profilesFile?: string | null
  /** Demo servers already started by the host (else demo.start starts them). */
  demo?: DemoServers | null
  /**
   * The desktop host resolves the system proxy for a URL (Electron's session.resolveProxy,
   * e.g. "PROXY proxy:3128; DIRECT"); other hosts have none and the route goes direct, saying so.
   * It rejects when the lookup fails; a lookup slower than SYSTEM_PROXY_TIMEOUT_MS counts as failed.
   */
  resolveSystemProxy?: (url: string) => Promise<string>
  /** How long to wait for resolveSystemProxy (default SYSTEM_PROXY_TIMEOUT_MS). */
  systemProxyTimeoutMs?: number
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
  readonly targetStore: TargetStore
  readonly profiles: ProfileStore
  private demo: DemoServers | null
  private demoStarting: Promise<DemoServers> | null = null
  private ownsDemo = false
  private readonly peers = new Set<Peer>()
  /** Recordings opened read-only, by key ("r1"); their connections have ids "r1:<conn>". */
  readonly recordings = new Map<string, OpenedRecording>()
  private recCounter = 0
  private readonly handlers: Handlers

  private readonly resolveSystemProxy?: (url: string) => Promise<string>
  private readonly systemProxyTimeoutMs: number
  /** proxy.resolve calls with a PAC profile in flight (bounded by MAX_PAC_RESOLVES). */
  private pacResolves = 0

  constructor(opts: HostAdapterOptions) {
    this.engine = opts.engine
    this.resolveSystemProxy = opts.resolveSystemProxy
    this.systemProxyTimeoutMs = opts.systemProxyTimeoutMs ?? SYSTEM_PROXY_TIMEOUT_MS
    this.host = opts.host
    const targetsFile = opts.targetsFile ?? null
    this.targetStore = new TargetStore(targetsFile)
    this.profiles = new ProfileStore(opts.profilesFile !== undefined ? opts.profilesFile : targetsFile ? path.join(path.dirname(targetsFile), 'profiles.json') : null)
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
        configProblems: [...this.targetStore.takeProblems(), ...this.profiles.takeProblems()],
      }),
      'session.open': async (p) => {
        let spec = p.spec
        const net = spec.network
        if (net?.mode === 'system' && !net.resolved && net.resolveError === undefined && this.resolveSystemProxy) {
          // Resolved before the engine opens, so the recording shows the system's answer as the rule.
          // A failure goes in resolveError: the engine routes DIRECT, its rule says the lookup failed,
          // and it emits the one WT_SYSTEM_PROXY_LOOKUP warning (never a silent DIRECT).
          const r = await this.lookupSystemProxy(spec.url)
          spec = { ...spec, network: 'rule' in r ? { ...net, resolved: r.rule } : { ...net, resolveError: r.error } }
        }
        if (spec.network) spec = { ...spec, network: readProxyTlsFiles(spec.network) }
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
        this.targetStore.save(p.target)
        return this.allTargets()
      },
      'targets.delete': (p) => {
        this.targetStore.delete(p.name)
        return this.allTargets()
      },
      'profiles.list': () => this.profiles.list(),
      'profiles.save': (p) => this.profiles.save(p.profile, p.replace !== false),
      'profiles.rename': (p) => this.profiles.rename(p.from, p.to),
      'profiles.delete': (p) => this.profiles.delete(p.name),
      'proxy.resolve': (p) => this.resolveProxy(p.url, p.network),
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
    return [...(this.demo?.targets ?? []), ...this.targetStore.list()]
  }

  /**
   * Asks the desktop host for the system proxy of a URL (ws:// asked as http://, as Chromium
   * knows only http(s)). A rejection or no answer within SYSTEM_PROXY_TIMEOUT_MS is a failure.
   */
  async lookupSystemProxy(url: string): Promise<{ rule: string } | { error: string }> {
    const ask = this.resolveSystemProxy
    if (!ask) return { error: 'no system proxy resolver in this host' }
    let timer: NodeJS.Timeout | undefined
    const limit = this.systemProxyTimeoutMs
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit)
    })
    try {
      const rule = await Promise.race([ask(url.replace(/^ws/i, 'http')), timeout])
      if (typeof rule !== 'string' || !rule.trim()) return { error: 'the lookup returned nothing' }
      return { rule: rule.trim() }
    } catch (e) {
      return { error: ((e as Error)?.message || String(e)).slice(0, 500) }
    } finally {
      clearTimeout(timer)
    }
  }

  /** proxy.resolve: the route a profile gives for a URL, without connecting. */
  private async resolveProxy(url: string, network: NetworkProfile): Promise<ProxyResolution> {
    const t0 = performance.now()
    const took = (): number => Math.round((performance.now() - t0) * 10) / 10
    let net = network
    if (net.mode === 'system' && !net.resolved && net.resolveError === undefined) {
      if (!this.resolveSystemProxy) return { available: false, why: SYSTEM_PROXY_UNAVAILABLE, source: 'system', routes: ['DIRECT'], ms: took() }
      const r = await this.lookupSystemProxy(url)
      // A failure is answered by the engine's own rule (DIRECT, "system proxy lookup failed: ...", WT_SYSTEM_PROXY_LOOKUP).
      net = 'rule' in r ? { ...net, resolved: r.rule } : { ...net, resolveError: r.error }
    }
    const pac = net.mode === 'pac'
    if (pac && this.pacResolves >= MAX_PAC_RESOLVES) {
      const error = { code: 'WT_PAC_ERROR', message: `at most ${MAX_PAC_RESOLVES} PAC evaluations run at once; try again when one has answered`, detail: { phase: 'proxy', reason: 'busy' } }
      return { available: true, source: 'pac', routes: [], error, ms: took() }
    }
    if (pac) this.pacResolves++
    const ac = new AbortController()
    const timer = setTimeout(() => ac.abort(), RESOLVE_TIMEOUT_MS)
    try {
      const { routes, problem } = await resolveRoutes(new URL(url), net, ac.signal)
      const first = routes[0]
      return {
        available: true,
        ...(first ? { source: first.source, rule: first.rule } : {}),
        routes: routes.map((r) => r.label),
        ...(first?.detail ? { detail: first.detail } : {}),
        ...(problem ? { error: { code: problem.code, message: problem.message } } : {}),
        ms: took(),
      }
    } catch (e) {
      return { available: true, source: net.mode, routes: [], error: toErrorData(e, 'WT_PROXY_URL_INVALID'), ms: took() }
    } finally {
      clearTimeout(timer)
      if (pac) this.pacResolves--
    }
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
