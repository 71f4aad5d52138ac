import { describe, it, expect } from 'vitest'
import { Redactor, parseRule, previewRedaction } from '../../shared/common/recording/redact-rules.ts'
import { findJsonSpans, parseJsonPath } from '../../shared/common/recording/json-spans.ts'
import { WiretraceError } from '../../shared/common/errors/index.ts'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'
import { fixture, readJsonl } from '../fixtures/recordings/helpers.ts'

const office = readJsonl(fixture('v1-office-proxy.jsonl'))
const SECRETS = ['hunter2', 'abc123', 'eyJhbGciOi.secret', 's3cr3t', 'sid=new', 'YWxpY2U6cHc=', 'alice:pw@']

describe('default redaction', () => {
  it('removes Authorization, Proxy-Authorization, Cookie, Set-Cookie, URL credentials and token parameters everywhere', () => {
    const r = new Redactor()
    const h = r.header(office.header)
    const evs = office.events.map((e) => r.event(e))
    const text = JSON.stringify(h) + JSON.stringify(evs)
    for (const s of SECRETS) expect(text, s).not.toContain(s)
    expect(h.secrets).toBe('redacted')
    // Schemes are kept so the recording still says what was used.
    const req = evs.find((e) => e.type === 'http.request') as Extract<WiretraceEvent, { type: 'http.request' }>
    expect(req.headers.find(([k]) => k === 'Authorization')![1]).toBe('Bearer [redacted]')
    expect(req.headers.find(([k]) => k === 'Sec-WebSocket-Version')![1]).toBe('13')
    // Payloads are untouched by the defaults.
    const msgs = (es: WiretraceEvent[]) => es.filter((e) => e.type === 'ws.message')
    expect(msgs(evs)).toEqual(msgs(office.events))
  })

  it('manifest lists places and counts, never the values', () => {
    const r = new Redactor({ rules: ['json:$..password', 'regex:/tok-[A-Z]+/'] })
    office.events.forEach((e) => r.event(e))
    const m = r.manifest()
    const text = JSON.stringify(m)
    for (const s of [...SECRETS, 'pw1', 'tok-XYZ']) expect(text, s).not.toContain(s)
    expect(m.entries.find((e) => e.where === 'http.request headers authorization')?.count).toBe(1)
    expect(m.entries.find((e) => e.rule === 'json:$..password')?.count).toBe(1)
    expect(m.rules).toEqual(['json:$..password', 'regex:/tok-[A-Z]+/'])
    const json = m.entries.find((e) => e.rule === 'json:$..password')!
    expect(json.bytesBefore).toBe(5) // "pw1" with quotes
    expect(json.bytesAfter).toBe(12) // "[redacted]"
  })

  it('--no-redact leaves everything, user rules still apply', () => {
    const off = new Redactor({ enabled: false })
    expect(office.events.map((e) => off.event(e))).toEqual(office.events)
    const onlyRule = new Redactor({ enabled: false, rules: ['header:x-trace'] })
    const req = office.events.map((e) => onlyRule.event(e)).find((e) => e.type === 'conn.start') as Extract<WiretraceEvent, { type: 'conn.start' }>
    expect(req.spec.headers).toEqual([['Authorization', 'Bearer eyJhbGciOi.secret'], ['X-Trace', '[redacted]'], ['Cookie', 'sid=s3cr3t']])
  })
})

describe('user rules inside payloads', () => {
  const msg = (text: string): WiretraceEvent => ({ seq: 1, ts: 1, conn: 'c', type: 'ws.message', dir: 'in', opcode: 1, size: Buffer.byteLength(text), text }) as WiretraceEvent

  it('JSON paths replace only the selected values; every other byte stays', () => {
    const r = new Redactor({ rules: ['json:$.user.token', 'json:$..secret', 'json:$.items[*].key'] })
    const text = '{ "user" : {"token":"a\\"b", "name":"x"},\n "items":[{"key":1},{"key":{"deep":[1,2]}}], "z":{"secret":null}}'
    const out = r.event(msg(text)) as { text: string; size: number; redacted?: boolean }
    expect(out.text).toBe('{ "user" : {"token":"[redacted]", "name":"x"},\n "items":[{"key":"[redacted]"},{"key":"[redacted]"}], "z":{"secret":"[redacted]"}}')
    expect(out.size).toBe(Buffer.byteLength(text)) // the wire size stays, explained by `redacted`
    expect(out.redacted).toBe(true)
  })

  it('regex rules with a group replace the group only', () => {
    const r = new Redactor({ rules: ['regex:/session=(\\w+)/'] })
    const out = r.event(msg('a session=abc123; b')) as { text: string }
    expect(out.text).toBe('a session=[redacted]; b')
  })

  it('SSE data, notes and close reasons are covered', () => {
    const r = new Redactor({ rules: ['regex:/SECRET\\d+/'] })
    const sse = r.event({ seq: 1, ts: 1, conn: 'c', type: 'sse.event', event: 'm', data: 'x SECRET42 y', lastEventId: '', size: 12 } as WiretraceEvent) as { data: string }
    expect(sse.data).toBe('x [redacted] y')
    const close = r.event({ seq: 2, ts: 1, conn: 'c', type: 'ws.close', code: 4000, reason: 'bad SECRET1', initiator: 'remote', wasClean: true, meaning: '' } as WiretraceEvent) as { reason: string }
    expect(close.reason).toBe('bad [redacted]')
  })

  it('non-JSON payloads are counted as unscanned, not broken', () => {
    const r = new Redactor({ rules: ['json:$.a'] })
    const e = msg('{"a": 1, oops')
    expect(r.event(e)).toBe(e)
    expect(r.manifest().unscanned).toBe(1)
  })

  it('bad rules fail with WT_OPTION_INVALID naming the rule', () => {
    for (const bad of ['nope', 'regex:/(/', 'json:$.a[', 'json:$', 'preset:unknown', 'regex:/x*/', 'weird:x']) {
      try {
        parseRule(bad)
        expect.unreachable(bad)
      } catch (e) {
        expect(e).toBeInstanceOf(WiretraceError)
        expect((e as WiretraceError).code).toBe('WT_OPTION_INVALID')
        expect((e as Error).message).toContain(bad.split(':')[0]!)
      }
    }
  })

  it('findJsonSpans: deep paths, depth limit, invalid JSON throws', () => {
    const p = [parseJsonPath('$..id')]
    const t = '{"a":[{"id":1},{"b":{"id":"x"}}]}'
    expect(findJsonSpans(t, p).map((s) => t.slice(s.start, s.end))).toEqual(['1', '"x"'])
    expect(() => findJsonSpans('[[[[[[1]]]]]]', p, 3)).toThrow(/deeper/)
    expect(() => findJsonSpans('{"a":1} x', p)).toThrow()
  })
})

describe('preview', () => {
  it('shows where and the redacted text, never the removed value', () => {
    const p = previewRedaction(office.header, office.events, { rules: ['preset:payload-secrets'] })
    expect(p.samples.length).toBeGreaterThan(5)
    const text = JSON.stringify(p)
    for (const s of [...SECRETS, 'pw1', 'tok-XYZ']) expect(text, s).not.toContain(s)
    const pw = p.samples.find((s) => s.type === 'ws.message' && s.rule === 'preset:payload-secrets')
    expect(pw?.after).toContain('"password":"[redacted]"')
    expect(p.header.secrets).toBe('redacted')
  })
})
