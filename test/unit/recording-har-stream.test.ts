/**
 * The streamed HAR export (HarStream, exportRecording format "har") must give exactly the
 * text of the whole-document path (toHar over the loaded and redacted events), and the
 * reader it reads with, decoding whole runs of lines at once, exactly what decoding each
 * line on its own gives.
 */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { exportRecording } from '../../shared/node/recording/export.ts'
import { loadRecording } from '../../shared/node/recording/files.ts'
import { toHar, harChunks } from '../../shared/common/recording/har.ts'
import { RecordingReader } from '../../shared/common/recording/reader.ts'
import { Redactor } from '../../shared/common/recording/redact-rules.ts'
import { errorCode, fixture, prng, randomRecording, randomText, tmpDir } from '../fixtures/recordings/helpers.ts'

const BOM = '\ufeff'

/** A recording as JSON Lines text: several interleaved connections, SSE, odd fields, damage. */
function mixedRecording(seed: number, n: number): string {
  const rnd = prng(seed)
  const conns = ['a', 'b\u2028"', 'c']
  const specs = conns.map((id, i) => ({ id, url: i === 2 ? 'https://u:p@h.test/s?token=1&x=2' : `wss://h.test/${i}?access_token=z`, transport: i === 2 ? 'sse' : 'ws', headers: [['Authorization', 'Bearer q'], ['X-Plain', 'v']] }))
  const header = { format: 'wiretrace', version: 1, app: 'mix', created: '2026-01-01T00:00:00.000Z', timeOrigin: 1, env: { os: 'linux', release: '', arch: 'x64', runtime: 'node', host: 'cli' }, connections: specs, secrets: 'kept', title: 'see https://a:b@x.test/' }
  const lines: string[] = [JSON.stringify(header)]
  let seq = 0
  let ts = 1.7e12 + 0.1
  conns.forEach((conn, i) => {
    lines.push(JSON.stringify({ seq: seq++, ts, conn, type: 'conn.start', spec: specs[i] }))
    lines.push(JSON.stringify({ seq: seq++, ts: (ts += 0.5), conn, type: 'http.request', method: 'GET', url: specs[i]!.url, headers: specs[i]!.headers }))
    lines.push(JSON.stringify({ seq: seq++, ts: (ts += 3), conn, type: 'http.response', status: i === 2 ? 200 : 101, statusText: 'x', httpVersion: '1.1', headers: [['Content-Type', 'text/event-stream'], ['Set-Cookie', 's=1']], durationMs: 3.01 }))
    lines.push(JSON.stringify({ seq: seq++, ts: (ts += 0.1), conn, type: 'open', durationMs: 6.4, phases: { dns: 0.1, tcp: 1.3, tls: 2.2, handshake: 3 } }))
  })
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rnd() * 3)
    const conn = conns[i]!
    ts += rnd() * 3
    const r = rnd()
    const text = (r < 0.05 ? '{"token":"abc","password":"p"}' : '') + randomText(rnd, 300)
    let ev: Record<string, unknown>
    if (i === 2) ev = { seq: seq++, ts, conn, type: 'sse.event', event: r < 0.5 ? 'message' : 'tick', data: text, lastEventId: String(k), ...(r < 0.3 ? { id: String(k) } : {}), size: 3, ...(r < 0.1 ? { extra: { a: [1, 2] } } : {}) }
    else if (r < 0.5) ev = { seq: seq++, ts, conn, type: 'ws.message', dir: rnd() < 0.5 ? 'in' : 'out', opcode: 1, size: 7, text }
    else if (r < 0.7) ev = { seq: seq++, ts, conn, type: 'ws.message', dir: 'in', opcode: r < 0.6 ? 2 : 1, size: 3, base64: 'AAEC', ...(r < 0.55 ? { frames: 3, wireSize: 11, compressed: true } : {}) }
    else if (r < 0.75) ev = { seq: seq++, ts, conn, type: 'ws.message', dir: 'out', opcode: 1, size: 2, text: 'hi', custom: { z: null } }
    else if (r < 0.9) ev = { seq: seq++, ts, conn, type: 'ws.ping', dir: 'out', size: 0, text: '', origin: 'heartbeat' }
    else ev = { seq: seq++, ts, conn, type: 'note', text: 'see https://bob:secret@x.test/ ' + text }
    let line = JSON.stringify(ev)
    if (r > 0.99) line = BOM + line
    lines.push(line)
    if (k === 10) lines.push('{"broken')
    if (k === 20) lines.push('')
  }
  return lines.join(seed % 2 ? '\r\n' : '\n') + '\n{"seq":1,"ts":2,"co'
}

/** What the export wrote before it was streamed: the whole recording loaded, redacted, toHar. */
async function reference(file: string, opts: { redact?: boolean; rules?: string[] }): Promise<string> {
  const rec = await loadRecording(file)
  const r = new Redactor({ enabled: opts.redact !== false, rules: opts.rules ?? [] })
  const header = r.header(rec.header)
  const events = r.active ? rec.events.map((e) => r.event(e)) : rec.events
  return JSON.stringify(toHar(header, events, { redaction: r.manifest() }))
}

describe('streamed HAR export', () => {
  const variants: Array<{ redact?: boolean; rules?: string[] }> = [{}, { redact: false }, { rules: ['json:$..token', 'regex:/x+/'] }]

  it('writes exactly the text of toHar, for fixtures and mixed recordings (blocks, damage, BOM, CRLF, gzip)', async () => {
    const dir = tmpDir()
    const files = [fixture('v1-office-proxy.jsonl'), fixture('v1-home-direct.jsonl'), fixture('v0-basic.jsonl')]
    for (const seed of [1, 2]) {
      const f = path.join(dir, `mixed-${seed}.jsonl`)
      fs.writeFileSync(f, mixedRecording(seed, 4000)) // ~150 characters a message: several blocks per list
      files.push(f)
    }
    const gz = path.join(dir, 'mixed.wtrace.gz')
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(files[3]!)))
    files.push(gz)
    for (const file of files) {
      for (const v of variants) {
        const out = path.join(dir, 'out.har')
        const res = await exportRecording(file, { format: 'har', out, ...v })
        const text = fs.readFileSync(out, 'utf8')
        expect(text).toBe(await reference(file, v))
        expect(res.bytes).toBe(fs.statSync(out).size)
        expect(res.events).toBe((await loadRecording(file)).events.length)
      }
    }
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
  })

  it('reports the damaged lines as before', async () => {
    const dir = tmpDir()
    const f = path.join(dir, 'm.jsonl')
    fs.writeFileSync(f, mixedRecording(3, 50))
    const res = await exportRecording(f, { format: 'har', out: path.join(dir, 'o.har') })
    const rec = await loadRecording(f)
    expect(res.issues).toEqual(rec.issues.map((i) => ({ code: i.code, message: i.message, line: i.line })))
    expect(res.issues.map((i) => i.code)).toEqual(['WT_RECORDING_LINE', 'WT_RECORDING_TRUNCATED'])
  })

  it('harChunks joined is the text of toHar whatever the chunk size', () => {
    const recs = [randomRecording(5, 3000), randomRecording(6, 50)]
    for (const rec of recs) {
      const whole = JSON.stringify(toHar(rec.header, rec.events))
      for (const chunkChars of [1, 7, 1000, undefined]) {
        const chunks = [...harChunks(rec.header, rec.events, { chunkChars })]
        expect(chunks.join('')).toBe(whole)
        if (chunkChars === 1000) expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(3000)
      }
    }
  })

  it('a failed read writes nothing, and a reading error still comes before a version error', async () => {
    const dir = tmpDir()
    const f = path.join(dir, 'newer.jsonl')
    const head = JSON.stringify({ format: 'wiretrace', version: 99, connections: [] })
    const evs = Array.from({ length: 20 }, (_, i) => JSON.stringify({ seq: i, ts: i, conn: 'a', type: 'note', text: 'n' }))
    fs.writeFileSync(f, [head, ...evs].join('\n') + '\n')
    const out = path.join(dir, 'o.har')
    const code = errorCode
    expect(await code(exportRecording(f, { format: 'har', out }))).toBe('WT_RECORDING_VERSION')
    expect(await code(exportRecording(f, { format: 'har', out, limits: { maxEvents: 5 } }))).toBe('WT_RECORDING_TOO_LARGE')
    expect(fs.readdirSync(dir)).toEqual(['newer.jsonl'])
  })

  it('an event too deep to stringify fails the export as before (a RangeError) and writes nothing', async () => {
    const dir = tmpDir()
    const f = path.join(dir, 'deep.jsonl')
    const deep = '['.repeat(20000) + ']'.repeat(20000)
    const head = JSON.stringify({ format: 'wiretrace', version: 1, connections: [] })
    const msg = (seq: number, extra = ''): string => `{"seq":${seq},"ts":${seq},"conn":"a","type":"ws.message","dir":"in","opcode":1,"size":1,"text":"x"${extra}}`
    fs.writeFileSync(f, [head, msg(1), msg(2, `,"x":${deep}`), msg(3)].join('\n') + '\n')
    await expect(exportRecording(f, { format: 'har', out: path.join(dir, 'o.har') })).rejects.toThrow(RangeError)
    expect(fs.readdirSync(dir)).toEqual(['deep.jsonl'])
  })
})

describe('reader: runs of lines decoded at once', () => {
  /** Each line decoded on its own (a decode call drops one leading BOM) and parsed. */
  function perLine(bytes: Buffer): unknown[] {
    const out: unknown[] = []
    let s = 0
    for (;;) {
      const e = bytes.indexOf(10, s)
      if (e < 0) break
      const text = new TextDecoder().decode(bytes.subarray(s, e))
      s = e + 1
      if (text === '' || text === '\r') continue
      try {
        out.push(JSON.parse(text))
      } catch {
        out.push('bad')
      }
    }
    return out
  }

  it('gives what decoding each line alone gives: BOMs, bad UTF-8 at line ends, CR, any chunking', () => {
    const rnd = prng(11)
    const bits = [Buffer.from('{"seq":1,"ts":2,"conn":"a","type":"x","t":"é☃𝄞"}'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x9d]), Buffer.from([0xff]), Buffer.from('\r'), Buffer.from('"'), Buffer.from('[1]')]
    const head = Buffer.from(JSON.stringify({ format: 'wiretrace', version: 1, connections: [] }))
    for (let iter = 0; iter < 300; iter++) {
      const lines: Buffer[] = [head]
      for (let i = 0; i < 20; i++) lines.push(Buffer.concat(Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => bits[Math.floor(rnd() * bits.length)]!)))
      const all = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
      const want = perLine(all)
        .slice(1)
        .filter((v) => v && typeof v === 'object' && !Array.isArray(v))
      for (const chunked of [false, true]) {
        const r = new RecordingReader()
        const got: unknown[] = []
        if (!chunked) got.push(...r.push(all))
        else for (let o = 0; o < all.length; ) {
          const n = 1 + Math.floor(rnd() * 40)
          got.push(...r.push(all.subarray(o, o + n)))
          o += n
        }
        got.push(...r.end())
        expect(got).toEqual(want)
        expect(r.line).toBe(lines.length)
        if (!chunked) expect(r.offset).toBe(all.length)
      }
    }
  })
})
