// Files the host reads because a command named them (a PAC file, proxy CA/cert/key files): every
// spec's network is checked in depth, the names must look like what they are, what a PAC file
// throws never quotes the file, and reading it is bounded (size, kind of file, time, how many at once).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ParamError, validateCommand } from '../../shared/common/protocol/validate.ts'
import { evaluatePac, loadPacScript } from '../../shared/node/net/pac/index.ts'
import { HostAdapter } from '../../shared/node/hosts/adapter.ts'
import { Engine } from '../../shared/node/engine/engine.ts'
import type { NetworkProfile } from '../../shared/common/spec/index.ts'
import { WiretraceError } from '../../shared/common/errors/index.ts'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { run } from '../fixtures/engine.ts'

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-hostfiles-'))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The WT_USAGE message a command is refused with ('' when it is accepted). */
function refusal(cmd: string, params: unknown): string {
  try {
    validateCommand(cmd, params)
    return ''
  } catch (e) {
    expect(e).toBeInstanceOf(ParamError)
    return (e as Error).message
  }
}

const spec = (network: unknown): unknown => ({ url: 'wss://h.test/', transport: 'ws', ...(network === undefined ? {} : { network }) })
const open = (network: unknown): [string, unknown] => ['session.open', { spec: spec(network) }]
const save = (network: unknown): [string, unknown] => ['targets.save', { target: { name: 't', spec: spec(network) } }]

describe('session.open and targets.save check the spec\'s network in depth', () => {
  it.each([open, save])('refuses relative file paths and unknown network fields (%#)', (cmd) => {
    expect(refusal(...cmd({ mode: 'pac', pacFile: 'dotenv' }))).toMatch(/spec\.network\.pacFile: must be an absolute path/)
    expect(refusal(...cmd({ mode: 'manual', proxy: { kind: 'https', host: 'p', port: 443 }, proxyTls: { caFiles: ['rel/x.pem'] } }))).toMatch(/spec\.network\.proxyTls\.caFiles\[0\]: must be an absolute path/)
    expect(refusal(...cmd({ mode: 'direct', exfil: '/etc/passwd' }))).toMatch(/spec\.network\.exfil: unknown parameter/)
    expect(refusal(...cmd({ mode: 'carrier-pigeon' }))).toMatch(/spec\.network\.mode: must be one of/)
    expect(refusal(...cmd({ mode: 'pac', pacFile: path.join(dir, 'proxy.pac') }))).toBe('')
    expect(refusal(...cmd(undefined))).toBe('')
  })
})

describe('file names the host accepts from a command', () => {
  const abs = (name: string): string => path.join(dir, name)
  it('a PAC file must be named .pac, .js or .dat (wpad.dat), a file: PAC URL too', () => {
    for (const ok of ['proxy.pac', 'PROXY.PAC', 'corp.js', 'wpad.dat']) expect(refusal(...open({ mode: 'pac', pacFile: abs(ok) })), ok).toBe('')
    for (const bad of ['.env', 'id_rsa', 'config.json', 'proxy.pac.bak', 'pac']) {
      expect(refusal(...open({ mode: 'pac', pacFile: abs(bad) })), bad).toMatch(/spec\.network\.pacFile: .*\.pac, \.js or \.dat/)
    }
    expect(refusal('proxy.resolve', { url: 'wss://h.test/', network: { mode: 'pac', pacUrl: 'file:///home/u/.env' } })).toMatch(/params\.network\.pacUrl: .*\.pac, \.js or \.dat/)
    expect(refusal('proxy.resolve', { url: 'wss://h.test/', network: { mode: 'pac', pacUrl: 'file:///etc/wpad.dat' } })).toBe('')
    expect(refusal('proxy.resolve', { url: 'wss://h.test/', network: { mode: 'pac', pacUrl: 'http://wpad/anything' } })).toBe('')
  })
  it('proxy CA, certificate and key files must look like PEM files (.pem, .crt, .cer, .key)', () => {
    const tls = (proxyTls: unknown): unknown => ({ mode: 'manual', proxy: { kind: 'https', host: 'p', port: 443 }, proxyTls })
    expect(refusal(...open(tls({ caFiles: [abs('ca.pem'), abs('corp.CRT'), abs('x.cer')], certFile: abs('c.crt'), keyFile: abs('c.key') })))).toBe('')
    expect(refusal(...open(tls({ caFiles: [abs('ca.pem'), '/etc/shadow'] })))).toMatch(/spec\.network\.proxyTls\.caFiles\[1\]: .*\.pem, \.crt, \.cer or \.key/)
    expect(refusal(...open(tls({ certFile: abs('c.pem'), keyFile: '/home/u/.ssh/id_ed25519' })))).toMatch(/spec\.network\.proxyTls\.keyFile: .*\.pem, \.crt, \.cer or \.key/)
    expect(refusal('profiles.save', { profile: { name: 'x', network: tls({ certFile: '/home/u/.env', key: 'PEM' }) } })).toMatch(/params\.profile\.network\.proxyTls\.certFile: /)
    // TLS to the origin, in every mode: the same rule.
    expect(refusal(...open({ mode: 'direct', originTls: { caFiles: [abs('corp.pem')], osCaStore: true } }))).toBe('')
    expect(refusal(...open({ mode: 'direct', originTls: { caFiles: ['/etc/shadow'] } }))).toMatch(/spec\.network\.originTls\.caFiles\[0\]: .*\.pem, \.crt, \.cer or \.key/)
    expect(refusal(...save({ mode: 'env', originTls: { caFiles: ['rel.pem'] } }))).toMatch(/spec\.network\.originTls\.caFiles\[0\]: must be an absolute path/)
  })
})

const SECRET = 's3cr3tValue123'
const SECRET2 = 'defSecret9'

describe('what a PAC file throws never quotes the file', () => {
  const url = new URL('wss://app.test/')
  it('a file-sourced script that throws is reported by error name and line:column only', async () => {
    const env = path.join(dir, 'env.pac')
    fs.writeFileSync(env, `// comment\nAPI_KEY=${SECRET}\n`)
    const loaded = await loadPacScript({ pacFile: env }, AbortSignal.timeout(5000))
    expect(loaded.fromFile).toBe(true)
    const e = (await evaluatePac(loaded.script, url, undefined, { fromFile: true }).catch((x: unknown) => x)) as WiretraceError
    expect(e).toBeInstanceOf(WiretraceError)
    expect(e.code).toBe('WT_PAC_ERROR')
    expect(e.message).toMatch(/ReferenceError at line 2:1/)
    expect(JSON.stringify(e.toJSON())).not.toContain(SECRET)
    const syntax = (await evaluatePac(`DB_PASSWORD=abc ${SECRET2}`, url, undefined, { fromFile: true }).catch((x: unknown) => x)) as WiretraceError
    expect(syntax.message).toMatch(/SyntaxError at line 1:17/)
    expect(JSON.stringify(syntax.toJSON())).not.toContain(SECRET2)
    // The engine's own messages stay: no FindProxyForURL, a result of the wrong type.
    await expect(evaluatePac('var x = 1', url, undefined, { fromFile: true })).rejects.toThrow(/no FindProxyForURL/)
    await expect(evaluatePac('function FindProxyForURL() { return {} }', url, undefined, { fromFile: true })).rejects.toThrow(/returned a object/)
    // An inline script (the user typed it) keeps its message.
    await expect(evaluatePac(`x = ${SECRET}`, url)).rejects.toThrow(new RegExp(SECRET))
  })

  it('neither proxy.resolve, nor the route, diagnosis or recording of a connection quote it', async () => {
    const env = path.join(dir, 'dotenv.pac')
    fs.writeFileSync(env, `API_KEY=${SECRET}\n`)
    const engine = new Engine({ recordingsDir: null, host: 'test' })
    const a = new HostAdapter({ engine, host: 'test', targetsFile: null })
    try {
      for (const network of [{ mode: 'pac', pacFile: env }, { mode: 'pac', pacUrl: `file://${env}` }]) {
        const r = await a.dispatch('proxy.resolve', { url: 'wss://app.test/', network })
        expect(r).toMatchObject({ ok: true, result: { routes: ['DIRECT'], error: { code: 'WT_PAC_ERROR', message: expect.stringMatching(/ReferenceError at line 1:1/) } } })
        expect(JSON.stringify(r)).not.toContain(SECRET)
      }
    } finally {
      await a.close()
      await engine.shutdown()
    }
    const origin: Running = await wsServer((ws) => ws.send('hi'))
    try {
      const r = await run({ url: origin.url, transport: 'ws', network: { mode: 'pac', pacFile: env } as NetworkProfile, maxMessages: 1 })
      expect(r.of('proxy.rule')[0]).toMatchObject({ chosen: 'DIRECT', detail: expect.stringMatching(/ReferenceError at line 1:1/) })
      expect(r.of('diagnosis').map((d) => d.code)).toContain('WT_PAC_ERROR')
      expect(JSON.stringify(r.events)).not.toContain(SECRET)
      expect(fs.readFileSync(r.file, 'utf8')).not.toContain(SECRET)
      await r.engine.shutdown()
    } finally {
      await origin.close()
    }
  })
})

describe('reading a PAC file is bounded', () => {
  const sig = (): AbortSignal => AbortSignal.timeout(10_000)
  it('refuses what is not a regular file (a FIFO, a device, a directory) at once', async () => {
    const fifo = path.join(dir, 'fifo.pac')
    execFileSync('mkfifo', [fifo])
    for (const f of [fifo, '/dev/zero', dir]) {
      const t0 = Date.now()
      const e = await loadPacScript({ pacFile: f }, sig(), { timeoutMs: 3000 }).catch((x: unknown) => x)
      expect(e, f).toMatchObject({ code: 'WT_PAC_ERROR', message: expect.stringMatching(/is not a regular file/) })
      expect(Date.now() - t0, f).toBeLessThan(1000)
    }
  })
  it('refuses a file over the size limit, and honours the abort signal', async () => {
    const big = path.join(dir, 'big.pac')
    fs.writeFileSync(big, Buffer.alloc(4096, 0x20))
    await expect(loadPacScript({ pacFile: big }, sig(), { maxScriptBytes: 1000 })).rejects.toMatchObject({ code: 'WT_PAC_ERROR', detail: { reason: 'size' } })
    const ok = path.join(dir, 'ok.pac')
    fs.writeFileSync(ok, 'function FindProxyForURL() { return "DIRECT" }')
    expect((await loadPacScript({ pacFile: ok }, sig())).script).toContain('FindProxyForURL')
    await expect(loadPacScript({ pacFile: ok }, AbortSignal.abort())).rejects.toMatchObject({ code: 'WT_PAC_ERROR', message: expect.stringMatching(/cancelled/) })
  })
  it('proxy.resolve runs at most 4 PAC evaluations at once; beyond that it answers a coded error', async () => {
    const engine = new Engine({ recordingsDir: null, host: 'test' })
    const a = new HostAdapter({ engine, host: 'test', targetsFile: null })
    try {
      const network = { mode: 'pac', pacScript: 'function FindProxyForURL() { return "PROXY p:1" }' }
      const answers = await Promise.all(Array.from({ length: 6 }, () => a.dispatch('proxy.resolve', { url: 'wss://app.test/', network })))
      const busy = answers.filter((r) => JSON.stringify(r).includes('"reason":"busy"'))
      expect(busy).toHaveLength(2)
      expect(busy[0]).toMatchObject({ ok: true, result: { routes: [], error: { code: 'WT_PAC_ERROR', message: expect.stringMatching(/at most 4/) } } })
      expect(answers.filter((r) => JSON.stringify(r).includes('"routes":["http://p:1"]'))).toHaveLength(4)
      // Once they are done, the next one runs.
      expect(await a.dispatch('proxy.resolve', { url: 'wss://app.test/', network })).toMatchObject({ ok: true, result: { routes: ['http://p:1'] } })
    } finally {
      await a.close()
      await engine.shutdown()
    }
  })
})
