/**
 * Export-time redaction. Builds on shared/common/redact.ts (the one definition of a secret
 * header, a token query parameter and a redacted spec) and adds user rules applied inside
 * payloads too:
 *
 *   header:NAME        a header name (any case), in every header list and the spec
 *   query:NAME         a query parameter, in every URL
 *   json:PATH          a JSON path ($.a.b, $..token, $.items[*].secret) in JSON text payloads
 *   regex:/RE/FLAGS    a regular expression in text payloads, header values, reasons and notes;
 *                      with a capture group only group 1 is replaced
 *   preset:payload-secrets  json:$..password, $..token, $..access_token, $..refresh_token,
 *                      $..authorization, $..secret, $..apiKey, $..api_key
 *
 * Replacements are the text `[redacted]`. Payload events keep their original `size` (bytes on
 * the wire) and get `redacted: true`, so a size that no longer matches the text is explained;
 * the manifest counts what was redacted where, never the values. Pure: no Node, no DOM.
 */
import type { HeaderPairs, WiretraceEvent } from '../events/index.ts'
import type { RecordingHeader } from './format.ts'
import type { ConnectionSpec, SendItem } from '../spec/index.ts'
import { REDACTED, SECRET_HEADERS, SECRET_QUERY_PARAMS, redactHeaderValue, redactSpec, redactUrl } from '../redact.ts'
import { findJsonSpans, parseJsonPath, JsonPathError, type PathSeg } from './json-spans.ts'
import { recError, REC_CODES } from './errors.ts'
import { utf8Length } from './utf8.ts'

export type RedactRule =
  | { kind: 'header'; name: string; source: string }
  | { kind: 'query'; name: string; source: string }
  | { kind: 'json'; path: PathSeg[]; source: string }
  | { kind: 'regex'; re: RegExp; source: string }

export const PRESETS: Record<string, string[]> = {
  'payload-secrets': ['$..password', '$..token', '$..access_token', '$..refresh_token', '$..authorization', '$..secret', '$..apiKey', '$..api_key'].map((p) => `json:${p}`),
}

/** The defaults, described for the manifest and the preview (what is always redacted). */
export const DEFAULT_RULE_NAMES = [
  'headers: ' + [...SECRET_HEADERS].join(', '),
  'credentials in URLs (user:password@)',
  'query parameters: ' + [...SECRET_QUERY_PARAMS].join(', '),
  'spec secrets: TLS key, PFX, passphrase, proxy passwords',
]

/** Parses one rule; throws WT_OPTION_INVALID naming the rule. */
export function parseRule(src: string): RedactRule[] {
  const colon = src.indexOf(':')
  if (colon <= 0) throw recError(REC_CODES.rule, `redaction rule "${src}" must be header:NAME, query:NAME, json:PATH, regex:/RE/FLAGS or preset:NAME`)
  const kind = src.slice(0, colon).trim().toLowerCase()
  const arg = src.slice(colon + 1)
  if (!arg.trim()) throw recError(REC_CODES.rule, `redaction rule "${src}" has nothing after "${kind}:"`)
  switch (kind) {
    case 'header':
      return [{ kind: 'header', name: arg.trim().toLowerCase(), source: src }]
    case 'query':
      return [{ kind: 'query', name: arg.trim(), source: src }]
    case 'json':
      try {
        return [{ kind: 'json', path: parseJsonPath(arg), source: src }]
      } catch (e) {
        throw recError(REC_CODES.rule, `redaction rule "${src}": ${e instanceof JsonPathError ? e.message : String(e)}`)
      }
    case 'regex': {
      let pattern = arg
      let flags = ''
      const m = /^\/(.*)\/([a-z]*)$/s.exec(arg)
      if (m) {
        pattern = m[1]!
        flags = m[2]!
      }
      if (!flags.includes('g')) flags += 'g'
      try {
        const re = new RegExp(pattern, flags)
        if (re.test('')) throw new Error('it matches the empty string')
        return [{ kind: 'regex', re, source: src }]
      } catch (e) {
        throw recError(REC_CODES.rule, `redaction rule "${src}": ${(e as Error).message}`)
      }
    }
    case 'preset': {
      const list = PRESETS[arg.trim()]
      if (!list) throw recError(REC_CODES.rule, `unknown preset "${arg.trim()}" (known: ${Object.keys(PRESETS).join(', ')})`)
      return list.flatMap(parseRule).map((r) => ({ ...r, source: src }))
    }
    default:
      throw recError(REC_CODES.rule, `redaction rule "${src}": unknown kind "${kind}"`)
  }
}

export interface RedactOptions {
  /** Default redaction (headers, URL credentials, token parameters, spec secrets). Default true. */
  enabled?: boolean
  /** User rules, as strings or parsed. They apply even when `enabled` is false. */
  rules?: Array<string | RedactRule>
  maxJsonDepth?: number
}

export interface ManifestEntry {
  /** The rule: "default" or the user's rule text. */
  rule: string
  /** Where, e.g. "http.request header authorization", "ws.message json:$..token". Never a value. */
  where: string
  /** Replacements made. */
  count: number
  /** Bytes (UTF-8) of the text before and after, summed, so sizes stay explainable. */
  bytesBefore: number
  bytesAfter: number
}

export interface RedactionManifest {
  redacted: boolean
  defaults: string[]
  rules: string[]
  /** Events changed. */
  events: number
  entries: ManifestEntry[]
  /** Entries not listed because the manifest is full. */
  overflow: number
  /** Payloads a JSON rule could not scan (not JSON, too deep). */
  unscanned: number
}

export interface PreviewSample {
  seq: number
  conn: string
  type: string
  where: string
  rule: string
  /** The field after redaction (text only, cut to 200 characters); never the removed value. */
  after: string
}

const MAX_MANIFEST_ENTRIES = 500

/** Header-list fields per event type. */
const HEADER_FIELDS: Record<string, string[]> = {
  'http.request': ['headers'],
  'http.response': ['headers'],
  'proxy.connect': ['requestHeaders', 'responseHeaders'],
  'poll.cycle': ['headers'],
  'h2.stream': ['headers'],
}
const URL_FIELDS: Record<string, string[]> = {
  'http.request': ['url'],
  'poll.cycle': ['url'],
  'proxy.connect': ['proxy'],
  'proxy.socks': ['proxy'],
  'proxy.rule': ['chosen', 'rule'],
}
/** Free-text fields where URL credentials and regex rules apply. */
const TEXT_FIELDS: Record<string, string[]> = {
  'http.response': ['bodyPreview'],
  'proxy.connect': ['bodyPreview', 'requestLine'],
  'ws.close': ['reason'],
  note: ['text'],
  error: ['message'],
  'conn.state': ['reason'],
  end: ['reason'],
  'sse.comment': ['text'],
  diagnosis: ['explanation'],
}
/** Payload fields (JSON and regex rules). */
const PAYLOAD_FIELDS: Record<string, string> = {
  'ws.message': 'text',
  'ws.ping': 'text',
  'ws.pong': 'text',
  'stream.line': 'text',
  'stream.data': 'text',
  'sse.event': 'data',
}

const URL_CREDS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)(?::([^\s/@]*))?@/gi

export class Redactor {
  readonly enabled: boolean
  readonly rules: RedactRule[]
  private readonly headerNames: Set<string>
  private readonly queryNames: Set<string>
  private readonly jsonRules: Array<Extract<RedactRule, { kind: 'json' }>>
  private readonly jsonPaths: PathSeg[][]
  private readonly regexRules: Array<Extract<RedactRule, { kind: 'regex' }>>
  private readonly maxDepth: number
  private readonly entries = new Map<string, ManifestEntry>()
  private overflow = 0
  private changedEvents = 0
  private unscanned = 0
  /** Set while redacting one event (the preview collects samples through it). */
  private onHit: ((where: string, rule: string) => void) | null = null
  private eventChanged = false

  constructor(opts: RedactOptions = {}) {
    this.enabled = opts.enabled !== false
    this.rules = (opts.rules ?? []).flatMap((r) => (typeof r === 'string' ? parseRule(r) : [r]))
    this.headerNames = new Set(this.rules.flatMap((r) => (r.kind === 'header' ? [r.name] : [])))
    this.queryNames = new Set(this.rules.flatMap((r) => (r.kind === 'query' ? [r.name] : [])))
    this.jsonRules = this.rules.filter((r): r is Extract<RedactRule, { kind: 'json' }> => r.kind === 'json')
    this.jsonPaths = this.jsonRules.map((r) => r.path)
    this.regexRules = this.rules.filter((r): r is Extract<RedactRule, { kind: 'regex' }> => r.kind === 'regex')
    this.maxDepth = opts.maxJsonDepth ?? 64
  }

  /** Whether any redaction happens at all. */
  get active(): boolean {
    return this.enabled || this.rules.length > 0
  }

  /** Whether events of this type can change (lets a streaming exporter skip parsing the others). */
  touches(type: string): boolean {
    if (!this.active) return false
    if (type in PAYLOAD_FIELDS) return this.jsonRules.length > 0 || this.regexRules.length > 0
    if (type === 'poll.cycle') return true
    return type === 'conn.start' || type in HEADER_FIELDS || type in URL_FIELDS || type in TEXT_FIELDS
  }

  header(h: RecordingHeader): RecordingHeader {
    if (!this.active) return h
    const out: RecordingHeader = { ...h, connections: h.connections.map((s) => (s && typeof s === 'object' && typeof s.url === 'string' ? this.spec(s, 'header') : s)) }
    if (this.enabled) out.secrets = 'redacted'
    if (typeof h.title === 'string') out.title = this.text(h.title, 'header title')
    return out
  }

  /** Returns the event redacted (a copy when anything changed, the same object otherwise). */
  event(ev: WiretraceEvent): WiretraceEvent {
    if (!this.touches(ev.type)) return ev
    this.eventChanged = false
    const t = ev.type
    let out: Record<string, unknown> | null = null
    const src = ev as unknown as Record<string, unknown>
    const set = (k: string, v: unknown): void => {
      if (!out) out = { ...src }
      out[k] = v
    }
    if (t === 'conn.start' && ev.spec && typeof ev.spec === 'object' && typeof ev.spec.url === 'string') {
      const spec = this.spec(ev.spec, 'conn.start')
      if (spec !== ev.spec) set('spec', spec)
    }
    for (const f of HEADER_FIELDS[t] ?? []) {
      const h = src[f]
      if (Array.isArray(h)) {
        const r = this.headers(h as HeaderPairs, `${t} ${f}`)
        if (r !== h) set(f, r)
      }
    }
    for (const f of URL_FIELDS[t] ?? []) {
      const u = src[f]
      if (typeof u === 'string') {
        const r = this.url(u, `${t} ${f}`)
        if (r !== u) set(f, r)
      }
    }
    if (t === 'proxy.rule' && Array.isArray(src.fallbacks)) {
      const fb = src.fallbacks as string[]
      const r = fb.map((u) => (typeof u === 'string' ? this.url(u, `${t} fallbacks`) : u))
      if (r.some((v, i) => v !== fb[i])) set('fallbacks', r)
    }
    for (const f of TEXT_FIELDS[t] ?? []) {
      const v = src[f]
      if (typeof v === 'string') {
        const r = this.text(v, `${t} ${f}`)
        if (r !== v) set(f, r)
      }
    }
    const pf = PAYLOAD_FIELDS[t]
    if (pf) {
      const v = src[pf]
      if (typeof v === 'string') {
        const r = this.payload(v, `${t} ${pf}`)
        if (r !== v) {
          set(pf, r)
          set('redacted', true)
        }
      }
    }
    if (t === 'poll.cycle') {
      const body = src.body as { text?: string } | undefined
      if (body && typeof body.text === 'string') {
        const r = this.payload(body.text, 'poll.cycle body')
        if (r !== body.text) set('body', { ...body, text: r, redacted: true })
      }
    }
    if (out) this.changedEvents++
    return (out ?? ev) as WiretraceEvent
  }

  manifest(): RedactionManifest {
    return {
      redacted: this.active,
      defaults: this.enabled ? DEFAULT_RULE_NAMES : [],
      rules: [...new Set(this.rules.map((r) => r.source))],
      events: this.changedEvents,
      entries: [...this.entries.values()],
      overflow: this.overflow,
      unscanned: this.unscanned,
    }
  }

  /** Runs `fn` with a hit observer (used by the preview). */
  observe<T>(fn: () => T, onHit: (where: string, rule: string) => void): T {
    this.onHit = onHit
    try {
      return fn()
    } finally {
      this.onHit = null
    }
  }

  get lastEventChanged(): boolean {
    return this.eventChanged
  }

  private note(rule: string, where: string, before: string, after: string): void {
    this.eventChanged = true
    this.onHit?.(where, rule)
    const key = rule + '\u0000' + where
    let e = this.entries.get(key)
    if (!e) {
      if (this.entries.size >= MAX_MANIFEST_ENTRIES) {
        this.overflow++
        return
      }
      e = { rule, where, count: 0, bytesBefore: 0, bytesAfter: 0 }
      this.entries.set(key, e)
    }
    e.count++
    e.bytesBefore += utf8Length(before)
    e.bytesAfter += utf8Length(after)
  }

  private headers(h: HeaderPairs, where: string): HeaderPairs {
    let out: HeaderPairs | null = null
    for (let i = 0; i < h.length; i++) {
      const pair = h[i]
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') continue
      const [k, v] = pair
      const lower = k.toLowerCase()
      let r = v
      if (this.enabled && SECRET_HEADERS.has(lower) && !v.includes(REDACTED)) {
        r = redactHeaderValue(k, v)
        if (r !== v) this.note('default', `${where} ${lower}`, v, r)
      }
      if (this.headerNames.has(lower) && r !== REDACTED) {
        this.note(`header:${lower}`, `${where} ${lower}`, r, REDACTED)
        r = REDACTED
      }
      if (r === v && (lower === 'referer' || lower === 'location' || lower === 'origin' || lower === 'content-location')) r = this.url(v, `${where} ${lower}`)
      if (r !== REDACTED && this.regexRules.length) r = this.regex(r, `${where} ${lower}`)
      if (r !== v) {
        if (!out) out = h.slice()
        out[i] = [k, r]
      }
    }
    return out ?? h
  }

  private url(u: string, where: string): string {
    let r = u
    if (this.enabled) {
      r = redactUrl(u)
      if (r === u && URL_CREDS.test(u)) r = this.creds(u, where)
      else if (r !== u) this.note('default', `${where} credentials or token parameters`, u, r)
      URL_CREDS.lastIndex = 0
    }
    if (this.queryNames.size && r.includes('?')) {
      const q = r.indexOf('?')
      const hash = r.indexOf('#', q)
      const query = r.slice(q + 1, hash < 0 ? undefined : hash)
      let changed = false
      const parts = query.split('&').map((p) => {
        const eq = p.indexOf('=')
        const name = decodeSafe(eq < 0 ? p : p.slice(0, eq))
        if (this.queryNames.has(name) && p.slice(eq + 1) !== encodeURIComponent(REDACTED)) {
          changed = true
          this.note(`query:${name}`, `${where} query ${name}`, p, `${name}=${REDACTED}`)
          return `${eq < 0 ? p : p.slice(0, eq)}=${encodeURIComponent(REDACTED)}`
        }
        return p
      })
      if (changed) r = r.slice(0, q + 1) + parts.join('&') + (hash < 0 ? '' : r.slice(hash))
    }
    return r
  }

  private creds(text: string, where: string): string {
    URL_CREDS.lastIndex = 0
    return text.replace(URL_CREDS, (m, scheme: string, user: string, pass: string | undefined) => {
      if (user === REDACTED || user === encodeURIComponent(REDACTED)) return m
      const rep = `${scheme}${REDACTED}${pass !== undefined ? ':' + REDACTED : ''}@`
      this.note('default', `${where} URL credentials`, m, rep)
      return rep
    })
  }

  private text(v: string, where: string): string {
    let r = v
    if (this.enabled && r.includes('@')) r = this.creds(r, where)
    if (this.regexRules.length) r = this.regex(r, where)
    return r
  }

  private regex(v: string, where: string): string {
    let r = v
    for (const rule of this.regexRules) {
      rule.re.lastIndex = 0
      if (!rule.re.test(r)) continue
      rule.re.lastIndex = 0
      r = r.replace(rule.re, (...args: unknown[]) => {
        const m = args[0] as string
        const g1 = args.length > 3 && typeof args[1] === 'string' ? (args[1] as string) : undefined
        if (g1 !== undefined && g1.length > 0) {
          const at = m.indexOf(g1)
          const rep = m.slice(0, at) + REDACTED + m.slice(at + g1.length)
          this.note(rule.source, where, g1, REDACTED)
          return rep
        }
        this.note(rule.source, where, m, REDACTED)
        return REDACTED
      })
    }
    return r
  }

  private payload(v: string, where: string): string {
    let r = v
    if (this.jsonRules.length && looksLikeJson(r)) {
      let spans: ReturnType<typeof findJsonSpans> | null = null
      try {
        spans = findJsonSpans(r, this.jsonPaths, this.maxDepth)
      } catch {
        this.unscanned++
      }
      if (spans && spans.length) {
        let s = ''
        let last = 0
        for (const sp of spans) {
          const before = r.slice(sp.start, sp.end)
          const rep = '"' + REDACTED + '"'
          if (before !== rep) this.note(this.jsonRules[sp.rule]!.source, where, before, rep)
          s += r.slice(last, sp.start) + rep
          last = sp.end
        }
        r = s + r.slice(last)
      }
    }
    if (this.regexRules.length) r = this.regex(r, where)
    return r
  }

  private spec(s: ConnectionSpec, where: string): ConnectionSpec {
    let out = this.enabled ? redactSpec({ ...s, keepSecrets: false }) : s
    if (this.enabled && s.keepSecrets) out = { ...out, keepSecrets: false }
    if (out !== s && this.enabled && JSON.stringify(out) !== JSON.stringify(s)) this.note('default', `${where} spec secrets`, '', '')
    const url = this.url(out.url, `${where} spec url`)
    if (url !== out.url) out = { ...out, url }
    if (out.headers) {
      const h = this.headers(out.headers, `${where} spec headers`)
      if (h !== out.headers) out = { ...out, headers: h }
    }
    if (out.send && (this.jsonRules.length || this.regexRules.length)) {
      const send = out.send.map((item): SendItem => {
        if ((item.kind === 'text' || item.kind === 'json') && typeof item.text === 'string') {
          const t = this.payload(item.text, `${where} spec send`)
          return t === item.text ? item : { ...item, text: t }
        }
        return item
      })
      if (send.some((x, i) => x !== out.send![i])) out = { ...out, send }
    }
    if (out.body?.text && (this.jsonRules.length || this.regexRules.length)) {
      const t = this.payload(out.body.text, `${where} spec body`)
      if (t !== out.body.text) out = { ...out, body: { ...out.body, text: t } }
    }
    return out
  }
}

function looksLikeJson(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 32 || c === 9 || c === 10 || c === 13) continue
    return c === 123 || c === 91
  }
  return false
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

export interface RedactionPreview {
  manifest: RedactionManifest
  header: RecordingHeader
  samples: PreviewSample[]
}

/**
 * What an export would redact, for the UI to show before saving: the manifest and up to
 * `maxSamples` places with the redacted text as it would be written.
 */
export function previewRedaction(header: RecordingHeader, events: Iterable<WiretraceEvent>, opts: RedactOptions = {}, maxSamples = 50): RedactionPreview {
  const r = new Redactor(opts)
  const h = r.header(header)
  const samples: PreviewSample[] = []
  for (const ev of events) {
    const hits: Array<{ where: string; rule: string }> = []
    const out = r.observe(() => r.event(ev), (where, rule) => {
      if (hits.length < 8) hits.push({ where, rule })
    })
    if (out === ev || samples.length >= maxSamples) continue
    for (const hit of hits) {
      if (samples.length >= maxSamples) break
      samples.push({ seq: ev.seq, conn: ev.conn, type: ev.type, where: hit.where, rule: hit.rule, after: afterText(out, hit.where) })
    }
  }
  return { manifest: r.manifest(), header: h, samples }
}

function afterText(ev: WiretraceEvent, where: string): string {
  const src = ev as unknown as Record<string, unknown>
  const field = where.split(' ')[1] ?? ''
  let v: unknown = src[field]
  if (Array.isArray(v)) {
    const name = where.split(' ')[2]
    const pair = (v as HeaderPairs).find(([k]) => k.toLowerCase() === name)
    v = pair ? `${pair[0]}: ${pair[1]}` : ''
  }
  if (field === 'body' && v && typeof v === 'object') v = (v as { text?: string }).text
  const s = typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v)
  return s.length > 200 ? s.slice(0, 200) + '…' : s
}
