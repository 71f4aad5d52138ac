/**
 * HAR import writes JSON Lines without building the recording in memory: a Wiretrace HAR as
 * HarStream lays it out is read list by list from its bytes (harBytesToJsonl), anything else
 * from the whole text (parseHarToJsonl). Both must give exactly what the import wrote before:
 * parseHarText's header and events, each through JSON.stringify, one line each, with the same
 * result, issues and errors, and nothing left behind when it fails.
 */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { importRecording } from '../../shared/node/recording/import.ts'
import { exportRecording } from '../../shared/node/recording/export.ts'
import { sniff } from '../../shared/node/recording/files.ts'
import { harBytesToJsonl, parseHarText, parseHarToJsonl } from '../../shared/common/recording/har-import.ts'
import type { RecordingIoLimits } from '../../shared/common/recording/errors.ts'
import { fixture, prng, randomRecording, randomText, tmpDir } from '../fixtures/recordings/helpers.ts'

type Limits = Partial<RecordingIoLimits>
/** A parsed HAR as the variants below edit it (whatever JSON.parse gives). */
type ParsedJson = ReturnType<typeof JSON.parse>

// Each piece is valid until the next is asked for: copied as they come.
const bytesOf = (r: { chunks(): Iterable<Uint8Array> }): Buffer => Buffer.concat(Array.from(r.chunks(), (c) => Buffer.from(c)))

const errorText = (e: unknown): string => {
  const x = e as { constructor?: { name?: string }; code?: string; message?: string; detail?: unknown }
  return `${x?.constructor?.name}:${x?.code}:${x?.message}:${JSON.stringify(x?.detail)}`
}

/** What the import wrote before: the whole text through parseHarText, each value through JSON.stringify. */
function reference(file: string, limits?: Limits): { out?: Buffer; result?: unknown; error?: string } {
  let lines: string[]
  let r: ReturnType<typeof parseHarText>
  try {
    const text = fs.readFileSync(file, 'utf8')
    r = parseHarText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, limits)
    lines = [JSON.stringify(r.header), ...r.events.map((e) => JSON.stringify(e))]
  } catch (e) {
    return { error: errorText(e) }
  }
  const out = Buffer.from(lines.map((l) => l + '\n').join(''))
  return { out, result: { kind: 'har', flavour: r.flavour, events: r.events.length, bytes: out.length, steps: r.steps, skipped: r.skipped, issues: r.issues, issueCount: r.issueCount } }
}

async function actual(file: string, out: string, limits?: Limits): Promise<{ out?: Buffer; result?: unknown; error?: string }> {
  const dir = path.dirname(out)
  const before = fs.readdirSync(dir).sort()
  try {
    const r = await importRecording(file, { out, ...(limits ? { limits } : {}) })
    const bytes = fs.readFileSync(out)
    fs.rmSync(out)
    const { out: _o, ...result } = r
    return { out: bytes, result }
  } catch (e) {
    // Nothing left behind: no output, no temp file.
    expect(fs.readdirSync(dir).sort()).toEqual(before)
    return { error: errorText(e) }
  }
}

/** What importRecording does with a HAR, without the file around it (sniff takes a small single-line HAR for a native recording). */
function pure(file: string, limits?: Limits): { out?: Buffer; result?: unknown; error?: string } {
  try {
    const bytes = fs.readFileSync(file)
    let r = harBytesToJsonl(bytes, limits)
    if (!r) {
      const text = bytes.toString('utf8')
      r = parseHarToJsonl(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, limits)
    }
    const out = bytesOf(r)
    return { out, result: { kind: 'har', flavour: r.flavour, events: r.events, bytes: out.length, steps: r.steps, skipped: r.skipped, issues: r.issues, issueCount: r.issueCount } }
  } catch (e) {
    return { error: errorText(e) }
  }
}

async function expectSame(file: string, out: string, limits?: Limits): Promise<{ error?: string }> {
  const want = reference(file, limits)
  const gots = [pure(file, limits)]
  if (sniff(file) === 'har') gots.push(await actual(file, out, limits))
  for (const got of gots) {
    expect(got.error, file).toBe(want.error)
    expect(got.result, file).toEqual(want.result)
    if (want.out) expect(got.out!.equals(want.out), file).toBe(true)
  }
  return want
}


/** Payloads that look like the places the list-by-list reader cuts at. */
const TRICKY = [
  '},{"type":"send","time":1,"opcode":1,"data":"x"}',
  '[{"a":1},{"b":[2]}]',
  '}],"_wiretrace":{"conn":"z","events":[]}',
  '],"_',
  '{"type":"x"}]',
  'é☃𝄞 \u2028\u2029 \u0000\u001f "quoted" back\\slash /',
  '}',
  ']',
]

/** A recording of several connections, WebSocket text and binary, SSE, odd fields, tricky payloads. */
function recording(seed: number, n: number): string {
  const rnd = prng(seed)
  const conns = ['a', 'b\u2028"é', 'c']
  const specs = conns.map((id, i) => ({ id, url: i === 2 ? 'https://h.test/s' : `wss://h.test/${i}`, transport: i === 2 ? 'sse' : 'ws' }))
  const header = { format: 'wiretrace', version: 1, app: 'imp', created: '2026-01-01T00:00:00.000Z', timeOrigin: 1, env: { os: 'linux', release: '', arch: 'x64', runtime: 'node', host: 'cli' }, connections: specs, secrets: 'kept' }
  const lines: string[] = [JSON.stringify(header)]
  let seq = 0
  let ts = 1.7e12 + 0.123
  conns.forEach((conn, i) => {
    lines.push(JSON.stringify({ seq: seq++, ts, conn, type: 'conn.start', spec: specs[i] }))
    lines.push(JSON.stringify({ seq: seq++, ts: (ts += 0.25), conn, type: 'open', durationMs: 1, phases: { tcp: 1 } }))
  })
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rnd() * 3)
    const conn = conns[i]!
    ts += rnd() * 3
    const r = rnd()
    const text = (r < 0.3 ? TRICKY[Math.floor(rnd() * TRICKY.length)]! : '') + randomText(rnd, 200).replace(/[\ud800-\udfff]/g, '?')
    let ev: Record<string, unknown>
    if (i === 2) ev = { seq: seq++, ts, conn, type: 'sse.event', event: 'message', data: text, lastEventId: String(k), ...(r < 0.5 ? { id: String(k) } : {}), size: Buffer.byteLength(text) }
    else if (r < 0.6) ev = { seq: seq++, ts, conn, type: 'ws.message', dir: rnd() < 0.5 ? 'in' : 'out', opcode: 1, size: Buffer.byteLength(text), text }
    else if (r < 0.8) ev = { seq: seq++, ts, conn, type: 'ws.message', dir: 'in', opcode: r < 0.7 ? 2 : 1, size: 3, base64: 'AAEC', ...(r < 0.65 ? { frames: 3, wireSize: 11, compressed: true } : {}) }
    else if (r < 0.85) ev = { seq: seq++, ts, conn, type: 'ws.message', dir: 'out', opcode: 1, size: 2, text: 'hi', custom: { z: [{ a: 1 }, { b: null }] } }
    else if (r < 0.95) ev = { seq: seq++, ts, conn, type: 'ws.ping', dir: 'out', size: 0, text: '', origin: 'heartbeat' }
    else ev = { seq: seq++, ts, conn, type: 'note', text: 'nested [{"x":1}]', extra: [{ a: [{ b: 1 }] }, { c: '}],"_' }] }
    lines.push(JSON.stringify(ev))
  }
  return lines.join('\n') + '\n'
}

async function exported(dir: string, name: string, jsonl: string): Promise<string> {
  const src = path.join(dir, `${name}.jsonl`)
  fs.writeFileSync(src, jsonl)
  const har = path.join(dir, `${name}.har`)
  await exportRecording(src, { format: 'har', out: har, redact: false })
  return har
}

describe('HAR import as JSON Lines', () => {
  it('writes exactly what the import wrote before, read list by list (several blocks a list, tricky payloads, non-ASCII)', async () => {
    const dir = tmpDir()
    const hars = [await exported(dir, 'mix1', recording(1, 9000)), await exported(dir, 'mix2', recording(2, 300))]
    for (const f of ['v1-office-proxy.jsonl', 'v1-home-direct.jsonl', 'v0-basic.jsonl']) hars.push(await exported(dir, f, fs.readFileSync(fixture(f), 'utf8')))
    const rec = randomRecording(9, 3000)
    hars.push(await exported(dir, 'rand', [rec.header, ...rec.events].map((x) => JSON.stringify(x)).join('\n') + '\n'))
    expect(fs.statSync(hars[0]!).size).toBeGreaterThan(2 << 20) // lists of several 256 KiB blocks
    for (const har of hars) {
      // The list-by-list path is the one taken, and gives what the whole-text path gives.
      const bytes = fs.readFileSync(har)
      const fast = harBytesToJsonl(bytes)
      expect(fast, har).not.toBeNull()
      const whole = parseHarToJsonl(bytes.toString('utf8'))
      expect(bytesOf(fast!).equals(bytesOf(whole)), har).toBe(true)
      await expectSame(har, path.join(dir, 'o.jsonl'))
      // With a BOM too.
      const bom = path.join(dir, 'bom.har')
      fs.writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]))
      expect(harBytesToJsonl(fs.readFileSync(bom))).not.toBeNull()
      await expectSame(bom, path.join(dir, 'o.jsonl'))
    }
  })

  it('a lone surrogate, a huge message and lines past the 4 MiB pieces come out the same', async () => {
    const dir = tmpDir()
    const base = JSON.parse(fs.readFileSync(await exported(dir, 'm', recording(3, 200)), 'utf8'))
    const msgs = base.log.entries[0]._webSocketMessages
    msgs[0].data = 'lone \ud800 half'
    delete msgs[0]._wiretrace.size
    msgs[1].data = 'x'.repeat(5 << 20) + 'é'.repeat(1 << 20) // longer than a batch, a piece and more
    delete msgs[1]._wiretrace.size
    const f = path.join(dir, 'big.har')
    fs.writeFileSync(f, JSON.stringify(base))
    expect(harBytesToJsonl(fs.readFileSync(f))).not.toBeNull()
    await expectSame(f, path.join(dir, 'o.jsonl'))
  })

  it('odd documents: order, seq, fields, damage inside the lists, other layouts and flavours', async () => {
    const dir = tmpDir()
    const text = fs.readFileSync(await exported(dir, 'base', recording(4, 400)), 'utf8')
    const variants: Record<string, (d: ParsedJson) => void> = {
      shuffled: (d) => {
        d.log.entries[0]._webSocketMessages.reverse()
        d.log.entries[1]._wiretrace.events.reverse()
      },
      dupSeq: (d) => (d.log.entries[0]._webSocketMessages[3]._wiretrace.seq = d.log.entries[0]._webSocketMessages[2]._wiretrace.seq),
      fractionalSeq: (d) => (d.log.entries[1]._webSocketMessages[0]._wiretrace.seq = 2.5),
      hugeSeq: (d) => (d.log.entries[1]._webSocketMessages[0]._wiretrace.seq = 1e300),
      noExt: (d) => d.log.entries[0]._webSocketMessages.forEach((m: ParsedJson) => delete m._wiretrace),
      extKeys: (d) => {
        const m = d.log.entries[0]._webSocketMessages
        m[0]._wiretrace = { zz: [1], ...m[0]._wiretrace }
        m[1]._wiretrace.size = 'big'
        m[2]._wiretrace.size = { n: 1 }
        m[3]._wiretrace = { ts: 5, seq: m[3]._wiretrace.seq, compressed: null, frames: 'two', enc: 'x', text: 't', type: 'q' }
        m[4]._wiretrace = JSON.parse('{"__proto__":{"a":1},"seq":1.25,"ts":1}')
        m[5]._wiretrace = { 7: 1, seq: 3.75, ts: 2 }
      },
      badMessages: (d) => {
        const m = d.log.entries[0]._webSocketMessages
        m[0]._wiretrace.enc = 'base64'
        m[1].opcode = 9
        m[2].type = 'x'
        m[3] = 5
        m[4]._wiretrace.seq = 'a'
        m[5].opcode = 2
        m[5].data = 'AB C'
        d.log.entries[1]._wiretrace.events.push(null, { seq: 'x' })
        d.log.entries[2]._eventSourceMessages[0].time = 'later'
        d.log.entries[2]._eventSourceMessages[1]._wiretrace.ts = 'now'
      },
      skippedEntry: (d) => (d.log.entries[1]._wiretrace.conn = 7),
      notObjectEntry: (d) => d.log.entries.splice(1, 0, 5, [], 'x'),
      newerExtension: (d) => (d.log._wiretrace.version = 9),
      v0: (d) => (d.log._wiretrace.header.version = 0),
      newerFormat: (d) => (d.log._wiretrace.header.version = 2),
      badHeader: (d) => (d.log._wiretrace.header = { format: 'x' }),
      chromeCreator: (d) => (d.log.creator.name = 'Chrome DevTools'),
      extraEntryKey: (d) => (d.log.entries[0].zzz = [{ a: 1 }]),
      deepEvent: (d) => d.log.entries[1]._wiretrace.events.push({ seq: 99999, ts: 1, conn: 'b', type: 'note', x: 'DEEP' }),
    }
    const base = JSON.parse(text)
    for (const [name, change] of Object.entries(variants)) {
      const d = JSON.parse(JSON.stringify(base))
      change(d)
      const f = path.join(dir, `${name}.har`)
      // Too deep for JSON.stringify (a RangeError on writing, as before): put in as text.
      fs.writeFileSync(f, JSON.stringify(d).replace('"DEEP"', '['.repeat(20000) + ']'.repeat(20000)))
      const want = await expectSame(f, path.join(dir, 'o.jsonl'))
      if (name === 'deepEvent') expect(want.error).toMatch(/^RangeError/)
      await expectSame(f, path.join(dir, 'o.jsonl'), { maxIssues: 2 })
    }
    // Written with whitespace, or with a duplicated list, or with an escaped key: read whole.
    const pretty = path.join(dir, 'pretty.har')
    fs.writeFileSync(pretty, JSON.stringify(base, null, 1))
    expect(harBytesToJsonl(fs.readFileSync(pretty))).toBeNull()
    await expectSame(pretty, path.join(dir, 'o.jsonl'))
    const raw: Record<string, string> = {
      dupList: text.replace('"_webSocketMessages":[', '"_webSocketMessages":[],"_webSocketMessages":['),
      escapedKey: text.replace('"_webSocketMessages":[', '"_webSocket\\u004dessages":[],"_webSocketMessages":['),
      dupLog: text.replace('{"log":', '{"log":{"entries":[]},"log":'),
      trailing: text + ' {}',
      syntaxInList: text.replace(/,\{"type":"receive"/g, (m, off: number) => (off > text.length / 2 ? ',{"type""receive"' : m)),
      cut: text.slice(0, Math.floor(text.length * 0.7)),
      replacementChar: text.replace('"data":"', '"data":"\ufffd'),
    }
    // Damage in the list of an entry the walk skips (its conn is not a string): still invalid JSON.
    const skipped = JSON.parse(text)
    skipped.log.entries[1]._wiretrace.conn = 7
    const st = JSON.stringify(skipped)
    const second = st.indexOf('"_webSocketMessages":[', st.indexOf('"_webSocketMessages":[') + 1)
    const at = st.indexOf(',{"type":"', second) + 9
    raw.damageInSkipped = st.slice(0, at) + st.slice(at + 1)
    for (const [name, t] of Object.entries(raw)) {
      const f = path.join(dir, `${name}.har`)
      fs.writeFileSync(f, t)
      const want = await expectSame(f, path.join(dir, 'o.jsonl'))
      if (name === 'syntaxInList' || name === 'cut' || name === 'damageInSkipped') expect(want.error).toMatch(/WT_RECORDING_LINE/)
    }
    // Bytes that are not UTF-8 inside a message: the whole-text path decodes them as before (U+FFFD).
    const bad = Buffer.from(text)
    bad[bad.indexOf('"data":"') + 9] = 0xff
    fs.writeFileSync(path.join(dir, 'bytes.har'), bad)
    expect(harBytesToJsonl(bad)).toBeNull()
    await expectSame(path.join(dir, 'bytes.har'), path.join(dir, 'o.jsonl'))
  })

  it('limits fail as before, nothing written', async () => {
    const dir = tmpDir()
    const har = await exported(dir, 'l', recording(5, 500))
    const n = (reference(har).result as { events: number }).events
    for (const limits of [{ maxEvents: n }, { maxEvents: n - 1 }, { maxEvents: 0 }, { maxHarEntries: 2 }, { maxHarEntries: 3 }, { maxIssues: 0 }]) {
      await expectSame(har, path.join(dir, 'o.jsonl'), limits)
    }
    expect((await actual(har, path.join(dir, 'o.jsonl'), { maxEvents: n - 1 })).error).toMatch(/WT_RECORDING_TOO_LARGE/)
    expect((await actual(har, path.join(dir, 'o.jsonl'), { maxDocumentBytes: 100 })).error).toMatch(/WT_RECORDING_TOO_LARGE/)
  })

  it('damaged bytes give the same result or the same error as before (seeded)', async () => {
    const dir = tmpDir()
    const src = fs.readFileSync(await exported(dir, 'f', recording(6, 2500)))
    const rnd = prng(20261127)
    const marks = ['},{"type":"', '],"_', '"_wiretrace":{"conn":', '"events":[', '"data":"', '\\"']
    let errors = 0
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(src)
      let out: Buffer = b
      const kind = i % 4
      // Damage next to the places the reader relies on, or anywhere.
      const mark = marks[Math.floor(rnd() * marks.length)]!
      let at = b.indexOf(mark, Math.floor(rnd() * b.length))
      if (at < 0) at = Math.floor(rnd() * b.length)
      at += Math.floor(rnd() * (mark.length + 2))
      if (kind === 0) b[at] = [0x22, 0x5c, 0x5d, 0x7d, 0x2c, 0x7b, 0x5b, 0x20, 0x31][Math.floor(rnd() * 9)]!
      else if (kind === 1) out = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(rnd() * 12))])
      else if (kind === 2) out = Buffer.concat([b.subarray(0, at), Buffer.from(mark), b.subarray(at)])
      else out = Buffer.concat([b.subarray(0, at), Buffer.from(randomText(rnd, 6)), b.subarray(at)])
      const f = path.join(dir, `d${i}.har`)
      fs.writeFileSync(f, out)
      if (sniff(f) !== 'har') continue
      if ((await expectSame(f, path.join(dir, 'o.jsonl'))).error) errors++
    }
    expect(errors).toBeGreaterThan(10)
  }, 60_000)
})

describe('jsonTs', () => {
  it('prints every timestamp exactly as JSON.stringify does', async () => {
    const { jsonTs } = await import('../../shared/common/recording/har-import.ts')
    const rnd = prng(11)
    const values: number[] = [0, 1, 0.5, 0.001, 0.1, 1.005, 1e-7, -3.25, 123.4567, 2 ** 43, 2 ** 43 - 0.001, 2 ** 53, NaN, Infinity, 1795000000000, 1795000000000.1, 1795000000000.01, 1795000000000.001, 1795000000000.999, 1795000000000.12345]
    for (let i = 0; i < 200_000; i++) {
      const base = 1.7e12 + Math.floor(rnd() * 1e11)
      values.push(Math.round((base + rnd()) * 1000) / 1000, base + rnd(), Math.round(rnd() * 1e6) / 1000, rnd() * 10)
    }
    for (const v of values) expect(jsonTs(v), String(v)).toBe(JSON.stringify(v))
  })
})
