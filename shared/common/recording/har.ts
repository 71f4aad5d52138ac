/**
 * HAR 1.2 export and import (pure: header + events in, HAR out, and back).
 *
 * Export: one entry per connection. WebSocket messages go to Chrome's `_webSocketMessages`
 * (`{type: "send"|"receive", time: seconds, opcode, data}`, binary as base64), SSE events to
 * `_eventSourceMessages` (`{time, eventName, eventId, data}`), and everything else Wiretrace
 * knows (control frames, closes, proxy and timing trace, TLS, stats, the exact spec) to the
 * documented `_wiretrace` extension fields (docs/recording-format.md#har), so that a
 * Wiretrace HAR imports back to the same events: every WebSocket message byte-exact.
 *
 * Import: Wiretrace HAR (exact), Chrome DevTools and HTTP Toolkit HAR (WebSocket entries,
 * `_eventSourceMessages` when present). Never throws anything but a coded WiretraceError;
 * damaged parts become issues naming the JSON path and what was read is kept.
 */
import type { HeaderPairs, WiretraceEvent, WsMessageEvent, SseEvent, OpenEvent, HttpRequestEvent, HttpResponseEvent, ConnStartEvent, EndEvent } from '../events/index.ts'
import { RECORDING_FORMAT, RECORDING_VERSION, isRecordingHeader, type RecordingHeader } from './format.ts'
import type { ConnectionSpec, Transport } from '../spec/index.ts'
import { base64ToBytes } from '../bytes.ts'
import { recError, REC_CODES, IssueList, ioLimits, type RecordingIoLimits, type ConvertIssue } from './errors.ts'
import { utf8Length } from './utf8.ts'
import { migrator } from './migrate.ts'
import { closeCodeMeaning } from '../close-codes.ts'
import type { RedactionManifest } from './redact-rules.ts'

export const HAR_EXTENSION_VERSION = 1

export interface HarHeader {
  name: string
  value: string
}
export interface HarEntry {
  startedDateTime: string
  time: number
  request: {
    method: string
    url: string
    httpVersion: string
    cookies: unknown[]
    headers: HarHeader[]
    queryString: Array<{ name: string; value: string }>
    headersSize: number
    bodySize: number
  }
  response: {
    status: number
    statusText: string
    httpVersion: string
    cookies: unknown[]
    headers: HarHeader[]
    content: { size: number; mimeType: string; text?: string }
    redirectURL: string
    headersSize: number
    bodySize: number
  }
  cache: Record<string, never>
  timings: { blocked: number; dns: number; connect: number; send: number; wait: number; receive: number; ssl: number }
  serverIPAddress?: string
  connection?: string
  comment?: string
  _resourceType?: string
  _webSocketMessages?: HarWsMessage[]
  _eventSourceMessages?: HarSseMessage[]
  _wiretrace?: { conn: string; events: WiretraceEvent[] }
}
export interface HarWsMessage {
  type: 'send' | 'receive'
  time: number
  opcode: number
  data: string
  _wiretrace?: Record<string, unknown>
}
export interface HarSseMessage {
  time: number
  eventName: string
  eventId: string
  data: string
  _wiretrace?: Record<string, unknown>
}
export interface Har {
  log: {
    version: '1.2'
    creator: { name: string; version: string }
    entries: HarEntry[]
    comment?: string
    _wiretrace?: { version: number; header: RecordingHeader; redaction?: RedactionManifest }
  }
}

export interface HarExportOptions {
  redaction?: RedactionManifest
}

/** Groups events by connection, in order of first appearance. */
function groupByConn(events: Iterable<WiretraceEvent>): Map<string, WiretraceEvent[]> {
  const m = new Map<string, WiretraceEvent[]>()
  for (const ev of events) {
    let list = m.get(ev.conn)
    if (!list) m.set(ev.conn, (list = []))
    list.push(ev)
  }
  return m
}

const pairs = (h: HeaderPairs | undefined): HarHeader[] =>
  (Array.isArray(h) ? h : []).filter((p) => Array.isArray(p)).map(([name, value]) => ({ name: String(name), value: String(value) }))
const iso = (ms: number): string => {
  const d = new Date(Number.isFinite(ms) ? ms : 0)
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString()
}
const nn = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) / 1000 : -1)

function queryString(url: string): Array<{ name: string; value: string }> {
  const q = url.indexOf('?')
  if (q < 0) return []
  const hash = url.indexOf('#', q)
  return url
    .slice(q + 1, hash < 0 ? undefined : hash)
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=')
      return { name: eq < 0 ? p : p.slice(0, eq), value: eq < 0 ? '' : p.slice(eq + 1) }
    })
}

const WS_KNOWN = new Set(['seq', 'ts', 'conn', 'type', 'dir', 'opcode', 'text', 'base64', 'size', 'wireSize', 'frames', 'compressed', 'truncated', 'redacted'])

function wsMessage(ev: WsMessageEvent): HarWsMessage {
  const src = ev as unknown as Record<string, unknown>
  let known = true
  for (const k in src) {
    if (!WS_KNOWN.has(k)) {
      known = false
      break
    }
  }
  let ext: Record<string, unknown>
  if (known) {
    // Fixed shape (fast to build and to stringify); undefined fields are left out by JSON.
    ext = { seq: ev.seq, ts: ev.ts, size: ev.size, wireSize: ev.wireSize, frames: ev.frames, compressed: ev.compressed, truncated: ev.truncated, redacted: src.redacted as boolean | undefined, enc: undefined as string | undefined }
  } else {
    const { type: _t, conn: _c, dir: _d, opcode: _o, text: _x, base64: _b, ...rest } = ev
    ext = rest
  }
  let data: string
  if (ev.text !== undefined) data = ev.text
  else {
    data = ev.base64 ?? ''
    if (ev.opcode === 1) ext.enc = 'base64'
  }
  return { type: ev.dir === 'out' ? 'send' : 'receive', time: ev.ts / 1000, opcode: ev.opcode, data, _wiretrace: ext }
}

function sseMessage(ev: SseEvent): HarSseMessage {
  const { type: _t, conn: _c, event, data, ...rest } = ev
  return { time: ev.ts / 1000, eventName: event, eventId: ev.id ?? ev.lastEventId ?? '', data, _wiretrace: rest }
}

/**
 * What the head of one connection's entry is made of, fed the connection's events one at a
 * time in order, so that a streaming writer need not keep the events themselves.
 */
class EntryState {
  start: ConnStartEvent | undefined
  req: HttpRequestEvent | undefined
  res: HttpResponseEvent | undefined
  open: OpenEvent | undefined
  end: EndEvent | undefined
  serverIp: string | undefined
  tcpLocal: string | undefined
  first: WiretraceEvent | undefined
  last: WiretraceEvent | undefined
  readonly phases = { dns: -1, tcp: -1, tls: -1, proxy: -1 }
  wsCount = 0
  sseCount = 0

  /** Takes the next event; returns its list: 0 `_webSocketMessages`, 1 `_eventSourceMessages`, 2 `_wiretrace.events`. */
  add(ev: WiretraceEvent): 0 | 1 | 2 {
    this.first ??= ev
    this.last = ev
    switch (ev.type) {
      case 'ws.message':
        this.wsCount++
        return 0
      case 'sse.event':
        this.sseCount++
        return 1
      case 'conn.start':
        this.start ??= ev
        break
      case 'http.request':
        if (!this.req && ev.ref === undefined) this.req = ev
        break
      case 'http.response':
        if (!this.res && ev.ref === undefined) this.res = ev
        break
      case 'open':
        this.open ??= ev
        break
      case 'end':
        this.end = ev
        break
      case 'dns':
        if (ev.target === 'origin' || this.phases.dns < 0) this.phases.dns = ev.durationMs
        break
      case 'tcp':
        this.serverIp ??= ev.remoteAddress
        this.tcpLocal ??= String(ev.localPort)
        if (this.phases.tcp < 0) this.phases.tcp = ev.durationMs
        break
      case 'tls':
        if (ev.hop === 'origin') this.phases.tls = ev.durationMs
        break
      case 'proxy.connect':
        this.phases.proxy = (this.phases.proxy < 0 ? 0 : this.phases.proxy) + ev.durationMs
        break
    }
    return 2
  }

  /** The entry without its message and event lists. */
  head(conn: string, specFallback: ConnectionSpec | undefined): HarEntry {
    const spec = this.start?.spec ?? specFallback
    const url = this.req?.url ?? spec?.url ?? ''
    const transport: Transport | undefined = spec?.transport
    const p = this.open?.phases
    const dns = nn(p?.dns ?? (this.phases.dns >= 0 ? this.phases.dns : undefined))
    const ssl = nn(p?.tls ?? (this.phases.tls >= 0 ? this.phases.tls : undefined))
    const tcp = nn(p?.tcp ?? (this.phases.tcp >= 0 ? this.phases.tcp : undefined))
    const proxy = nn(p?.proxy ?? (this.phases.proxy >= 0 ? this.phases.proxy : undefined))
    const connect = tcp < 0 && ssl < 0 && proxy < 0 ? -1 : Math.max(0, tcp) + Math.max(0, ssl) + Math.max(0, proxy)
    const wait = nn(this.res?.durationMs ?? p?.handshake)
    const t0 = this.start?.ts ?? this.first?.ts ?? 0
    const openTs = this.open?.ts ?? this.res?.ts
    const endTs = this.end?.ts ?? this.last?.ts ?? t0
    const receive = openTs !== undefined ? nn(endTs - openTs) : 0
    const timings = { blocked: -1, dns, connect, send: 0, wait: wait < 0 ? 0 : wait, receive: receive < 0 ? 0 : receive, ssl }
    const time = Math.round((Math.max(0, dns) + Math.max(0, connect) + timings.send + timings.wait + timings.receive) * 1000) / 1000
    const ctype = pairs(this.res?.headers).find((h) => h.name.toLowerCase() === 'content-type')?.value
    const head: HarEntry = {
      startedDateTime: iso(t0),
      time,
      request: {
        method: this.req?.method ?? spec?.method ?? 'GET',
        url,
        httpVersion: 'HTTP/1.1',
        cookies: [],
        headers: pairs(this.req?.headers ?? spec?.headers),
        queryString: queryString(url),
        headersSize: -1,
        bodySize: this.req?.bodySize ?? 0,
      },
      response: {
        status: this.res?.status ?? 0,
        statusText: this.res?.statusText ?? '',
        httpVersion: this.res ? `HTTP/${this.res.httpVersion}` : '',
        cookies: [],
        headers: pairs(this.res?.headers),
        content: { size: 0, mimeType: ctype ?? 'x-unknown', ...(this.res?.bodyPreview ? { text: this.res.bodyPreview } : {}) },
        redirectURL: '',
        headersSize: -1,
        bodySize: -1,
      },
      cache: {},
      timings,
    }
    if (this.serverIp) head.serverIPAddress = this.serverIp
    if (this.tcpLocal) head.connection = this.tcpLocal
    head._resourceType = transport === 'ws' || this.wsCount ? 'websocket' : transport === 'sse' || this.sseCount ? 'eventsource' : transport === 'poll' ? 'xhr' : 'fetch'
    if (this.end) head.comment = `${conn}: ${this.end.reason}`
    return head
  }
}

/** Builds the entry for one connection; message arrays are separate so a writer can stream them. */
function buildEntry(conn: string, evs: WiretraceEvent[], specFallback: ConnectionSpec | undefined): { head: HarEntry; ws: WsMessageEvent[]; sse: SseEvent[]; rest: WiretraceEvent[] } {
  const state = new EntryState()
  const ws: WsMessageEvent[] = []
  const sse: SseEvent[] = []
  const rest: WiretraceEvent[] = []
  for (const ev of evs) {
    const to = state.add(ev)
    if (to === 0) ws.push(ev as WsMessageEvent)
    else if (to === 1) sse.push(ev as SseEvent)
    else rest.push(ev)
  }
  return { head: state.head(conn, specFallback), ws, sse, rest }
}

function specMap(header: RecordingHeader): Map<string, ConnectionSpec> {
  return new Map((Array.isArray(header.connections) ? header.connections : []).filter((s) => s && typeof s === 'object').map((s) => [s.id ?? '', s]))
}

function logHead(header: RecordingHeader, opts: HarExportOptions): Omit<Har['log'], 'entries'> {
  const ext: NonNullable<Har['log']['_wiretrace']> = { version: HAR_EXTENSION_VERSION, header }
  if (opts.redaction) ext.redaction = opts.redaction
  return {
    version: '1.2',
    creator: { name: 'Wiretrace', version: header.app || 'unknown' },
    comment: header.title ?? `Wiretrace recording created ${header.created}`,
    _wiretrace: ext,
  }
}

/** The HAR as an object (fine for small and medium recordings; use harChunks to stream big ones). */
export function toHar(header: RecordingHeader, events: Iterable<WiretraceEvent>, opts: HarExportOptions = {}): Har {
  const groups = groupByConn(events)
  const specs = specMap(header)
  const entries: HarEntry[] = []
  for (const [conn, evs] of groups) {
    const { head, ws, sse, rest } = buildEntry(conn, evs, specs.get(conn))
    if (ws.length || head._resourceType === 'websocket') head._webSocketMessages = ws.map(wsMessage)
    if (sse.length || head._resourceType === 'eventsource') head._eventSourceMessages = sse.map(sseMessage)
    head._wiretrace = { conn, events: rest }
    entries.push(head)
  }
  const log = logHead(header, opts)
  return { log: { version: log.version, creator: log.creator, entries, ...(log.comment ? { comment: log.comment } : {}), ...(log._wiretrace ? { _wiretrace: log._wiretrace } : {}) } }
}

/**
 * One JSON list (messages or events of one connection) kept as text: items are joined into
 * blocks of about `block` characters as they come, so what stays in memory is a few large
 * strings, not an object per event. Values (messages) are stringified a block at a time:
 * one JSON.stringify of the array, no string per item and no join. An item that cannot be
 * stringified ends the list there and its error is kept for the writer to throw where the
 * whole-document path would have met it.
 */
class TextList {
  count = 0
  /** Comma-separated runs of items, in order; joined with commas they are the list. */
  blocks: string[] = []
  failed = false
  error: unknown = null
  private values: unknown[] = []
  private texts: string[] = []
  private chars = 0

  constructor(private readonly block: number) {}

  /** An item to stringify later, with an estimate of its JSON size in characters. */
  pushValue(v: unknown, chars: number): void {
    this.count++
    if (this.failed) return
    if (this.texts.length) this.seal()
    this.values.push(v)
    this.chars += chars
    if (this.chars >= this.block) this.seal()
  }

  /** An item stringified now. */
  pushJson(v: unknown): void {
    this.count++
    if (this.failed) return
    if (this.values.length) {
      this.seal()
      if (this.failed) return
    }
    let text: string
    try {
      text = JSON.stringify(v)
    } catch (e) {
      this.seal()
      this.fail(e)
      return
    }
    this.texts.push(text)
    this.chars += text.length
    if (this.chars >= this.block) this.seal()
  }

  seal(): void {
    if (this.texts.length) {
      this.blocks.push(this.texts.join(','))
      this.texts = []
    } else if (this.values.length) {
      const vs = this.values
      this.values = []
      let text: string | null = null
      try {
        // The array's JSON is its items' JSON joined by commas, in brackets.
        text = JSON.stringify(vs).slice(1, -1)
      } catch {
        // Too long for one string, nested too deep as array items, or an item that fails.
      }
      if (text !== null) this.blocks.push(text)
      else {
        for (const v of vs) {
          try {
            this.blocks.push(JSON.stringify(v))
          } catch (e) {
            this.fail(e)
            break
          }
        }
      }
    }
    this.chars = 0
  }

  private fail(e: unknown): void {
    this.failed = true
    this.error = e
    this.values = []
    this.texts = []
  }
}

class ConnText {
  readonly state = new EntryState()
  readonly ws: TextList
  readonly sse: TextList
  readonly rest: TextList
  constructor(block: number) {
    this.ws = new TextList(block)
    this.sse = new TextList(block)
    this.rest = new TextList(block)
  }
}

/** Largest block of joined items (text above ~128 KiB is allocated outside the young heap). */
const MAX_BLOCK = 256 * 1024
/** Room for a message's fields besides its payload, for the size estimate. */
const MESSAGE_CHARS = 160

const strLen = (v: unknown): number => (typeof v === 'string' ? v.length : 0)

/**
 * A HAR written while the events come in: each event goes into its connection's entry at
 * once and only the JSON text is kept (TextList), so memory is about the size of the output
 * and no event object outlives its turn. `chunks()` then gives the document, the same text
 * as `JSON.stringify(toHar(...))`; call it once.
 */
export class HarStream {
  private readonly conns = new Map<string, ConnText>()
  private readonly chunkChars: number
  private readonly block: number

  constructor(opts: { chunkChars?: number } = {}) {
    this.chunkChars = opts.chunkChars ?? 1 << 20
    this.block = Math.min(this.chunkChars, MAX_BLOCK)
  }

  add(ev: WiretraceEvent): void {
    let c = this.conns.get(ev.conn)
    if (!c) this.conns.set(ev.conn, (c = new ConnText(this.block)))
    const to = c.state.add(ev)
    if (to === 0) {
      const m = wsMessage(ev as WsMessageEvent)
      c.ws.pushValue(m, MESSAGE_CHARS + strLen(m.data))
    } else if (to === 1) {
      const m = sseMessage(ev as SseEvent)
      c.sse.pushValue(m, MESSAGE_CHARS + strLen(m.data) + strLen(m.eventName) + strLen(m.eventId))
    } else c.rest.pushJson(ev)
  }

  /**
   * The document in pieces: structure joined into chunks of about `chunkChars`, and each
   * block of items passed on as it is (at most about `chunkChars` too).
   */
  *chunks(header: RecordingHeader, opts: HarExportOptions = {}): Generator<string> {
    const chunkChars = this.chunkChars
    const specs = specMap(header)
    const log = logHead(header, opts)
    yield `{"log":{"version":"1.2","creator":${JSON.stringify(log.creator)},"entries":[`
    // Small pieces joined once per chunk (string concatenation would build deep ropes).
    let parts: string[] = []
    let size = 0
    const put = (x: string): string | null => {
      parts.push(x)
      size += x.length
      if (size < chunkChars) return null
      const out = parts.join('')
      parts = []
      size = 0
      return out
    }
    const flush = (): string | null => {
      if (parts.length === 0) return null
      const out = parts.join('')
      parts = []
      size = 0
      return out
    }
    let first = true
    for (const [conn, c] of this.conns) {
      const head = c.state.head(conn, specs.get(conn))
      const lists: Array<[string, TextList]> = []
      if (c.ws.count || head._resourceType === 'websocket') lists.push(['_webSocketMessages', c.ws])
      if (c.sse.count || head._resourceType === 'eventsource') lists.push(['_eventSourceMessages', c.sse])
      lists.push(['events', c.rest])
      let x = put((first ? '' : ',') + JSON.stringify(head).slice(0, -1))
      first = false
      if (x !== null) yield x
      for (const [name, l] of lists) {
        if (name === 'events') {
          x = put(`,"_wiretrace":{"conn":${JSON.stringify(conn)}`)
          if (x !== null) yield x
        }
        x = put(`,"${name}":[`)
        if (x !== null) yield x
        l.seal()
        const blocks = l.blocks
        l.blocks = []
        for (let i = 0; i < blocks.length; i++) {
          if (i) parts.push(',')
          x = flush()
          if (x !== null) yield x
          yield blocks[i]!
        }
        if (l.failed) throw l.error
        x = put(']')
        if (x !== null) yield x
      }
      x = put('}}')
      if (x !== null) yield x
    }
    let tail = parts.join('') + ']'
    if (log.comment) tail += `,"comment":${JSON.stringify(log.comment)}`
    tail += `,"_wiretrace":${JSON.stringify(log._wiretrace)}}}`
    yield tail
  }
}

/**
 * The same HAR as JSON text in chunks (each at most about `chunkChars`), holding only the
 * JSON text of the events in memory: for exports of millions of events.
 */
export function* harChunks(header: RecordingHeader, events: Iterable<WiretraceEvent>, opts: HarExportOptions & { chunkChars?: number } = {}): Generator<string> {
  const har = new HarStream(opts)
  for (const ev of events) har.add(ev)
  yield* har.chunks(header, opts)
}

// ---------------------------------------------------------------- import

export type HarFlavour = 'wiretrace' | 'chrome' | 'httptoolkit' | 'har'

export interface HarImportResult {
  flavour: HarFlavour
  header: RecordingHeader
  events: WiretraceEvent[]
  issues: ConvertIssue[]
  issueCount: number
  /** Entries that carried no long-lived connection (plain HTTP), not imported. */
  skipped: number
  /** Migration steps applied to an older embedded Wiretrace header. */
  steps: string[]
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)
const isEventLike = (v: unknown): v is WiretraceEvent =>
  isObj(v) && typeof v.type === 'string' && typeof v.seq === 'number' && Number.isFinite(v.seq) && typeof v.ts === 'number' && Number.isFinite(v.ts) && typeof v.conn === 'string'

function headerPairs(v: unknown): HeaderPairs {
  if (!Array.isArray(v)) return []
  const out: HeaderPairs = []
  for (const h of v) if (isObj(h) && typeof h.name === 'string' && typeof h.value === 'string') out.push([h.name, h.value])
  return out
}

function detectFlavour(log: Record<string, unknown>): HarFlavour {
  const creator = isObj(log.creator) && typeof log.creator.name === 'string' ? log.creator.name.toLowerCase() : ''
  if (isObj(log._wiretrace) && creator === 'wiretrace') return 'wiretrace'
  if (creator.includes('http toolkit') || creator.includes('httptoolkit')) return 'httptoolkit'
  if (creator.includes('webinspector') || creator.includes('chrome') || creator.includes('devtools')) return 'chrome'
  return 'har'
}

/** Parses HAR text; throws WT_RECORDING_HEADER (foreign) or WT_RECORDING_LINE (damaged) with the offset. */
export function parseHarText(text: string, limits?: Partial<RecordingIoLimits>): HarImportResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    const m = /position (\d+)/.exec(msg)
    if (e instanceof RangeError) throw recError(REC_CODES.tooLarge, `the HAR file nests too deeply to read`, {})
    throw recError(REC_CODES.corrupt, `the HAR file is not valid JSON: ${msg}`, m ? { offset: Number(m[1]) } : {})
  }
  return fromHar(value, limits)
}

export function fromHar(value: unknown, limitsIn?: Partial<RecordingIoLimits>): HarImportResult {
  const limits = ioLimits(limitsIn)
  if (!isObj(value) || !isObj(value.log)) throw recError(REC_CODES.foreign, 'not a HAR file: no "log" object at the top level', { at: 'log' })
  const log = value.log
  if (!Array.isArray(log.entries)) throw recError(REC_CODES.corrupt, 'HAR "log.entries" is not an array', { at: 'log.entries' })
  if (log.entries.length > limits.maxHarEntries) {
    throw recError(REC_CODES.tooLarge, `the HAR has ${log.entries.length} entries, more than the limit of ${limits.maxHarEntries} (maxHarEntries)`, { at: 'log.entries' })
  }
  const flavour = detectFlavour(log)
  const issues = new IssueList(limits.maxIssues)
  if (flavour === 'wiretrace') return fromWiretraceHar(log, issues, limits)
  return fromForeignHar(log, flavour, issues, limits)
}

function fromWiretraceHar(log: Record<string, unknown>, issues: IssueList, limits: RecordingIoLimits): HarImportResult {
  const ext = log._wiretrace as Record<string, unknown>
  if (!isRecordingHeader(ext.header)) throw recError(REC_CODES.corrupt, 'log._wiretrace.header is not a Wiretrace recording header', { at: 'log._wiretrace.header' })
  if (typeof ext.version === 'number' && ext.version > HAR_EXTENSION_VERSION) {
    issues.add(REC_CODES.version, `HAR extension version ${ext.version} is newer than ${HAR_EXTENSION_VERSION}; unknown fields are kept as they are`, { at: 'log._wiretrace.version' })
  }
  const m = migrator(ext.header) // throws WT_RECORDING_VERSION for a newer format
  const events: WiretraceEvent[] = []
  const entries = log.entries as unknown[]
  let skipped = 0
  const push = (ev: WiretraceEvent): void => {
    if (events.length >= limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, {})
    events.push(m.event(ev))
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    const at = `log.entries[${i}]`
    if (!isObj(e)) {
      issues.add(REC_CODES.corrupt, 'entry is not an object', { at })
      continue
    }
    const wt = e._wiretrace
    if (!isObj(wt) || typeof wt.conn !== 'string' || !Array.isArray(wt.events)) {
      skipped++
      continue
    }
    const conn = wt.conn
    wt.events.forEach((ev, j) => {
      if (isEventLike(ev)) push(ev)
      else issues.add(REC_CODES.corrupt, 'not an event (needs seq, ts, conn, type)', { at: `${at}._wiretrace.events[${j}]` })
    })
    if (Array.isArray(e._webSocketMessages)) {
      e._webSocketMessages.forEach((msg, j) => {
        const ev = wsFromHar(msg, conn, `${at}._webSocketMessages[${j}]`, issues, true)
        if (ev) push(ev)
      })
    }
    if (Array.isArray(e._eventSourceMessages)) {
      e._eventSourceMessages.forEach((msg, j) => {
        const ev = sseFromHar(msg, conn, `${at}._eventSourceMessages[${j}]`, issues, true)
        if (ev) push(ev)
      })
    }
  }
  events.sort((a, b) => a.seq - b.seq || a.ts - b.ts)
  return { flavour: 'wiretrace', header: m.header, events, issues: issues.items, issueCount: issues.count, skipped, steps: m.steps }
}

const STD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function wsFromHar(msg: unknown, conn: string, at: string, issues: IssueList, exact: boolean): WsMessageEvent | null {
  if (!isObj(msg)) {
    issues.add(REC_CODES.corrupt, 'message is not an object', { at })
    return null
  }
  const { type, time, opcode, data } = msg
  if ((type !== 'send' && type !== 'receive') || typeof time !== 'number' || !Number.isFinite(time) || typeof data !== 'string') {
    issues.add(REC_CODES.corrupt, 'message needs type "send"|"receive", a numeric time and string data', { at })
    return null
  }
  const op = opcode === 2 ? 2 : opcode === 1 || opcode === undefined ? 1 : null
  if (op === null) {
    // Chrome writes only data frames; other tools may add control frames (8 close, 9 ping, 10 pong).
    issues.add(REC_CODES.corrupt, `opcode ${String(opcode)} is not a data frame; skipped`, { at })
    return null
  }
  const ext = exact && isObj(msg._wiretrace) ? msg._wiretrace : null
  const asBase64 = op === 2 || ext?.enc === 'base64'
  const ext0 = exact && isObj(msg._wiretrace) ? msg._wiretrace : null
  let size: number
  if (asBase64) {
    if (STD_BASE64.test(data) && data.length % 4 === 0) {
      size = (data.length / 4) * 3 - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0)
    } else {
      try {
        size = base64ToBytes(data).length
      } catch (e) {
        issues.add(REC_CODES.corrupt, `binary data is not base64: ${(e as Error).message}`, { at: `${at}.data` })
        return null
      }
    }
  } else size = ext0 && typeof ext0.size === 'number' ? ext0.size : utf8Length(data)
  const ev: Record<string, unknown> = { seq: 0, ts: time * 1000, conn, type: 'ws.message', dir: type === 'send' ? 'out' : 'in', opcode: op, size }
  if (ext) {
    for (const k of Object.keys(ext)) if (k !== 'enc' && k !== 'type' && k !== 'conn' && k !== 'dir' && k !== 'opcode' && k !== 'text' && k !== 'base64') ev[k] = ext[k]
    if (typeof ev.seq !== 'number' || typeof ev.ts !== 'number') {
      issues.add(REC_CODES.corrupt, 'message _wiretrace needs numeric seq and ts', { at: `${at}._wiretrace` })
      return null
    }
  }
  if (asBase64) ev.base64 = data
  else ev.text = data
  return ev as unknown as WsMessageEvent
}

function sseFromHar(msg: unknown, conn: string, at: string, issues: IssueList, exact: boolean): SseEvent | null {
  if (!isObj(msg)) {
    issues.add(REC_CODES.corrupt, 'event is not an object', { at })
    return null
  }
  const time = msg.time
  const data = msg.data
  if (typeof time !== 'number' || !Number.isFinite(time) || typeof data !== 'string') {
    issues.add(REC_CODES.corrupt, 'event needs a numeric time and string data', { at })
    return null
  }
  const name = typeof msg.eventName === 'string' ? msg.eventName : typeof msg.event === 'string' ? msg.event : 'message'
  const id = typeof msg.eventId === 'string' ? msg.eventId : typeof msg.id === 'string' ? msg.id : ''
  const ext = exact && isObj(msg._wiretrace) ? msg._wiretrace : null
  const ev: Record<string, unknown> = { seq: 0, ts: time * 1000, conn, type: 'sse.event', event: name, data, lastEventId: id, size: ext && typeof ext.size === 'number' ? ext.size : utf8Length(data) }
  if (id && !ext) ev.id = id
  if (ext) {
    for (const k of Object.keys(ext)) if (k !== 'type' && k !== 'conn' && k !== 'event' && k !== 'data') ev[k] = ext[k]
    if (typeof ev.seq !== 'number' || typeof ev.ts !== 'number') {
      issues.add(REC_CODES.corrupt, 'event _wiretrace needs numeric seq and ts', { at: `${at}._wiretrace` })
      return null
    }
  }
  return ev as unknown as SseEvent
}

function fromForeignHar(log: Record<string, unknown>, flavour: HarFlavour, issues: IssueList, limits: RecordingIoLimits): HarImportResult {
  const entries = log.entries as unknown[]
  const creator = isObj(log.creator) ? `${String(log.creator.name ?? '?')} ${String(log.creator.version ?? '')}`.trim() : 'unknown'
  const drafts: WiretraceEvent[] = []
  const specs: ConnectionSpec[] = []
  let skipped = 0
  let firstStart = Infinity
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    const at = `log.entries[${i}]`
    if (!isObj(e) || !isObj(e.request) || typeof e.request.url !== 'string') {
      issues.add(REC_CODES.corrupt, 'entry has no request.url', { at })
      continue
    }
    const req = e.request
    const url = req.url as string
    const res = isObj(e.response) ? e.response : {}
    const resHeaders = headerPairs(res.headers)
    const mime = isObj(res.content) && typeof res.content.mimeType === 'string' ? res.content.mimeType : resHeaders.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? ''
    const isWs = Array.isArray(e._webSocketMessages) || e._resourceType === 'websocket' || /^wss?:/i.test(url) || res.status === 101
    const isSse = !isWs && (Array.isArray(e._eventSourceMessages) || e._resourceType === 'eventsource' || /text\/event-stream/i.test(mime))
    if (!isWs && !isSse) {
      skipped++
      continue
    }
    const conn = `h${i + 1}`
    const started = typeof e.startedDateTime === 'string' ? Date.parse(e.startedDateTime) : NaN
    if (!Number.isFinite(started)) issues.add(REC_CODES.corrupt, 'startedDateTime is missing or not a date; using the first message time', { at: `${at}.startedDateTime` })
    const transport: Transport = isWs ? 'ws' : 'sse'
    const method = typeof req.method === 'string' ? req.method : 'GET'
    const reqHeaders = headerPairs(req.headers)
    const spec: ConnectionSpec = { id: conn, url: toWsUrl(url, isWs), transport, headers: reqHeaders }
    if (method !== 'GET') spec.method = method
    specs.push(spec)
    const msgs: WiretraceEvent[] = []
    if (Array.isArray(e._webSocketMessages)) {
      e._webSocketMessages.forEach((m, j) => {
        const ev = wsFromHar(m, conn, `${at}._webSocketMessages[${j}]`, issues, false)
        if (ev) msgs.push(ev)
      })
    }
    if (Array.isArray(e._eventSourceMessages)) {
      e._eventSourceMessages.forEach((m, j) => {
        const ev = sseFromHar(m, conn, `${at}._eventSourceMessages[${j}]`, issues, false)
        if (ev) msgs.push(ev)
      })
    }
    if (drafts.length + msgs.length > limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, { at })
    let t0 = Number.isFinite(started) ? started : (msgs[0]?.ts ?? 0)
    firstStart = Math.min(firstStart, t0)
    const timings = isObj(e.timings) ? e.timings : {}
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined)
    const wait = num(timings.wait) ?? 0
    const base = { seq: 0, conn }
    drafts.push({ ...base, ts: t0, type: 'conn.start', spec } as ConnStartEvent)
    drafts.push({ ...base, ts: t0, type: 'http.request', method, url, headers: reqHeaders } as HttpRequestEvent)
    const status = typeof res.status === 'number' ? res.status : 0
    const tOpen = t0 + (num(timings.dns) ?? 0) + (num(timings.connect) ?? 0) + (num(timings.send) ?? 0) + wait
    if (status > 0) {
      drafts.push({
        ...base,
        ts: tOpen,
        type: 'http.response',
        status,
        statusText: typeof res.statusText === 'string' ? res.statusText : '',
        httpVersion: typeof res.httpVersion === 'string' ? res.httpVersion.replace(/^HTTP\//i, '') : '1.1',
        headers: resHeaders,
        durationMs: wait,
      } as HttpResponseEvent)
    }
    const opened = isWs ? status === 101 || msgs.length > 0 : status >= 200 && status < 300
    if (opened) {
      const phases: OpenEvent['phases'] = {}
      if (num(timings.dns) !== undefined) phases.dns = num(timings.dns)!
      if (num(timings.connect) !== undefined) phases.tcp = Math.max(0, num(timings.connect)! - (num(timings.ssl) ?? 0))
      if (num(timings.ssl) !== undefined) phases.tls = num(timings.ssl)!
      phases.handshake = wait
      drafts.push({ ...base, ts: tOpen, type: 'open', durationMs: tOpen - t0, phases } as OpenEvent)
    }
    for (const m of msgs) drafts.push(m)
    const close = isObj(e._webSocketClose) ? e._webSocketClose : null
    let tEnd = msgs.reduce((mx, m) => Math.max(mx, m.ts), tOpen)
    if (close && typeof close.code === 'number') {
      const ct = typeof close.timestamp === 'number' ? close.timestamp * (close.timestamp < 1e11 ? 1000 : 1) : tEnd
      tEnd = Math.max(tEnd, ct)
      drafts.push({ ...base, ts: ct, type: 'ws.close', code: close.code, reason: typeof close.reason === 'string' ? close.reason : '', initiator: 'remote', wasClean: close.code !== 1006, meaning: closeCodeMeaning(close.code) } as WiretraceEvent)
    }
    const msgsIn = msgs.filter((m) => (m.type === 'ws.message' && m.dir === 'in') || m.type === 'sse.event').length
    const endEv: EndEvent = {
      ...base,
      ts: tEnd,
      type: 'end',
      reason: `imported from ${creator}`,
      durationMs: tEnd - t0,
      bytesIn: 0,
      bytesOut: 0,
      msgsIn,
      msgsOut: msgs.length - msgsIn,
      attempts: 1,
      exitCode: opened ? 0 : 1,
    }
    drafts.push(endEv)
    t0 = 0
  }
  // One global, strictly increasing seq in time order (a recording's seq never goes back).
  const order = drafts.map((ev, i) => ({ ev, i }))
  order.sort((a, b) => a.ev.ts - b.ev.ts || a.i - b.i)
  const events = order.map(({ ev }, seq) => {
    ev.seq = seq
    return ev
  })
  const created = Number.isFinite(firstStart) ? iso(firstStart) : new Date(0).toISOString()
  const header: RecordingHeader = {
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    app: `import (${creator})`,
    created,
    timeOrigin: Number.isFinite(firstStart) ? firstStart : 0,
    env: { os: 'unknown', release: '', arch: '', runtime: creator, host: 'import' },
    connections: specs,
    secrets: 'kept',
    title: `Imported from ${creator} HAR`,
  }
  return { flavour, header, events, issues: issues.items, issueCount: issues.count, skipped, steps: [] }
}

function toWsUrl(url: string, ws: boolean): string {
  if (!ws) return url
  return url.replace(/^http(s?):/i, (_m, s: string) => `ws${s}:`)
}
