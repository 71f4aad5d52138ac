// The CLI as a user runs it: real processes, real servers, exit codes and messages.
import { afterEach, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { tmpFile, readBack } from '../fixtures/engine.ts'

const BIN = 'shared/node/cli/bin.mjs'
const servers: Running[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('wiretrace CLI', () => {
  it('--help lists the commands, record --help lists its options', () => {
    const top = cli(['--help'])
    expect(top.status).toBe(0)
    expect(top.stdout).toMatch(/record <url>/)
    const rec = cli(['record', '--help'])
    expect(rec.status).toBe(0)
    expect(rec.stdout).toMatch(/--ping-interval MS/)
    expect(rec.stdout).toMatch(/--no-deflate|--deflate/)
  })

  it.each([
    [['record', 'ws://'], /WT_URL_INVALID: "ws:\/\/" is not a valid URL/],
    [['record', 'ftp://127.0.0.1/'], /WT_SCHEME_UNSUPPORTED: unsupported scheme ftp: use ws, wss, http or https/],
    [['record', 'ws://127.0.0.1:9/', '--ca', '/nonexistent/ca.pem'], /WT_FILE_UNREADABLE: cannot read --ca \/nonexistent\/ca.pem: no such file/],
    [['record', 'ws://127.0.0.1:9/', '--bogus'], /WT_USAGE: unknown option --bogus/],
    [['record', 'ws://127.0.0.1:9/', '--ping-interval', 'soon'], /--ping-interval needs a number/],
    [['record'], /record needs a URL/],
    [['record', 'http://127.0.0.1:9/', '--transport', 'carrier-pigeon'], /--transport must be one of ws, sse, poll, h2, stream/],
    [['record', 'ws://127.0.0.1:9/', '--proxy', 'gopher://p:1'], /WT_PROXY_URL_INVALID: unsupported proxy scheme gopher/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('bad input %j gets exit 2 and a clear message', (args, msg) => {
    const r = cli(args as string[])
    expect(r.stderr).toMatch(msg)
    expect(r.status).toBe(2)
  })

  it('records a session, exits 0, and inspect summarises it', async () => {
    const s = await wsServer((ws) => ws.on('message', (m, b) => ws.send(m, { binary: b })))
    servers.push(s)
    const out = tmpFile()
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'record', s.url, '--send', 'hello', '--send-hex', 'de ad be ef', '--max-messages', '2', '--out', out, '--ping-interval', '50'])
      let stderr = ''
      p.stderr.on('data', (d) => (stderr += d))
      p.on('close', (code) => resolve({ code, stderr }))
    })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/done: 2 in .*recording:/)
    const back = readBack(out)
    const ins = back.events.filter((e) => e.type === 'ws.message' && e.dir === 'in')
    expect(ins.map((e) => (e as { text?: string; base64?: string }).text ?? (e as { base64?: string }).base64)).toEqual(['hello', '3q2+7w=='])
    const insp = cli(['inspect', out])
    expect(insp.status).toBe(0)
    expect(insp.stdout).toMatch(/in: 2 messages/)
    expect(insp.stdout).toMatch(/response 101 Switching Protocols/)
  })

  it('writes NDJSON to stdout with --out -', async () => {
    const s = await wsServer((ws) => ws.send('x'))
    servers.push(s)
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'record', s.url, '-n', '1', '--out', '-', '--quiet'])
      let stdout = ''
      p.stdout.on('data', (d) => (stdout += d))
      p.on('close', (code) => resolve({ code, stdout }))
    })
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines[0].format).toBe('wiretrace')
    expect(lines.at(-1).type).toBe('end')
  })

  it('a failed connection prints a one-line diagnosis and a documented exit status', () => {
    const r = cli(['record', 'ws://127.0.0.1:9/', '--out', tmpFile()])
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^wiretrace: WT_TCP_REFUSED: connection refused by 127\.0\.0\.1:9/)
  })

  it('survives SIGKILL mid-stream: every line before the cut parses, the reader tolerates a torn last line', async () => {
    const s = await wsServer((ws) => {
      let i = 0
      const t = setInterval(() => {
        for (let k = 0; k < 200; k++) ws.send(`message number ${i++} ${'x'.repeat(40)}`)
      }, 1)
      ws.on('close', () => clearInterval(t))
    })
    servers.push(s)
    const out = tmpFile()
    const p = spawn(process.execPath, [BIN, 'record', s.url, '--out', out, '--quiet'])
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (fs.existsSync(out) && fs.statSync(out).size > 3_000_000) {
          clearInterval(poll)
          resolve()
        }
      }, 20)
    })
    p.kill('SIGKILL')
    await new Promise((r) => p.on('close', r))
    const back = readBack(out)
    expect(back.header?.format).toBe('wiretrace')
    // Only a torn last line may be reported, nothing else.
    expect(back.issues.filter((i) => i.code !== 'WT_RECORDING_TRUNCATED')).toEqual([])
    const msgs = back.events.filter((e) => e.type === 'ws.message')
    expect(msgs.length).toBeGreaterThan(5_000)
    // seq has no gap: nothing before the cut was lost.
    back.events.forEach((e, i) => expect(e.seq).toBe(i))
    msgs.forEach((m, i) => expect((m as { text: string }).text.startsWith(`message number ${i} `)).toBe(true))
  })
})
