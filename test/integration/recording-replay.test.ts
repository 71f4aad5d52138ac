/** Replay against real WebSocket servers on 127.0.0.1: same bytes, original timing or as fast as possible, a new recording. */
import { afterEach, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { Engine } from '../../shared/node/engine/engine.ts'
import { replayCommand } from '../../shared/node/recording/commands.ts'
import { loadRecording } from '../../shared/node/recording/files.ts'
import { planReplay } from '../../shared/node/recording/replay.ts'
import { exportCommand, importCommand } from '../../shared/node/recording/commands.ts'
import zlib from 'node:zlib'
import { tmpDir } from '../fixtures/recordings/helpers.ts'

const servers: Running[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

interface Got {
  data: Buffer
  binary: boolean
  at: number
}

async function sink(): Promise<Running & { got: Got[]; closes: number[] }> {
  const got: Got[] = []
  const closes: number[] = []
  const s = await wsServer((ws) => {
    ws.on('message', (data: Buffer, binary: boolean) => got.push({ data: Buffer.from(data), binary, at: performance.now() }))
    ws.on('close', (code) => closes.push(code))
  })
  servers.push(s)
  return Object.assign(s, { got, closes })
}

const BIN = Buffer.from([0, 255, 1, 254, 0x80, 0xc3])

async function recordSession(url: string, file: string): Promise<void> {
  const engine = new Engine({ recordingsDir: null, host: 'test' })
  const conn = engine.open({ url, transport: 'ws', ws: { deflate: false }, headers: [['Authorization', 'Bearer s3cret'], ['X-Keep', 'yes']], statsIntervalMs: 0 }, { recordingPath: file })
  await new Promise<void>((r) => {
    const off = engine.onEvent((ev) => {
      if (ev.conn === conn.id && ev.type === 'open') {
        off()
        r()
      }
    })
  })
  conn.send({ kind: 'text', text: 'one ☃' })
  conn.send({ kind: 'binary', base64: BIN.toString('base64') })
  await new Promise((r) => setTimeout(r, 300))
  conn.send({ kind: 'text', text: '{"two":2}' })
  await new Promise((r) => setTimeout(r, 50))
  conn.close(4001, 'bye')
  await conn.done
  await engine.shutdown()
}

describe('a real engine recording', () => {
  it('round-trips native -> HAR -> native with every event equal and messages byte-exact; native export is the same bytes', async () => {
    const dir = tmpDir()
    const a = await sink()
    const file = path.join(dir, 'orig.jsonl')
    await recordSession(a.url, file)
    await exportCommand(file, { format: 'har', redact: false, out: path.join(dir, 'x.har') })
    await importCommand(path.join(dir, 'x.har'), { out: path.join(dir, 'back.jsonl') })
    const orig = await loadRecording(file)
    const back = await loadRecording(path.join(dir, 'back.jsonl'))
    expect(back.header).toEqual(orig.header)
    expect(back.events).toEqual(orig.events)
    expect(orig.events.filter((e) => e.type === 'ws.message').length).toBe(3)
    await exportCommand(file, { format: 'native', redact: false, out: path.join(dir, 'x.wtrace.gz') })
    expect(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'x.wtrace.gz'))).equals(fs.readFileSync(file))).toBe(true)
    const red = await exportCommand(file, { format: 'native', out: path.join(dir, 'r.wtrace.gz') })
    expect(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'r.wtrace.gz'))).toString()).not.toContain('s3cret')
    // The engine already redacted Authorization while recording; export does not count it twice.
    expect(fs.readFileSync(file, 'utf8')).toContain('Bearer [redacted]')
    expect(red.result.manifest.entries.some((e) => e.where.includes('authorization'))).toBe(false)
    expect(red.result.manifest.redacted).toBe(true)
  }, 20_000)
})

describe('replay', () => {
  it('sends the same bytes with the original timing to another target, and records a new recording', async () => {
    const dir = tmpDir()
    const a = await sink()
    const file = path.join(dir, 'orig.jsonl')
    await recordSession(a.url, file)
    expect(a.got.map((g) => g.data.toString('hex'))).toEqual([Buffer.from('one ☃').toString('hex'), BIN.toString('hex'), Buffer.from('{"two":2}').toString('hex')])

    const b = await sink()
    const r = await replayCommand(file, { target: b.url })
    expect(r.result.opened).toBe(true)
    expect(r.result.sent).toBe(4) // three messages and the close
    expect(b.got.map((g) => [g.data.toString('hex'), g.binary])).toEqual(a.got.map((g) => [g.data.toString('hex'), g.binary]))
    const gap = b.got[2]!.at - b.got[1]!.at
    expect(gap).toBeGreaterThan(200) // the recorded 300 ms pause, kept
    await new Promise((res) => setTimeout(res, 50))
    expect(b.closes).toEqual([4001])
    expect(r.text).toContain('header Authorization was redacted')
    expect(fs.existsSync(r.result.recording)).toBe(true)
    const rec = await loadRecording(r.result.recording)
    expect(rec.header.connections[0]!.url).toBe(b.url)
    const outs = rec.events.filter((e) => e.type === 'ws.message' && e.dir === 'out')
    const orig = (await loadRecording(file)).events.filter((e) => e.type === 'ws.message' && e.dir === 'out')
    expect(outs.map((e) => [(e as { text?: string }).text, (e as { base64?: string }).base64])).toEqual(orig.map((e) => [(e as { text?: string }).text, (e as { base64?: string }).base64]))
    const req = rec.events.find((e) => e.type === 'http.request') as { headers: Array<[string, string]> }
    expect(req.headers.map(([k]) => k.toLowerCase())).toContain('x-keep')
    expect(req.headers.map(([k]) => k.toLowerCase())).not.toContain('authorization')
  }, 20_000)

  it('--as-fast sends without the pauses', async () => {
    const dir = tmpDir()
    const a = await sink()
    const file = path.join(dir, 'orig.jsonl')
    await recordSession(a.url, file)
    const b = await sink()
    const r = await replayCommand(file, { target: b.url, asFast: true, out: path.join(dir, 'fast.jsonl') })
    expect(r.exitCode).toBe(0)
    expect(b.got).toHaveLength(3)
    expect(b.got[2]!.at - b.got[0]!.at).toBeLessThan(150)
    expect(r.result.recording).toBe(path.join(dir, 'fast.jsonl'))
  }, 20_000)

  it('a target that refuses gives a finished recording with the error, not a hang', async () => {
    const dir = tmpDir()
    const a = await sink()
    const file = path.join(dir, 'orig.jsonl')
    await recordSession(a.url, file)
    const b = await sink()
    const port = b.port
    await b.close()
    servers.splice(servers.indexOf(b), 1)
    const r = await replayCommand(file, { target: `ws://127.0.0.1:${port}/`, asFast: true, out: path.join(dir, 'refused.jsonl') })
    expect(r.result.opened).toBe(false)
    expect(r.exitCode).not.toBe(0)
    const rec = await loadRecording(r.result.recording)
    expect(rec.events.some((e) => e.type === 'error')).toBe(true)
    expect(rec.events.at(-1)!.type).toBe('end')
  }, 20_000)

  it('plans proxies and strips what was redacted', () => {
    const plan = planReplay(
      [{ seq: 0, ts: 1, conn: 'c', type: 'conn.start', spec: { url: 'ws://h/?token=%5Bredacted%5D', transport: 'ws', headers: [['Cookie', '[redacted]']] } }] as never,
      [],
      { proxy: 'socks5h://127.0.0.1:1080' },
    )
    expect(plan.spec.network).toMatchObject({ mode: 'manual', proxy: { kind: 'socks5h', host: '127.0.0.1', port: 1080 } })
    expect(plan.spec.headers).toEqual([])
    expect(plan.warnings.join(' ')).toMatch(/URL contains redacted parts/)
  })

  it('drops the recorded profile\'s origin CAs ([pem]) with a warning, keeping its file names and switches', () => {
    const network = { mode: 'direct', name: 'Office', originTls: { ca: ['[pem]'], caFiles: ['/etc/ssl/corp.pem'], insecure: true } }
    const plan = planReplay([{ seq: 0, ts: 1, conn: 'c', type: 'conn.start', spec: { url: 'wss://h/', transport: 'ws', network } }] as never, [])
    expect(plan.spec.network).toEqual({ mode: 'direct', name: 'Office', originTls: { caFiles: ['/etc/ssl/corp.pem'], insecure: true } })
    expect(plan.warnings.join(' ')).toMatch(/origin CA certificates are not in the recording/)
    expect(network.originTls.ca).toEqual(['[pem]'])
  })
})
