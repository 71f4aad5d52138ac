import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { toHar, harChunks } from '../../shared/common/recording/har.ts'
import { fromHar, parseHarText } from '../../shared/common/recording/har-import.ts'
import { Redactor } from '../../shared/common/recording/redact-rules.ts'
import { base64ToBytes } from '../../shared/common/bytes.ts'
import { WiretraceError } from '../../shared/common/errors/index.ts'
import { fixture, readJsonl, randomRecording } from '../fixtures/recordings/helpers.ts'

const schema = JSON.parse(fs.readFileSync(fixture('har-1.2.schema.json'), 'utf8'))
const ajv = new Ajv({ allErrors: true, strict: false })
;(addFormats as unknown as (a: Ajv) => void)(ajv)
const validate = ajv.compile(schema)

function payloadBytes(e: { text?: string; base64?: string }): Buffer {
  return e.text !== undefined ? Buffer.from(e.text, 'utf8') : Buffer.from(base64ToBytes(e.base64 ?? ''))
}

describe('HAR export', () => {
  const office = readJsonl(fixture('v1-office-proxy.jsonl'))

  it('is valid HAR 1.2 (schema written from the spec), redacted and not', () => {
    for (const redact of [true, false]) {
      const r = new Redactor({ enabled: redact })
      const har = toHar(r.header(office.header), office.events.map((e) => r.event(e)), { redaction: r.manifest() })
      const ok = validate(har)
      expect(validate.errors ?? []).toEqual([])
      expect(ok).toBe(true)
    }
  })

  it('the schema rejects a broken HAR (the validation can fail)', () => {
    const har = toHar(office.header, office.events) as unknown as { log: { entries: Array<Record<string, unknown>> } }
    delete har.log.entries[0]!.timings
    har.log.entries[0]!.notUnderscored = 1
    expect(validate(har)).toBe(false)
  })

  it('puts WebSocket messages in Chrome form and the rest in _wiretrace', () => {
    const har = toHar(office.header, office.events)
    const e = har.log.entries[0]!
    expect(e._resourceType).toBe('websocket')
    const msgs = e._webSocketMessages!
    expect(msgs.map((m) => [m.type, m.opcode])).toEqual([['send', 1], ['receive', 1], ['receive', 2], ['receive', 1], ['send', 1], ['receive', 1], ['receive', 1]])
    expect(msgs[2]!.data).toBe('AAEC/f7/')
    expect(msgs[0]!.time).toBeCloseTo(office.events.find((x) => x.type === 'ws.message')!.ts / 1000, 6)
    const types = e._wiretrace!.events.map((x) => x.type)
    expect(types).toContain('ws.close')
    expect(types).toContain('ws.ping')
    expect(types).toContain('proxy.connect')
    expect(types).not.toContain('ws.message')
    expect(e.response.status).toBe(101)
    expect(e.timings.ssl).toBe(12.4)
    expect(har.log._wiretrace!.header.title).toBe('office: echo through proxy')
  })

  it('streams the same document as toHar', () => {
    const a = JSON.stringify(toHar(office.header, office.events))
    const b = [...harChunks(office.header, office.events, { chunkChars: 50 })].join('')
    expect(JSON.parse(b)).toEqual(JSON.parse(a))
  })
})

describe('round trip native -> HAR -> native', () => {
  it('keeps every event of the golden recording and every WebSocket message byte-exact', () => {
    const office = readJsonl(fixture('v1-office-proxy.jsonl'))
    const back = parseHarText(JSON.stringify(toHar(office.header, office.events)))
    expect(back.flavour).toBe('wiretrace')
    expect(back.issues).toEqual([])
    expect(back.header).toEqual(office.header)
    expect(back.events).toEqual(office.events)
  })

  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`random recording seed ${seed}: events equal, payload bytes identical`, () => {
      const rec = randomRecording(seed, 300)
      const text = [...harChunks(rec.header, rec.events, { chunkChars: 1000 })].join('')
      const back = parseHarText(text)
      expect(back.events).toEqual(rec.events)
      const a = rec.events.filter((e) => e.type === 'ws.message')
      const b = back.events.filter((e) => e.type === 'ws.message')
      expect(b.length).toBe(a.length)
      for (let i = 0; i < a.length; i++) expect(payloadBytes(b[i] as never).equals(payloadBytes(a[i] as never))).toBe(true)
    })
  }
})

describe('HAR import from other tools', () => {
  it('Chrome DevTools: WebSocket messages, binary as base64, event streams; plain entries skipped', () => {
    const r = parseHarText(fs.readFileSync(fixture('chrome-ws.har'), 'utf8'))
    expect(r.flavour).toBe('chrome')
    expect(r.skipped).toBe(1)
    expect(r.issues).toEqual([])
    const ws = r.events.filter((e) => e.type === 'ws.message')
    expect(ws).toHaveLength(5)
    const bin = ws[2]!
    expect(bin.type === 'ws.message' && bin.opcode).toBe(2)
    expect(Buffer.from(base64ToBytes((bin as { base64: string }).base64)).toString('hex')).toBe('deadbeef')
    expect(ws[3]).toMatchObject({ text: '☃ snow', size: 8, dir: 'in' })
    const sse = r.events.filter((e) => e.type === 'sse.event')
    expect(sse.map((e) => (e as { event: string }).event)).toEqual(['message', 'price'])
    expect(r.header.connections.map((c) => c.transport)).toEqual(['ws', 'sse'])
    // seq strictly increasing, in time order
    for (let i = 1; i < r.events.length; i++) expect(r.events[i]!.seq).toBeGreaterThan(r.events[i - 1]!.seq)
    expect(r.events.filter((e) => e.type === 'end')).toHaveLength(2)
  })

  it('HTTP Toolkit: messages and the close', () => {
    const r = parseHarText(fs.readFileSync(fixture('httptoolkit-ws.har'), 'utf8'))
    expect(r.flavour).toBe('httptoolkit')
    expect(r.events.filter((e) => e.type === 'ws.message')).toHaveLength(3)
    expect(r.events.find((e) => e.type === 'ws.close')).toMatchObject({ code: 1001, reason: 'server restart' })
    expect(r.header.connections[0]!.url).toBe('wss://stream.example.test/live')
  })

  it('names the place of damage and keeps the rest', () => {
    const har = JSON.parse(fs.readFileSync(fixture('chrome-ws.har'), 'utf8'))
    har.log.entries[1]._webSocketMessages[2].data = 'not base64 !!'
    har.log.entries[1]._webSocketMessages[0].time = 'yesterday'
    const r = fromHar(har)
    expect(r.issues.map((i) => i.at)).toEqual(['log.entries[1]._webSocketMessages[0]', 'log.entries[1]._webSocketMessages[2].data'])
    expect(r.events.filter((e) => e.type === 'ws.message')).toHaveLength(3)
  })

  it('foreign JSON and bad JSON fail with codes', () => {
    const code = (f: () => unknown): string => {
      try {
        f()
      } catch (e) {
        expect(e).toBeInstanceOf(WiretraceError)
        return (e as WiretraceError).code
      }
      return 'none'
    }
    expect(code(() => parseHarText('{"hello":1}'))).toBe('WT_RECORDING_HEADER')
    expect(code(() => parseHarText('{"log":{"entries":5}}'))).toBe('WT_RECORDING_LINE')
    expect(code(() => parseHarText('{"log": [1,'))).toBe('WT_RECORDING_LINE')
    expect(code(() => fromHar({ log: { entries: new Array(10) } }, { maxHarEntries: 5 }))).toBe('WT_RECORDING_TOO_LARGE')
    const deep = '['.repeat(200000) + ']'.repeat(200000)
    expect(['WT_RECORDING_HEADER', 'WT_RECORDING_TOO_LARGE']).toContain(code(() => parseHarText(deep)))
  })
})
