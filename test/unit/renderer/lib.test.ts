/** The renderer's pure logic: rows, filters, formatting, the composer form, the waterfall. */
import { describe, expect, it } from 'vitest'
import type { WiretraceEvent } from '../../../shared/common/events/index.ts'
import { toRow } from '../../../renderer/src/lib/rows.ts'
import { compileFilter, EMPTY_FILTER, FilterEditor, type FilterSpec } from '../../../renderer/src/lib/filter.ts'
import { formatRelative, hexDump, inferTransport, parseHeaderLines, prettyJson, payloadBytes } from '../../../renderer/src/lib/format.ts'
import { DEFAULT_FORM, emptySecretParamCaret, formHasSecrets, formToSpec, missingSecretHeaders, parseProxyUrl, specToForm } from '../../../renderer/src/lib/spec-form.ts'
import { buildWaterfall } from '../../../renderer/src/lib/waterfall.ts'
import { stateLine } from '../../../renderer/src/lib/status.ts'
import { errorBanner } from '../../../renderer/src/lib/hints.ts'

const base = { conn: 'c1', ts: 1000 }
const msg = (seq: number, text: string, dir: 'in' | 'out' = 'in'): WiretraceEvent =>
  ({ ...base, seq, type: 'ws.message', dir, opcode: 1, size: text.length, text }) as WiretraceEvent

describe('rows', () => {
  it('turns messages, control frames and closes into distinct rows', () => {
    expect(toRow(msg(1, 'hello\nworld'))).toMatchObject({ label: 'TEXT', dir: 'in', kind: 'msg', preview: 'hello world', size: 11 })
    const bin = toRow({ ...base, seq: 2, type: 'ws.message', dir: 'out', opcode: 2, size: 3, base64: 'AAEC' } as WiretraceEvent)
    expect(bin).toMatchObject({ label: 'BINARY', dir: 'out', kind: 'msg' })
    expect(bin!.preview).toContain('[binary 3 B]')
    expect(toRow({ ...base, seq: 3, type: 'ws.pong', dir: 'in', size: 0, rttMs: 1.25 } as WiretraceEvent)).toMatchObject({ label: 'PONG', kind: 'control' })
    const close = toRow({ ...base, seq: 4, type: 'ws.close', code: 4001, reason: 'bye', initiator: 'remote', wasClean: true, meaning: 'Private use' } as WiretraceEvent)
    expect(close).toMatchObject({ label: 'CLOSE 4001', kind: 'close', dir: 'in' })
    expect(toRow({ ...base, seq: 5, type: 'stats' } as WiretraceEvent)).toBeNull()
  })

  it('every event that is a row says something: HTTP/2 session, PING and GOAWAY, SSE resume, WebSocket half-open', () => {
    const settings = { headerTableSize: 4096, enablePush: false, initialWindowSize: 16777216, maxFrameSize: 16384, maxConcurrentStreams: 1000, maxHeaderListSize: 65536 }
    const session = (which: string, extra: object) => toRow({ ...base, seq: 1, type: 'h2.session', alpn: 'h2c', localSettings: {}, remoteSettings: {}, which, ...extra } as WiretraceEvent)!
    expect(session('connect', { localSettings: settings })).toMatchObject({ label: 'H2 session', preview: 'h2c · our SETTINGS: window 16.0 MB, max frame 16 KB, max streams 1000, header table 4.0 KB, header list 64 KB, push off' })
    expect(session('remote-settings', { remoteSettings: { maxConcurrentStreams: 100, initialWindowSize: 65535 } })).toMatchObject({ dir: 'in', preview: "server's SETTINGS: window 64 KB, max streams 100" })
    expect(session('local-settings', { localSettings: { initialWindowSize: 65535 } })).toMatchObject({ dir: 'out', preview: 'our SETTINGS acknowledged: window 64 KB' })
    expect(session('remote-settings', {}).preview).toBe("server's SETTINGS: (defaults)")
    expect(session('remote-settings', { remoteSettings: { maxConcurrentStreams: 4294967295, maxHeaderListSize: 4294967295 } }).preview).toBe("server's SETTINGS: max streams unlimited, header list unlimited")
    expect(toRow({ ...base, seq: 2, type: 'h2.ping', rttMs: 0.42 } as WiretraceEvent)).toMatchObject({ label: 'PING', kind: 'control', preview: 'rtt 0.4 ms' })
    expect(toRow({ ...base, seq: 3, type: 'h2.goaway', errorCode: 0, errorName: 'NO_ERROR', lastStreamId: 7 } as WiretraceEvent)).toMatchObject({ label: 'GOAWAY', dir: 'in', kind: 'close', preview: 'NO_ERROR (0) · last stream 7' })
    expect(toRow({ ...base, seq: 4, type: 'h2.goaway', errorCode: 11, errorName: 'ENHANCE_YOUR_CALM', lastStreamId: 0, opaqueData: 'slow\ndown' } as WiretraceEvent)).toMatchObject({ kind: 'error', preview: 'ENHANCE_YOUR_CALM (11) · last stream 0 · "slow down"' })
    expect(toRow({ ...base, seq: 5, type: 'sse.resume', lastEventId: '41', firstId: '42', duplicates: 0, gap: 0 } as WiretraceEvent)).toMatchObject({ label: 'resume', preview: 'after id 41, first id 42: in order' })
    expect(toRow({ ...base, seq: 6, type: 'sse.resume', lastEventId: '41', firstId: '39', duplicates: 3, gap: 0 } as WiretraceEvent)).toMatchObject({ kind: 'error', preview: 'after id 41, first id 39: 3 repeated' })
    expect(toRow({ ...base, seq: 7, type: 'sse.resume', lastEventId: '41', firstId: '45', duplicates: 0, gap: 3 } as WiretraceEvent)!.preview).toBe('after id 41, first id 45: 3 missed')
    expect(toRow({ ...base, seq: 8, type: 'ws.half-open', pingSentAt: 1, timeoutMs: 5000, sinceLastInMs: 12034 } as WiretraceEvent)).toMatchObject({ label: 'half-open', kind: 'error', preview: 'no pong within 5000 ms; nothing received for 12.0 s' })
  })

  it('cuts previews to a bounded length', () => {
    const r = toRow(msg(1, 'x'.repeat(10_000)))!
    expect(r.preview.length).toBeLessThanOrEqual(160)
    expect(r.size).toBe(10_000)
  })

  it('never interprets payloads: markup stays text', () => {
    expect(toRow(msg(1, '<img src=x onerror=alert(1)>'))!.preview).toBe('<img src=x onerror=alert(1)>')
  })
})

describe('filter', () => {
  const rows = [toRow(msg(1, 'Alpha one'))!, toRow(msg(2, 'beta two', 'out'))!, toRow(msg(3, 'x'.repeat(500)))!]
  rows.push(toRow({ ...base, seq: 4, type: 'ws.ping', dir: 'out', size: 0 } as WiretraceEvent)!)
  const count = (f: Partial<typeof EMPTY_FILTER>): number => {
    const { test } = compileFilter({ ...EMPTY_FILTER, ...f })
    return rows.filter(test).length
  }
  it('matches text case-insensitively, literally', () => {
    expect(count({ text: 'ALPHA' })).toBe(1)
    expect(count({ text: 'a.p' })).toBe(0)
  })
  it('supports regex and reports a bad one', () => {
    expect(count({ text: '^(alpha|beta)', regex: true })).toBe(2)
    const bad = compileFilter({ ...EMPTY_FILTER, text: '(', regex: true })
    expect(bad.error).toMatch(/Invalid regular expression/)
  })
  it('filters by direction, kind and size', () => {
    expect(count({ dir: 'out' })).toBe(2)
    expect(count({ kind: 'control' })).toBe(1)
    expect(count({ kind: 'messages', minSize: 100 })).toBe(1)
    expect(count({ maxSize: 9 })).toBe(3)
  })
  it('is inactive when empty', () => {
    expect(compileFilter(EMPTY_FILTER).test.active).toBe(false)
    expect(compileFilter({ ...EMPTY_FILTER, dir: 'in' }).test.active).toBe(true)
  })
})

describe('filter editor', () => {
  it('debounces typing and never drops a pending edit when another control changes', () => {
    let current: FilterSpec = { ...EMPTY_FILTER, text: 'old' }
    const applied: FilterSpec[] = []
    const timers: Array<() => void> = []
    const ed = new FilterEditor(
      () => current,
      (f) => {
        current = f
        applied.push(f)
      },
      { set: (fn) => timers.push(fn), clear: () => timers.splice(0) },
    )
    ed.update({ text: '' }, true)
    expect(applied).toEqual([])
    ed.update({ kind: 'control' })
    expect(applied).toEqual([{ ...EMPTY_FILTER, text: '', kind: 'control' }])
    expect(timers).toEqual([])
    ed.update({ text: 'a' }, true)
    ed.update({ text: 'ab' }, true)
    expect(timers.length).toBe(1)
    timers[0]!()
    expect(current.text).toBe('ab')
    expect(applied.length).toBe(2)
  })
})

describe('format', () => {
  it('hex dumps with offsets and ASCII', () => {
    const dump = hexDump(payloadBytes({ text: 'Hello, Wiretrace!' }))
    expect(dump.split('\n')[0]).toBe('00000000  48 65 6c 6c 6f 2c 20 57  69 72 65 74 72 61 63 65  |Hello, Wiretrace|')
    expect(dump.split('\n')[1]).toMatch(/^00000010 {2}21 /)
    expect(hexDump(new Uint8Array(100), 32)).toContain('… 68 more bytes')
  })
  it('pretty-prints JSON and rejects non-JSON', () => {
    expect(prettyJson('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}')
    expect(prettyJson('hello')).toBeNull()
    expect(prettyJson('{"a":')).toBeNull()
  })
  it('decodes base64 payloads to exact bytes', () => {
    expect([...payloadBytes({ base64: '3q2+7w==' })]).toEqual([0xde, 0xad, 0xbe, 0xef])
  })
  it('formats relative times', () => {
    expect(formatRelative(12.345)).toBe('+12.3 ms')
    expect(formatRelative(1234)).toBe('+1.234 s')
    expect(formatRelative(125_000)).toBe('+2m05.0s')
  })
  it('infers the transport from the scheme', () => {
    expect(inferTransport('wss://x')).toBe('ws')
    expect(inferTransport('https://x')).toBe('sse')
  })
  it('parses header lines and names the bad one', () => {
    expect(parseHeaderLines('A: 1\n\nB-C:  two words ')).toEqual({ headers: [['A', '1'], ['B-C', 'two words']], error: null })
    expect(parseHeaderLines('A: 1\nnope').error).toBe('Header line 2 needs "Name: value"')
    expect(parseHeaderLines('Bad Name: 1').error).toMatch(/not a valid header name/)
  })
})

describe('composer form', () => {
  it('builds a WebSocket spec with subprotocols, heartbeat and no reconnect by default', () => {
    const spec = formToSpec({ ...DEFAULT_FORM, url: ' ws://127.0.0.1:1/x ', subprotocols: 'a, b', heartbeatMs: 5000, headers: 'X-Test: 1' })
    expect(spec).toMatchObject({ url: 'ws://127.0.0.1:1/x', transport: 'ws', headers: [['X-Test', '1']], ws: { subprotocols: ['a', 'b'], deflate: true } })
    expect(spec.heartbeat).toEqual({ intervalMs: 5000, timeoutMs: 10_000 })
    expect(spec.reconnect).toEqual({ enabled: false })
  })
  it('builds an SSE POST when a body is given', () => {
    const spec = formToSpec({ ...DEFAULT_FORM, url: 'https://h/ev', body: '{"q":1}' })
    expect(spec).toMatchObject({ transport: 'sse', method: 'POST', body: { text: '{"q":1}' } })
  })
  it('parses proxy URLs with credentials', () => {
    expect(parseProxyUrl('socks5h://u%40x:p@127.0.0.1:1080')).toEqual({ mode: 'manual', proxy: { kind: 'socks5h', host: '127.0.0.1', port: 1080, auth: { username: 'u@x', password: 'p' } } })
    expect(() => parseProxyUrl('ftp://x')).toThrow(/not a proxy type/)
  })
  it('explains what is missing', () => {
    expect(() => formToSpec(DEFAULT_FORM)).toThrow(/Enter a URL/)
    expect(() => formToSpec({ ...DEFAULT_FORM, url: 'ws://x', network: 'custom' })).toThrow(/Network: set up the custom profile/)
  })
  it('round-trips through a saved target', () => {
    const f = { ...DEFAULT_FORM, name: 'n', url: 'wss://h/s', headers: 'A: 1', network: 'custom' as const, draft: parseProxyUrl('http://p:3128'), reconnect: true, insecure: true }
    const back = specToForm(formToSpec(f))
    expect(formToSpec(back)).toEqual(formToSpec(f))
  })
})

describe('waterfall', () => {
  it('places each phase on the attempt timeline and keeps raw headers', () => {
    const evs = [
      { ...base, seq: 0, ts: 100, type: 'conn.state', state: 'connecting', attempt: 1 },
      { ...base, seq: 1, ts: 105, type: 'dns', host: 'h', addresses: [{ address: '10.0.0.1', family: 4 }], durationMs: 4, via: 'local', target: 'origin' },
      { ...base, seq: 2, ts: 115, type: 'tcp', remoteAddress: '10.0.0.1', remotePort: 80, localAddress: '', localPort: 1, durationMs: 10, target: 'origin' },
      { ...base, seq: 3, ts: 116, type: 'http.request', method: 'GET', url: 'ws://h/', headers: [['Upgrade', 'websocket']] },
      { ...base, seq: 4, ts: 120, type: 'http.response', status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [['Connection', 'Upgrade']], durationMs: 4 },
      { ...base, seq: 5, ts: 121, type: 'open', durationMs: 21, phases: {} },
    ] as unknown as WiretraceEvent[]
    const w = buildWaterfall(evs, 130)
    expect(w.phases.map((p) => p.label)).toEqual(['DNS', 'TCP', 'Handshake', 'Open', 'First message'])
    expect(w.phases[0]).toMatchObject({ start: 1, duration: 4 })
    expect(w.phases[1]).toMatchObject({ start: 5, duration: 10 })
    expect(w.request).toEqual({ line: 'GET ws://h/', headers: [['Upgrade', 'websocket']] })
    expect(w.response?.line).toBe('HTTP/1.1 101 Switching Protocols')
    expect(w.total).toBe(30)
  })
})

describe('status and hints', () => {
  const s = { id: 'a', url: 'ws://x', transport: 'ws' as const, attempt: 2, msgsIn: 0, msgsOut: 0, bytesIn: 0, bytesOut: 0, events: 0, startedAt: 0 }
  it('says when the next reconnect happens and how a connection ended', () => {
    expect(stateLine({ ...s, state: 'reconnecting', nextAttemptAt: 10_500 }, 8_000)).toBe('reconnecting in 3 s (attempt 3)')
    expect(stateLine({ ...s, state: 'closed', closeCode: 4001, closeReason: 'bye' }, 0)).toBe('closed 4001 "bye"')
    expect(stateLine({ ...s, state: 'failed', errorCode: 'WT_TCP_REFUSED' }, 0)).toBe('failed: WT_TCP_REFUSED')
  })
  it('turns an undiagnosed error into a banner with what to try', () => {
    const b = errorBanner({ ...base, seq: 1, type: 'error', code: 'WT_TCP_REFUSED', phase: 'tcp', message: 'refused', fatal: true })
    expect(b.severity).toBe('error')
    expect(b.explanation).toMatch(/refused/)
    expect(b.suggestions.length).toBeGreaterThan(0)
  })
})

describe('composer: a saved target whose URL token was not kept', () => {
  it('refuses to connect with the emptied ?token=, naming it; filled in, the URL goes as typed', () => {
    const f = specToForm({ url: 'wss://h/s?room=1&access_token=', transport: 'ws' })
    expect(f.url).toBe('wss://h/s?room=1&access_token=')
    expect(() => formToSpec(f)).toThrow('URL parameter access_token: enter its value after "access_token=" (it was not saved), or remove it')
    expect(formToSpec({ ...f, url: 'wss://h/s?room=1&access_token=abc' }).url).toBe('wss://h/s?room=1&access_token=abc')
    // Not a token parameter, or no value at all: as typed.
    expect(formToSpec({ ...f, url: 'wss://h/s?room=&token' }).url).toBe('wss://h/s?room=&token')
    // Save target may keep it empty (with Remember off it would not be written anyway).
    expect(formToSpec(f, [], { saving: true }).url).toBe('wss://h/s?room=1&access_token=')
    // Saved with Remember on, an empty ?key= is as the user saved it: nothing to fill in.
    const kept = specToForm({ url: 'wss://h/s?room=1&key=', transport: 'ws' }, 'x', [], true)
    expect(kept.fillTokens).toEqual([])
    expect(formToSpec(kept).url).toBe('wss://h/s?room=1&key=')
    // A URL typed by hand with an empty ?key= is the user's business: sent as typed.
    expect(formToSpec({ ...DEFAULT_FORM, url: 'wss://h/s?key=&access_token=' }).url).toBe('wss://h/s?key=&access_token=')
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://h/s?room=1&access_token=abc' })).toBe(true)
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://h/s?room=1&access_token=' })).toBe(false)
  })

  it('puts the caret right after the first emptied token parameter', () => {
    const caret = (url: string): number => emptySecretParamCaret(specToForm({ url, transport: 'ws' }))
    const url = 'wss://h/s?key2=&room=&access_token=&sig=#f'
    expect(caret(url)).toBe(url.indexOf('access_token=') + 'access_token='.length)
    expect(caret('wss://h/s?Token=')).toBe('wss://h/s?Token='.length)
    expect(caret('wss://h/s?token=x&room=')).toBe(-1)
    // A ";token=" in the path is not the query's.
    expect(caret('wss://h/a;token=;b?token=')).toBe('wss://h/a;token=;b?token='.length)
    // Only the tokens the loaded target did not keep.
    expect(emptySecretParamCaret({ url: 'wss://h/s?sig=&token=', fillTokens: ['token'] })).toBe('wss://h/s?sig=&token='.length)
  })
})

describe('composer: a saved target whose secret header values were not kept', () => {
  // As targets.json keeps it with "Remember password" off: the names, empty values.
  const stored = { url: 'wss://h/s', transport: 'ws' as const, headers: [['Authorization', ''], ['X-Trace', '1'], ['Cookie', '']] as Array<[string, string]> }

  it('shows the header lines to complete, and refuses to connect with an empty one, naming it', () => {
    const f = specToForm(stored)
    expect(f.headers.split('\n')).toEqual(['Authorization: ', 'X-Trace: 1', 'Cookie: '])
    expect(missingSecretHeaders(stored)).toEqual(['Authorization', 'Cookie'])
    expect(() => formToSpec(f)).toThrow('Header Authorization: enter its value (it was not saved), or remove the line')
    expect(() => formToSpec({ ...f, headers: 'Authorization: Bearer t\nCookie:' })).toThrow(/^Header Cookie: /)
    // Filled in: sent as typed. An ordinary header may be empty.
    expect(formToSpec({ ...f, headers: 'Authorization: Bearer t\nX-Empty:' }).headers).toEqual([
      ['Authorization', 'Bearer t'],
      ['X-Empty', ''],
    ])
    expect(missingSecretHeaders({ headers: [['X-Empty', '']] })).toEqual([])
  })

  it('offers "Remember password" for a secret header, not for an empty one', () => {
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://h/s', headers: 'Authorization: Bearer t' })).toBe(true)
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://h/s', headers: 'x-api-key: k' })).toBe(true)
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://u:pw@h/s' })).toBe(true)
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://h/s', network: 'custom', draft: { mode: 'env', env: { ALL_PROXY: 'u:pw@p:1080' } } })).toBe(true)
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://h/s', headers: 'Authorization:\nX-Trace: 1' })).toBe(false)
    // A form that does not build yet (a bad header line) is not an error here.
    expect(formHasSecrets({ ...DEFAULT_FORM, url: 'wss://h/s', headers: 'nope' })).toBe(false)
  })
})
