/**
 * HAR 1.2 export (pure: header + events in, HAR out).
 *
 * Export: one entry per connection. WebSocket messages go to Chrome's `_webSocketMessages`
 * (`{type: "send"|"receive", time: seconds, opcode, data}`, binary as base64), SSE events to
 * `_eventSourceMessages` (`{time, eventName, eventId, data}`), and everything else Wiretrace
 * knows (control frames, closes, proxy and timing trace, TLS, stats, the exact spec) to the
 * documented `_wiretrace` extension fields (docs/recording-format.md#har), so that a
 * Wiretrace HAR imports back to the same events: every WebSocket message byte-exact.
 *
 * Import (from Wiretrace, Chrome DevTools and HTTP Toolkit HARs) is in har-import.ts.
 */
import type { HeaderPairs, WiretraceEvent, WsMessageEvent, SseEvent, OpenEvent, HttpRequestEvent, HttpResponseEvent, ConnStartEvent, EndEvent } from '../events/index.ts'
import { type RecordingHeader } from './format.ts'
import type { ConnectionSpec, Transport } from '../spec/index.ts'
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
export const iso = (ms: number): string => {
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
