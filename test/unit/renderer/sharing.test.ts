/**
 * The sharing commands the inspector uses (open progress, upload, recovery, export preview
 * and save, compare) through the host adapter, and the renderer's pure helpers for them.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../../shared/node/engine/engine.ts'
import { HostAdapter } from '../../../shared/node/hosts/adapter.ts'
import { OpenedRecording } from '../../../shared/node/hosts/recordings.ts'
import { validateCommand } from '../../../shared/common/protocol/index.ts'
import type { WiretraceEvent } from '../../../shared/common/events/index.ts'
import { displayUrl, hideUserinfo, toRow } from '../../../renderer/src/lib/rows.ts'
import { base64ToBytes, exportName, parseRuleLines } from '../../../renderer/src/lib/export-name.ts'

const FIX = path.join(import.meta.dirname, '..', '..', 'fixtures', 'recordings')
let tmp: string
let office: string
let home: string
let engine: Engine
let adapter: HostAdapter

async function call(cmd: string, params: unknown): Promise<unknown> {
  const r = await adapter.dispatch(cmd, params)
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code })
  return r.result
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-share-'))
  office = path.join(tmp, 'office.jsonl')
  home = path.join(tmp, 'home.jsonl')
  fs.copyFileSync(path.join(FIX, 'v1-office-proxy.jsonl'), office)
  fs.copyFileSync(path.join(FIX, 'v1-home-direct.jsonl'), home)
  fs.mkdirSync(path.join(tmp, 'rec'))
  engine = new Engine({ recordingsDir: path.join(tmp, 'rec'), host: 'test' })
  adapter = new HostAdapter({ engine, host: 'web' })
})

afterAll(async () => {
  await adapter.close()
  await engine.shutdown()
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('establishment row previews', () => {
  const events = fs
    .readFileSync(path.join(FIX, 'v1-office-proxy.jsonl'), 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as WiretraceEvent)
  const row = (type: string): ReturnType<typeof toRow> => toRow(events.find((e) => e.type === type)!)

  it('says what each step found, without passwords', () => {
    expect(row('proxy.rule')).toMatchObject({ label: 'route' })
    expect(row('proxy.rule')!.preview).toContain('http://alice:***@proxy.corp.test:3128 (manual)')
    expect(row('dns')!.preview).toMatch(/^proxy\.corp\.test → 10\.0\.0\.5 \(proxy\) · 1\.4 ms$/)
    expect(row('tcp')!.preview).toMatch(/^10\.0\.0\.5:3128 \(proxy\) from 10\.0\.0\.9:51234/)
    expect(row('tls')!.preview).toMatch(/^TLSv1\.3 · ALPN http\/1\.1 · issuer Corp Inspection CA · trusted/)
    expect(row('ws.negotiated')!.preview).toContain('extensions permessage-deflate')
    expect(row('conn.start')!.preview).toContain('ws wss://user:***@echo.example.test/socket')
    expect(row('proxy.connect')).toMatchObject({ label: 'CONNECT 407', kind: 'error' })
    for (const e of events) expect(toRow(e)?.preview ?? '').not.toMatch(/hunter2|alice:pw/)
  })

  it('hides userinfo passwords and shows redacted userinfo plainly', () => {
    expect(hideUserinfo('socks5h://bob:s3cret@127.0.0.1:1080')).toBe('socks5h://bob:***@127.0.0.1:1080')
    expect(hideUserinfo('http://proxy:3128')).toBe('http://proxy:3128')
    expect(displayUrl('wss://%5Bredacted%5D@host/x')).toBe('wss://[redacted]@host/x')
    expect(displayUrl('wss://%5Bredacted%5D:%5Bredacted%5D@host/x')).toBe('wss://[redacted]:[redacted]@host/x')
  })
})

describe('export helpers', () => {
  it('names exports and reads rule lines', () => {
    expect(exportName('/a/b/2026-rec.jsonl', 'native')).toBe('2026-rec.wtrace.gz')
    expect(exportName('C:\\r\\x.wtrace.gz', 'har')).toBe('x.har')
    expect(exportName('x.jsonl', 'md')).toBe('x.md')
    expect(parseRuleLines(' header:X-A \n\n# note\njson:$..token\n')).toEqual(['header:X-A', 'json:$..token'])
    expect([...base64ToBytes(Buffer.from([0, 255, 10]).toString('base64'))]).toEqual([0, 255, 10])
  })
})

describe('sharing commands', () => {
  it('reports open progress and never runs two scans or touches a closed file', async () => {
    const list = (await call('recording.open', { path: office })) as Array<{ id: string }>
    expect(list[0]!.id).toMatch(/^r\d+:/)
    await new Promise((r) => setTimeout(r, 50))
    const st = (await call('recording.status', {})) as Array<{ name: string; done: boolean; scanned: number; size: number; events: number }>
    expect(st).toContainEqual(expect.objectContaining({ name: 'office.jsonl', done: true, events: 27 }))
    expect(st[0]!.scanned).toBe(st[0]!.size)
    // Closing at once with scan steps pending: no read after close.
    const rec = new OpenedRecording('rx', office)
    rec.scanStep(64)
    rec.close()
    await new Promise((r) => setTimeout(r, 20))
    expect(rec.done).toBe(false)
  })

  it('opens an uploaded (dropped) file and a .wtrace.gz export', async () => {
    const up = (await call('recording.upload', { name: 'dropped.jsonl', base64: fs.readFileSync(home).toString('base64') })) as Array<{ url: string; readOnly: boolean }>
    expect(up[0]).toMatchObject({ readOnly: true })
    const gz = path.join(tmp, 'home.wtrace.gz')
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(home)))
    const fromGz = (await call('recording.open', { path: gz })) as Array<{ id: string; recordingPath: string }>
    expect(fromGz[0]!.recordingPath).toBe(gz)
    const evs = (await call('events.range', { id: fromGz[0]!.id, fromSeq: 0, count: 100 })) as WiretraceEvent[]
    expect(evs.length).toBe(16)
    await expect(call('recording.upload', { name: 'x', base64: 'not base64!' })).rejects.toMatchObject({ code: 'WT_USAGE' })
  })

  it('previews the redaction, then exports (web: as base64, never to a path)', async () => {
    const p = (await call('export.preview', { path: office, redact: true, rules: ['json:$..token'] })) as { manifest: { entries: Array<{ where: string; rule: string }> }; samples: Array<{ after: string }> }
    const where = p.manifest.entries.map((e) => e.where).join('\n')
    expect(where).toMatch(/authorization/)
    expect(where).toMatch(/cookie/)
    expect(p.manifest.entries.some((e) => e.rule === 'json:$..token')).toBe(true)
    expect(JSON.stringify(p)).not.toMatch(/hunter2|eyJhbGciOi\.secret|s3cr3t/)
    const saved = (await call('export.save', { path: office, format: 'native', redact: true })) as { name: string; base64: string; events: number }
    expect(saved.name).toBe('office.wtrace.gz')
    const text = zlib.gunzipSync(Buffer.from(saved.base64, 'base64')).toString('utf8')
    expect(text).toContain('[redacted]')
    expect(text).not.toMatch(/hunter2|eyJhbGciOi\.secret/)
    const har = (await call('export.save', { path: office, format: 'har', redact: true })) as { base64: string }
    expect(JSON.parse(Buffer.from(har.base64, 'base64').toString('utf8')).log.version).toBe('1.2')
    await expect(call('export.save', { path: office, format: 'native', redact: true, out: path.join(tmp, 'x.gz') })).rejects.toMatchObject({ code: 'WT_USAGE' })
    await expect(call('export.save', { path: office, format: 'zip', redact: true })).rejects.toThrow(/params\.format/)
    await expect(call('export.preview', { path: office, redact: true, rules: ['nonsense-rule'] })).rejects.toMatchObject({ code: expect.stringMatching(/^WT_/) })
  })

  it('compares two recordings: the first divergence is the route', async () => {
    const d = (await call('recording.diff', { a: office, b: home })) as { samePath: boolean; firstDivergence: { key: string } }
    expect(d.samePath).toBe(false)
    expect(d.firstDivergence.key).toBe('route')
  })

  it('finds a recording a crash left unfinished and recovers it', async () => {
    const lines = fs.readFileSync(home, 'utf8').split('\n').filter(Boolean)
    const crashed = path.join(tmp, 'rec', 'crashed.jsonl')
    fs.writeFileSync(crashed, lines.slice(0, -2).join('\n') + '\n' + lines.at(-2)!.slice(0, 30))
    const offers = (await call('recording.recoverable', {})) as Array<{ path: string; reason: string; unfinished: number }>
    expect(offers).toEqual([expect.objectContaining({ path: crashed, reason: 'truncated-line', unfinished: 1 })])
    await call('recording.recover', { path: crashed })
    expect(await call('recording.recoverable', {})).toEqual([])
    expect(JSON.parse(fs.readFileSync(crashed, 'utf8').trim().split('\n').at(-1)!)).toMatchObject({ type: 'end' })
  })

  it('validates the new commands', () => {
    expect(() => validateCommand('recording.diff', { a: 'x' })).toThrow(/params\.b/)
    expect(() => validateCommand('export.preview', { path: 'x', redact: 'yes' })).toThrow(/params\.redact/)
    expect(() => validateCommand('export.save', { path: 'x', format: 'har', redact: true, rules: 'a' })).toThrow(/params\.rules/)
    expect(() => validateCommand('recording.status', { x: 1 })).toThrow(/params\.x/)
  })
})

describe('opened recordings with damage', () => {
  it('says a cut-off last line is incomplete, and keeps the rest', async () => {
    const lines = fs.readFileSync(path.join(FIX, 'v1-home-direct.jsonl'), 'utf8').split('\n').filter(Boolean)
    const cut = path.join(tmp, 'cut.jsonl')
    fs.writeFileSync(cut, lines.slice(0, -1).join('\n') + '\n' + lines.at(-1)!.slice(0, 25))
    const rec = new OpenedRecording('rc', cut)
    for (let i = 0; i < 10 && !rec.done; i++) rec.scanStep()
    expect(rec.done).toBe(true)
    expect(rec.error).toMatch(/last line .* incomplete/)
    expect(rec.eventCount).toBe(lines.length - 2)
    rec.close()
  })

  it('ends the scan with an error when the file cannot be read any more', () => {
    const rec = new OpenedRecording('rd', home)
    rec.close()
    ;(rec as unknown as { closed: boolean }).closed = false
    rec.scanStep()
    expect(rec.done).toBe(true)
    expect(rec.error).toMatch(/reading stopped at byte \d+/)
  })
})
