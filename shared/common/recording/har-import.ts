/**
 * HAR 1.2 import (pure: HAR text or bytes in, header + events or JSON lines out).
 *
 * Wiretrace HAR (exact: the documented `_wiretrace` extension fields give every event back,
 * WebSocket messages byte-exact), Chrome DevTools and HTTP Toolkit HAR (WebSocket entries,
 * `_eventSourceMessages` when present). Never throws anything but a coded WiretraceError;
 * damaged parts become issues naming the JSON path and what was read is kept. The export side
 * (HarStream, toHar) is har.ts.
 */
import type { HeaderPairs, WiretraceEvent, WsMessageEvent, SseEvent, OpenEvent, HttpRequestEvent, HttpResponseEvent, ConnStartEvent, EndEvent } from '../events/index.ts'
import { RECORDING_FORMAT, RECORDING_VERSION, isRecordingHeader, type RecordingHeader } from './format.ts'
import type { ConnectionSpec, Transport } from '../spec/index.ts'
import { base64ToBytes } from '../bytes.ts'
import { recError, REC_CODES, IssueList, ioLimits, type RecordingIoLimits, type ConvertIssue } from './errors.ts'
import { utf8Length } from './utf8.ts'
import { migrator } from './migrate.ts'
import { closeCodeMeaning } from '../close-codes.ts'
import { HAR_EXTENSION_VERSION, iso } from './har.ts'

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
  return fromHar(parseHarJson(text), limits)
}

/** The JSON of HAR text, or WT_RECORDING_LINE naming the offset (WT_RECORDING_TOO_LARGE when it nests too deeply). */
function parseHarJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    const m = /position (\d+)/.exec(msg)
    if (e instanceof RangeError) throw recError(REC_CODES.tooLarge, `the HAR file nests too deeply to read`, {})
    throw recError(REC_CODES.corrupt, `the HAR file is not valid JSON: ${msg}`, m ? { offset: Number(m[1]) } : {})
  }
}

/** The checks every import starts with: a `log` object with an `entries` array within maxHarEntries. */
function harLog(value: unknown, limits: RecordingIoLimits): { log: Record<string, unknown>; flavour: HarFlavour; issues: IssueList } {
  if (!isObj(value) || !isObj(value.log)) throw recError(REC_CODES.foreign, 'not a HAR file: no "log" object at the top level', { at: 'log' })
  const log = value.log
  if (!Array.isArray(log.entries)) throw recError(REC_CODES.corrupt, 'HAR "log.entries" is not an array', { at: 'log.entries' })
  if (log.entries.length > limits.maxHarEntries) {
    throw recError(REC_CODES.tooLarge, `the HAR has ${log.entries.length} entries, more than the limit of ${limits.maxHarEntries} (maxHarEntries)`, { at: 'log.entries' })
  }
  return { log, flavour: detectFlavour(log), issues: new IssueList(limits.maxIssues) }
}

export function fromHar(value: unknown, limitsIn?: Partial<RecordingIoLimits>): HarImportResult {
  const limits = ioLimits(limitsIn)
  const { log, flavour, issues } = harLog(value, limits)
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

// ---------------------------------------------------------------- import as JSON Lines

/** A HAR import as the JSON Lines it becomes (what importRecording writes). */
export interface HarJsonl {
  flavour: HarFlavour
  header: RecordingHeader
  /** Events (lines after the header). */
  events: number
  issues: ConvertIssue[]
  issueCount: number
  skipped: number
  steps: string[]
  /**
   * The recording as UTF-8: the header line, then one line per event in seq order, each
   * ending in "\n": the bytes of JSON.stringify of the header and of each event of
   * parseHarText's result. Pieces of about 4 MiB, each valid only until the next one is
   * asked for (one buffer is reused). A value JSON.stringify cannot write (nested too
   * deeply) throws its error where the whole-document path met it: at its line. Call once.
   */
  chunks(): Generator<Uint8Array>
}

/**
 * parseHarText for writing: the same checks, issues, errors and limits, and the events as
 * the bytes of JSON Lines. A Wiretrace HAR of the current format version is not turned into
 * event objects: each kept item becomes its line as the HAR is walked (walkWiretrace). Other
 * HAR files become events as parseHarText makes them, stringified one by one as written.
 */
export function parseHarToJsonl(text: string, limitsIn?: Partial<RecordingIoLimits>): HarJsonl {
  const limits = ioLimits(limitsIn)
  const { log, flavour, issues } = harLog(parseHarJson(text), limits)
  if (flavour === 'wiretrace') {
    const ext = log._wiretrace as Record<string, unknown>
    if (isRecordingHeader(ext.header) && ext.header.version === RECORDING_VERSION) return walkWiretrace(log, ext.header, issues, limits, (_e, _l, list) => [list], text.length)
  }
  const r = flavour === 'wiretrace' ? fromWiretraceHar(log, issues, limits) : fromForeignHar(log, flavour, issues, limits)
  return { flavour: r.flavour, header: r.header, events: r.events.length, issues: r.issues, issueCount: r.issueCount, skipped: r.skipped, steps: r.steps, chunks: () => eventBytes(r.header, r.events) }
}

/** The header and events (in order) as JSON Lines, each stringified when its turn comes, in pieces of about OUT_BYTES. */
function* eventBytes(header: RecordingHeader, events: WiretraceEvent[]): Generator<Uint8Array> {
  const out = new Uint8Array(OUT_BYTES)
  let n = 0
  let batch: string[] = [JSON.stringify(header)]
  let chars = batch[0]!.length
  for (let i = 0; i <= events.length; i++) {
    if (i < events.length) {
      const line = JSON.stringify(events[i])
      batch.push(line)
      chars += line.length + 1
      if (chars < LINE_BATCH_CHARS) continue
    }
    batch.push('')
    const text = batch.join('\n')
    batch = []
    chars = 0
    if (text.length * 3 > out.length - n) {
      if (n) yield out.subarray(0, n)
      n = 0
      if (text.length * 3 > out.length) {
        yield encoder.encode(text)
        continue
      }
    }
    n += encoder.encodeInto(text, out.subarray(n)).written
  }
  if (n) yield out.subarray(0, n)
}

/**
 * parseHarToJsonl from the bytes of the file, for a Wiretrace HAR of the current format
 * version as HarStream lays it out, without the whole document as one string or one parsed
 * object: the lists that hold nearly all of it (each entry's messages and events) are found
 * without parsing (HarLayout), everything around them is parsed as one small document, and
 * the lists are parsed a block at a time as the walk reaches them, so what JSON.parse builds
 * dies young. The result is exactly parseHarToJsonl's for the same text (UTF-8, a leading
 * BOM dropped). Null for anything else (another flavour or version, another layout, bytes
 * that are not UTF-8, invalid JSON, any error or limit): parseHarToJsonl then reads the
 * text and gives the result or the error.
 */
export function harBytesToJsonl(bytes: Uint8Array, limitsIn?: Partial<RecordingIoLimits>): HarJsonl | null {
  const limits = ioLimits(limitsIn)
  try {
    const layout = new HarLayout(bytes, LIST_BLOCK_BYTES)
    if (!layout.scan(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)) return null
    const { log, flavour, issues } = harLog(JSON.parse(layout.skeleton()), limits)
    if (flavour !== 'wiretrace') return null
    const ext = log._wiretrace as Record<string, unknown>
    if (!isRecordingHeader(ext.header) || ext.header.version !== RECORDING_VERSION) return null
    const r = walkWiretrace(log, ext.header, issues, limits, (entry, list) => layout.items(entry, list), bytes.length)
    // The lists the walk did not read must be valid JSON too (the whole document is parsed on the other path).
    layout.checkUnread()
    return r
  } catch {
    return null
  }
}

/** Lists are parsed in blocks of about this many bytes. */
const LIST_BLOCK_BYTES = 64 * 1024
/** Lines are encoded in batches of about this many characters. */
const LINE_BATCH_CHARS = 256 * 1024
/** The blocks LineStore keeps its bytes in, after the first. */
const LINE_STORE_BYTES = 16 << 20
/** The pieces LineStore.bytes gives. */
const OUT_BYTES = 4 << 20
const TWO_32 = 2 ** 32

const encoder = new TextEncoder()
/** Strict UTF-8 (bytes that are not UTF-8 throw), a BOM kept as U+FEFF. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Lines of JSON Lines by number, made in one order and written in another: kept as UTF-8 in
 * large blocks (outside the JS heap, so the GC neither copies nor scans them), encoded a
 * batch at a time. The first block is as large as the expected output (`sizeHint` bytes,
 * the input's size), so that memory outside the heap grows once and not in steps that each
 * start a full GC. A line JSON.stringify failed on keeps its error, thrown when the line is
 * written.
 */
class LineStore {
  constructor(private readonly sizeHint = 0) {}

  count = 0
  private readonly blocks: Uint8Array[] = []
  private cur = new Uint8Array(0)
  private pos = 0
  /** Where each line starts: block index * 2^32 + offset. */
  private loc = new Float64Array(1024)
  private len = new Uint32Array(1024)
  private batch: string[] = []
  private batchChars = 0
  private failures: Map<number, unknown> | null = null

  /** The next line: the JSON of `v`. */
  json(v: unknown): void {
    let line: string
    try {
      line = JSON.stringify(v)
    } catch (e) {
      this.fail(e)
      return
    }
    this.line(line)
  }

  /** The next line, already JSON. */
  line(text: string): void {
    if (text.length >= LINE_BATCH_CHARS && this.batch.length) this.flush()
    this.batch.push(text)
    this.count++
    this.batchChars += text.length + 1
    if (this.batchChars >= LINE_BATCH_CHARS) this.flush()
  }

  /** The next line is the error making it threw. */
  fail(e: unknown): void {
    ;(this.failures ??= new Map()).set(this.count, e)
    this.line('')
  }

  private flush(): void {
    const batch = this.batch
    const n = batch.length
    if (n === 0) return
    this.batch = []
    this.batchChars = 0
    const first = this.count - n
    if (this.loc.length < this.count) {
      let size = this.loc.length
      while (size < this.count) size *= 2
      const loc = new Float64Array(size)
      loc.set(this.loc)
      this.loc = loc
      const len = new Uint32Array(size)
      len.set(this.len)
      this.len = len
    }
    const text = batch.join('\n')
    // Room for 3 bytes a character (4 for a surrogate pair, 2 characters), and the last newline.
    const need = text.length * 3 + 1
    if (this.cur.length - this.pos < need) {
      this.cur = new Uint8Array(Math.max(need, this.blocks.length === 0 && this.sizeHint > 0 ? Math.min(this.sizeHint, 2 ** 31) : LINE_STORE_BYTES))
      this.blocks.push(this.cur)
      this.pos = 0
    }
    const cur = this.cur
    const start = this.pos
    const written = encoder.encodeInto(text, cur.subarray(start)).written
    cur[start + written] = 10
    const base = (this.blocks.length - 1) * TWO_32
    const loc = this.loc
    const len = this.len
    let off = start
    if (written === text.length) {
      // One byte a character: the lengths are the strings'.
      for (let k = 0; k < n; k++) {
        const l = batch[k]!.length + 1
        loc[first + k] = base + off
        len[first + k] = l
        off += l
      }
    } else {
      // JSON text has no raw newline: the lines end at the newline bytes.
      for (let k = 0; k < n; k++) {
        let e = cur.indexOf(10, off)
        if (e < 0 || e > start + written) e = start + written
        loc[first + k] = base + off
        len[first + k] = e + 1 - off
        off = e + 1
      }
    }
    this.pos = start + written + 1
  }

  /** The header line and the lines in `order` (by number when null), as UTF-8 pieces. */
  *bytes(header: RecordingHeader, order: ArrayLike<number> | null): Generator<Uint8Array> {
    this.flush()
    const out = new Uint8Array(OUT_BYTES)
    let n = 0
    const head = encoder.encode(JSON.stringify(header) + '\n')
    if (head.length > out.length) yield head
    else {
      out.set(head)
      n = head.length
    }
    const { loc, len, blocks, failures, count } = this
    let r = 0
    while (r < count) {
      const i = order ? order[r]! : r
      if (failures?.has(i)) throw failures.get(i)
      // A run of lines that lie one after another in the store, copied at once.
      const at = loc[i]!
      let end = at + len[i]!
      r++
      while (r < count) {
        const j = order ? order[r]! : r
        if (loc[j] !== end || failures?.has(j)) break
        end += len[j]!
        r++
      }
      const block = blocks[Math.floor(at / TWO_32)]!
      let s = at % TWO_32
      const e = s + (end - at)
      while (s < e) {
        if (n === out.length) {
          yield out
          n = 0
        }
        const take = Math.min(e - s, out.length - n)
        out.set(block.subarray(s, s + take), n)
        n += take
        s += take
      }
    }
    if (n) yield out.subarray(0, n)
  }
}

/** What an item of a Wiretrace HAR becomes: an event of `_wiretrace.events`, a WebSocket message (text, text sent as base64, binary), an SSE message. */
const K_EVENT = 0
const K_WS_TEXT = 1
const K_WS_TEXT_B64 = 2
const K_WS_BINARY = 3
const K_SSE = 4

/** Set by wsCheck and sseCheck for the item they passed (no object per item). */
const checked = { seq: 0, ts: 0, size: 0, kind: K_EVENT }

/**
 * wsFromHar's checks (exact), with its issues, on a value of JSON.parse (a plain object, so a
 * field that is not undefined is an own enumerable key, as Object.keys sees it), without
 * building the event: sets `checked`.
 */
function wsCheck(msg: unknown, list: string, j: number, issues: IssueList): boolean {
  if (!isObj(msg)) {
    issues.add(REC_CODES.corrupt, 'message is not an object', { at: `${list}[${j}]` })
    return false
  }
  const { type, time, opcode, data } = msg
  if ((type !== 'send' && type !== 'receive') || typeof time !== 'number' || !Number.isFinite(time) || typeof data !== 'string') {
    issues.add(REC_CODES.corrupt, 'message needs type "send"|"receive", a numeric time and string data', { at: `${list}[${j}]` })
    return false
  }
  const op = opcode === 2 ? 2 : opcode === 1 || opcode === undefined ? 1 : null
  if (op === null) {
    issues.add(REC_CODES.corrupt, `opcode ${String(opcode)} is not a data frame; skipped`, { at: `${list}[${j}]` })
    return false
  }
  const ext = isObj(msg._wiretrace) ? msg._wiretrace : null
  const asBase64 = op === 2 || ext?.enc === 'base64'
  let size: number
  if (asBase64) {
    if (STD_BASE64.test(data) && data.length % 4 === 0) {
      size = (data.length / 4) * 3 - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0)
    } else {
      try {
        size = base64ToBytes(data).length
      } catch (e) {
        issues.add(REC_CODES.corrupt, `binary data is not base64: ${(e as Error).message}`, { at: `${list}[${j}].data` })
        return false
      }
    }
  } else size = ext && typeof ext.size === 'number' ? ext.size : utf8Length(data)
  let seq: unknown = 0
  let ts: unknown = time * 1000
  if (ext) {
    if (ext.seq !== undefined) seq = ext.seq
    if (ext.ts !== undefined) ts = ext.ts
    if (typeof seq !== 'number' || typeof ts !== 'number') {
      issues.add(REC_CODES.corrupt, 'message _wiretrace needs numeric seq and ts', { at: `${list}[${j}]._wiretrace` })
      return false
    }
  }
  checked.seq = seq as number
  checked.ts = ts as number
  checked.size = size
  checked.kind = !asBase64 ? K_WS_TEXT : op === 2 ? K_WS_BINARY : K_WS_TEXT_B64
  return true
}

/** sseFromHar's checks (exact), as wsCheck. */
function sseCheck(msg: unknown, list: string, j: number, issues: IssueList): boolean {
  if (!isObj(msg)) {
    issues.add(REC_CODES.corrupt, 'event is not an object', { at: `${list}[${j}]` })
    return false
  }
  const time = msg.time
  if (typeof time !== 'number' || !Number.isFinite(time) || typeof msg.data !== 'string') {
    issues.add(REC_CODES.corrupt, 'event needs a numeric time and string data', { at: `${list}[${j}]` })
    return false
  }
  const ext = isObj(msg._wiretrace) ? msg._wiretrace : null
  let seq: unknown = 0
  let ts: unknown = time * 1000
  if (ext) {
    if (ext.seq !== undefined) seq = ext.seq
    if (ext.ts !== undefined) ts = ext.ts
    if (typeof seq !== 'number' || typeof ts !== 'number') {
      issues.add(REC_CODES.corrupt, 'event _wiretrace needs numeric seq and ts', { at: `${list}[${j}]._wiretrace` })
      return false
    }
  }
  checked.seq = seq as number
  checked.ts = ts as number
  checked.size = 0
  checked.kind = K_SSE
  return true
}

/** JSON of a number as JSON.stringify writes it. */
function jsonNum(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null'
}

let tsWhole = NaN
let tsWholeText = ''
/**
 * A timestamp as JSON.stringify prints it, without the double-to-text conversion when it can.
 * A recording's ts is ms since the epoch rounded to the microsecond (N / 1000 for an integer
 * N). When n is exactly the double nearest to N / 1000, the decimal "whole.fff" (trailing
 * zeros dropped) parses back to n, and below 2^43 (year 2248) doubles are closer together than
 * 0.001, so no shorter decimal does: it is what String prints, built from integers. The
 * whole-ms text is kept from one call to the next. Anything else takes String.
 */
export function jsonTs(n: number): string {
  const whole = Math.floor(n)
  const frac = Math.round((n - whole) * 1000)
  if (!(n >= 0 && n < 2 ** 43) || (whole * 1000 + frac) / 1000 !== n) return jsonNum(n)
  if (whole !== tsWhole) {
    tsWhole = whole
    tsWholeText = String(whole)
  }
  if (frac === 0) return tsWholeText
  const digits = frac % 100 === 0 ? String(frac / 100) : frac % 10 === 0 ? String(frac / 10).padStart(2, '0') : String(frac).padStart(3, '0')
  return tsWholeText + '.' + digits
}

/** JSON of a primitive (what JSON.stringify writes for it inside an object), or null for an object or array. */
function jsonPrim(v: unknown): string | null {
  if (typeof v === 'number') return jsonNum(v)
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return JSON.stringify(v)
  return null
}

/**
 * The line of a checked WebSocket message, written straight from its fields: the text of
 * JSON.stringify(wsFromHar(msg, conn, ..., true)) (same keys in the same order) for messages
 * whose `_wiretrace` holds only the fields Wiretrace writes, with primitive values. Anything
 * else gives null and is built as an object.
 */
function wsLine(msg: Record<string, unknown>, connJson: string, kind: number, size: number): string | null {
  const ext = msg._wiretrace
  let seq = 0
  let ts = (msg.time as number) * 1000
  let sizeJson = jsonNum(size)
  let tail = ''
  if (isObj(ext)) {
    for (const k in ext) {
      const v = ext[k]
      switch (k) {
        case 'seq':
          seq = v as number
          break
        case 'ts':
          ts = v as number
          break
        case 'size': {
          const j = jsonPrim(v)
          if (j === null) return null
          sizeJson = j
          break
        }
        case 'wireSize':
        case 'frames':
        case 'compressed':
        case 'truncated':
        case 'redacted': {
          const j = jsonPrim(v)
          if (j === null) return null
          tail += `,"${k}":${j}`
          break
        }
        case 'enc':
        case 'type':
        case 'conn':
        case 'dir':
        case 'opcode':
        case 'text':
        case 'base64':
          break
        default:
          return null
      }
    }
  }
  return (
    '{"seq":' +
    jsonNum(seq) +
    ',"ts":' +
    jsonTs(ts) +
    ',"conn":' +
    connJson +
    (msg.type === 'send' ? ',"type":"ws.message","dir":"out","opcode":' : ',"type":"ws.message","dir":"in","opcode":') +
    (kind === K_WS_BINARY ? '2' : '1') +
    ',"size":' +
    sizeJson +
    tail +
    (kind === K_WS_TEXT ? ',"text":' : ',"base64":') +
    JSON.stringify(msg.data) +
    '}'
  )
}

/** Indices 0..n-1 in the order of a stable sort by seq, then ts (fromWiretraceHar's). */
function sortedOrder(seqs: Float64Array, tss: Float64Array, n: number): number[] {
  const order = new Array<number>(n)
  for (let i = 0; i < n; i++) order[i] = i
  return order.sort((a, b) => seqs[a]! - seqs[b]! || tss[a]! - tss[b]!)
}

/**
 * The same order without comparisons when every seq is a distinct safe integer and they
 * span at most a few times n (a recording's seq is unique and dense): each index goes to
 * the slot of its seq. Null otherwise.
 */
function seqOrder(seqs: Float64Array, n: number): Uint32Array | null {
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    const s = seqs[i]!
    if (!Number.isSafeInteger(s)) return null
    if (s < min) min = s
    if (s > max) max = s
  }
  const span = max - min + 1
  if (!(span <= 4 * n + 1024)) return null
  const slot = new Int32Array(span).fill(-1)
  for (let i = 0; i < n; i++) {
    const k = seqs[i]! - min
    if (slot[k] !== -1) return null
    slot[k] = i
  }
  const order = new Uint32Array(n)
  let r = 0
  for (let k = 0; k < span; k++) if (slot[k]! >= 0) order[r++] = slot[k]!
  return order
}

/** The items of one list of one entry (0 `_wiretrace.events`, 1 `_webSocketMessages`, 2 `_eventSourceMessages`), in pieces. */
type ListItems = (entry: number, list: 0 | 1 | 2, value: unknown[]) => Iterable<unknown[]>

/**
 * fromWiretraceHar (current format version) as lines: the same walk, checks, issues and
 * maxEvents error, each kept item becoming its line at once (in LineStore) with its sort
 * key (seq, ts); the lines are then written in fromWiretraceHar's order (a stable sort by
 * seq, then ts).
 */
function walkWiretrace(log: Record<string, unknown>, header0: RecordingHeader, issues: IssueList, limits: RecordingIoLimits, listItems: ListItems, sizeHint: number): HarJsonl {
  const ext = log._wiretrace as Record<string, unknown>
  if (typeof ext.version === 'number' && ext.version > HAR_EXTENSION_VERSION) {
    issues.add(REC_CODES.version, `HAR extension version ${ext.version} is newer than ${HAR_EXTENSION_VERSION}; unknown fields are kept as they are`, { at: 'log._wiretrace.version' })
  }
  const m = migrator(header0)
  const entries = log.entries as unknown[]
  const lines = new LineStore(sizeHint)
  const none = new IssueList(0)
  let seqs = new Float64Array(1024)
  let tss = new Float64Array(1024)
  let n = 0
  let sorted = true
  const keep = (seq: number, ts: number): void => {
    if (n >= limits.maxEvents) throw recError(REC_CODES.tooLarge, `more than ${limits.maxEvents} events (maxEvents)`, {})
    if (n === seqs.length) {
      const s2 = new Float64Array(n * 2)
      s2.set(seqs)
      seqs = s2
      const t2 = new Float64Array(n * 2)
      t2.set(tss)
      tss = t2
    }
    if (sorted && n > 0 && (seqs[n - 1]! - seq || tss[n - 1]! - ts) > 0) sorted = false
    seqs[n] = seq
    tss[n] = ts
    n++
  }
  let skipped = 0
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
    const connJson = JSON.stringify(conn)
    let j = 0
    for (const part of listItems(i, 0, wt.events)) {
      for (let k = 0; k < part.length; k++, j++) {
        const ev = part[k]
        if (isEventLike(ev)) {
          keep(ev.seq, ev.ts)
          lines.json(ev)
        } else issues.add(REC_CODES.corrupt, 'not an event (needs seq, ts, conn, type)', { at: `${at}._wiretrace.events[${j}]` })
      }
    }
    if (Array.isArray(e._webSocketMessages)) {
      const list = `${at}._webSocketMessages`
      j = 0
      for (const part of listItems(i, 1, e._webSocketMessages)) {
        for (let k = 0; k < part.length; k++, j++) {
          const msg = part[k]
          if (!wsCheck(msg, list, j, issues)) continue
          keep(checked.seq, checked.ts)
          let line: string | null
          try {
            line = wsLine(msg as Record<string, unknown>, connJson, checked.kind, checked.size)
          } catch (err) {
            lines.fail(err)
            continue
          }
          if (line !== null) lines.line(line)
          else lines.json(wsFromHar(msg, conn, '', none, true))
        }
      }
    }
    if (Array.isArray(e._eventSourceMessages)) {
      const list = `${at}._eventSourceMessages`
      j = 0
      for (const part of listItems(i, 2, e._eventSourceMessages)) {
        for (let k = 0; k < part.length; k++, j++) {
          const msg = part[k]
          if (!sseCheck(msg, list, j, issues)) continue
          keep(checked.seq, checked.ts)
          lines.json(sseFromHar(msg, conn, '', none, true))
        }
      }
    }
  }
  const order = sorted ? null : (seqOrder(seqs, n) ?? sortedOrder(seqs, tss, n))
  return { flavour: 'wiretrace', header: m.header, events: n, issues: issues.items, issueCount: issues.count, skipped, steps: m.steps, chunks: () => lines.bytes(m.header, order) }
}

const B_QUOTE = 34
const B_BACKSLASH = 92
const B_LBRACE = 123
const B_RBRACE = 125
const B_LBRACKET = 91
const B_RBRACKET = 93
const B_COMMA = 44
const B_COLON = 58

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
/** What HarStream writes after the "}" of a message that is not the last of its list. */
const WS_NEXT = ascii(',{"type":"')
const SSE_NEXT = ascii(',{"time":')
/**
 * What HarStream writes after the "]" of a message list (the entry's next member). In valid
 * JSON neither this nor WS_NEXT / SSE_NEXT can be string content: their quote can only open a key.
 */
const LIST_NEXT = ascii(',"_')

/** A list found by HarLayout: its inside [start, end) and its blocks as [from, to) pairs, split at commas between items. */
interface ListCut {
  start: number
  end: number
  blocks: number[]
  read: boolean
}

class GiveUp extends Error {}

/**
 * Where the big lists of a Wiretrace HAR lie in its bytes, found without parsing: the
 * structure around them is walked byte by byte (strings skipped, nesting counted) down to
 * each entry's `_webSocketMessages`, `_eventSourceMessages` and `_wiretrace.events`. The
 * events are walked item by item; a message list is cut where HarStream's layout puts item
 * and list ends, guesses that JSON.parse of each block proves or refutes (a block cut
 * anywhere else is not a list of values). It checks no JSON itself: the skeleton (all but
 * the lists' insides) and every block are parsed, and together they are the whole text, so
 * the document is valid exactly when they all parse, and each list is then what the walk
 * says it is. Anything unexpected (a key that matters twice or written with an escape, a
 * message list laid out otherwise) gives up: scan() is false or GiveUp is thrown.
 */
class HarLayout {
  private readonly cuts: ListCut[] = []
  private readonly lists: Array<Array<ListCut | undefined> | undefined> = []
  private from = 0

  constructor(
    private readonly b: Uint8Array,
    private readonly block: number,
  ) {}

  scan(from: number): boolean {
    this.from = from
    const b = this.b
    let i = this.space(from)
    if (b[i] !== B_LBRACE) return false
    let log = false
    i = this.object(i, (ks, ke, v) => {
      if (!this.is(ks, ke, 'log')) return this.value(v)
      if (log) return -1
      log = true
      return b[v] === B_LBRACE ? this.log(v) : this.value(v)
    })
    return i >= 0 && this.space(i) === b.length
  }

  /** The text without the lists' insides (each list is left as an empty one). */
  skeleton(): string {
    const parts: string[] = []
    let p = this.from
    for (const c of this.cuts) {
      parts.push(strictUtf8.decode(this.b.subarray(p, c.start)))
      p = c.end
    }
    parts.push(strictUtf8.decode(this.b.subarray(p)))
    return parts.join('')
  }

  /** The items of a list, a parsed block at a time. */
  *items(entry: number, list: 0 | 1 | 2): Generator<unknown[]> {
    const cut = this.lists[entry]?.[list]
    if (!cut) throw new GiveUp('a list that was not found')
    cut.read = true
    for (let k = 0; k < cut.blocks.length; k += 2) yield this.parse(cut.blocks[k]!, cut.blocks[k + 1]!)
  }

  /** Parses the blocks of the lists not read. */
  checkUnread(): void {
    for (const c of this.cuts) if (!c.read) for (let k = 0; k < c.blocks.length; k += 2) this.parse(c.blocks[k]!, c.blocks[k + 1]!)
  }

  private parse(from: number, to: number): unknown[] {
    return JSON.parse('[' + strictUtf8.decode(this.b.subarray(from, to)) + ']') as unknown[]
  }

  private log(v: number): number {
    let entries = false
    return this.object(v, (ks, ke, x) => {
      if (!this.is(ks, ke, 'entries')) return this.value(x)
      if (entries) return -1
      entries = true
      return this.b[x] === B_LBRACKET ? this.entries(x) : this.value(x)
    })
  }

  private entries(v: number): number {
    const b = this.b
    let i = this.space(v + 1)
    if (b[i] === B_RBRACKET) return i + 1
    for (let n = 0; ; n++) {
      i = b[i] === B_LBRACE ? this.entry(i, n) : this.value(i)
      if (i < 0) return -1
      i = this.space(i)
      if (b[i] === B_COMMA) i = this.space(i + 1)
      else return b[i] === B_RBRACKET ? i + 1 : -1
    }
  }

  private entry(v: number, n: number): number {
    const b = this.b
    const lists: Array<ListCut | undefined> = []
    this.lists[n] = lists
    let ws = false
    let sse = false
    let wt = false
    return this.object(v, (ks, ke, x) => {
      if (this.is(ks, ke, '_webSocketMessages')) {
        if (ws) return -1
        ws = true
        return b[x] === B_LBRACKET ? this.messages(x, WS_NEXT, lists, 1) : this.value(x)
      }
      if (this.is(ks, ke, '_eventSourceMessages')) {
        if (sse) return -1
        sse = true
        return b[x] === B_LBRACKET ? this.messages(x, SSE_NEXT, lists, 2) : this.value(x)
      }
      if (this.is(ks, ke, '_wiretrace')) {
        if (wt) return -1
        wt = true
        if (b[x] !== B_LBRACE) return this.value(x)
        let events = false
        return this.object(x, (ks2, ke2, y) => {
          if (!this.is(ks2, ke2, 'events')) return this.value(y)
          if (events) return -1
          events = true
          return b[y] === B_LBRACKET ? this.events(y, lists) : this.value(y)
        })
      }
      return this.value(x)
    })
  }

  /** `_wiretrace.events`: every item walked, blocks cut at the commas between them. */
  private events(v: number, lists: Array<ListCut | undefined>): number {
    const b = this.b
    const start = v + 1
    const blocks: number[] = []
    let i = this.space(start)
    if (b[i] !== B_RBRACKET) {
      let from = start
      for (;;) {
        i = this.value(i)
        if (i < 0) return -1
        i = this.space(i)
        if (b[i] === B_RBRACKET) break
        if (b[i] !== B_COMMA) return -1
        if (i - from >= this.block) {
          blocks.push(from, i)
          from = i + 1
        }
        i = this.space(i + 1)
      }
      blocks.push(from, i)
    }
    lists[0] = this.cut(start, i, blocks)
    return i + 1
  }

  /**
   * A message list: its end is taken to be the first "]" after a "}" that is followed by
   * `,"_`, and blocks are cut after a "}" followed by `next` (the start of the next
   * message as HarStream writes it), about every `block` bytes.
   */
  private messages(v: number, next: Uint8Array, lists: Array<ListCut | undefined>, list: 1 | 2): number {
    const b = this.b
    const start = v + 1
    const first = this.space(start)
    if (b[first] === B_RBRACKET) {
      lists[list] = this.cut(start, first, [])
      return first + 1
    }
    let end = first
    for (;;) {
      end = b.indexOf(B_RBRACKET, end + 1)
      if (end < 0) return -1
      if (b[end - 1] === B_RBRACE && this.at(end + 1, LIST_NEXT)) break
    }
    const blocks: number[] = []
    let from = start
    while (end - from > this.block) {
      let c = from + this.block
      for (;;) {
        c = b.indexOf(B_RBRACE, c)
        if (c < 0 || c >= end - 1 || this.at(c + 1, next)) break
        c++
      }
      if (c < 0 || c >= end - 1) break
      blocks.push(from, c + 1)
      from = c + 2
    }
    blocks.push(from, end)
    lists[list] = this.cut(start, end, blocks)
    return end + 1
  }

  private cut(start: number, end: number, blocks: number[]): ListCut {
    const c: ListCut = { start, end, blocks, read: false }
    this.cuts.push(c)
    return c
  }

  /**
   * The members of the object at `i`: visit(key start, key end, value start) returns the
   * value's end. Returns the index after the object, or -1. A key written with an escape
   * gives up (it might be one that matters).
   */
  private object(i: number, visit: (ks: number, ke: number, v: number) => number): number {
    const b = this.b
    i = this.space(i + 1)
    if (b[i] === B_RBRACE) return i + 1
    for (;;) {
      if (b[i] !== B_QUOTE) return -1
      const ke = this.string(i)
      if (ke < 0) return -1
      for (let k = i + 1; k < ke - 1; k++) if (b[k] === B_BACKSLASH) return -1
      const ks = i + 1
      i = this.space(ke)
      if (b[i] !== B_COLON) return -1
      i = visit(ks, ke - 1, this.space(i + 1))
      if (i < 0) return -1
      i = this.space(i)
      if (b[i] === B_COMMA) i = this.space(i + 1)
      else return b[i] === B_RBRACE ? i + 1 : -1
    }
  }

  /** The end of the value at `i` (strings skipped, nesting counted; not checked), or -1. */
  private value(i: number): number {
    const b = this.b
    const n = b.length
    const c = b[i]
    if (c === B_QUOTE) return this.string(i)
    if (c === B_LBRACE || c === B_LBRACKET) {
      let depth = 0
      while (i < n) {
        const d = b[i]!
        if (d === B_QUOTE) {
          i = this.string(i)
          if (i < 0) return -1
          continue
        }
        i++
        if (d === B_LBRACE || d === B_LBRACKET) depth++
        else if ((d === B_RBRACE || d === B_RBRACKET) && --depth === 0) return i
      }
      return -1
    }
    const s = i
    while (i < n) {
      const d = b[i]!
      if (d === B_COMMA || d === B_RBRACE || d === B_RBRACKET || d === 32 || d === 10 || d === 13 || d === 9) break
      i++
    }
    return i > s ? i : -1
  }

  /** The index after the string starting at `i`, or -1. */
  private string(i: number): number {
    const b = this.b
    const n = b.length
    i++
    while (i < n) {
      const d = b[i++]
      if (d === B_QUOTE) return i
      if (d === B_BACKSLASH) i++
    }
    return -1
  }

  private space(i: number): number {
    const b = this.b
    while (i < b.length) {
      const d = b[i]
      if (d !== 32 && d !== 10 && d !== 13 && d !== 9) break
      i++
    }
    return i
  }

  private is(ks: number, ke: number, key: string): boolean {
    if (ke - ks !== key.length) return false
    for (let k = 0; k < key.length; k++) if (this.b[ks + k] !== key.charCodeAt(k)) return false
    return true
  }

  private at(i: number, bytes: Uint8Array): boolean {
    if (i + bytes.length > this.b.length) return false
    for (let k = 0; k < bytes.length; k++) if (this.b[i + k] !== bytes[k]) return false
    return true
  }
}
