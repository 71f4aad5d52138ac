// Route rules for real connections: PAC results tried in order (a dead proxy falls through to
// the next), hostile PAC files (loop, memory bomb) stopped and reported, the environment
// variables curl reads, NO_PROXY, and the system answer the desktop host fills in.
import { afterEach, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { run } from '../fixtures/engine.ts'
import { freePort } from '../fixtures/proxies/index.ts'
import { runLab, type Lab } from '../../shared/node/lab/index.ts'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c()))
})
async function echo(): Promise<Running> {
  const s = await wsServer((ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })))
  cleanup.push(() => s.close())
  return s
}
async function lab(): Promise<Lab> {
  const l = await runLab({})
  cleanup.push(() => l.close())
  return l
}

describe('PAC', () => {
  it('tries "PROXY dead; PROXY lab; DIRECT" in order and records why each was chosen', async () => {
    const o = await echo()
    const l = await lab()
    const dead = await freePort()
    const pac = `function FindProxyForURL(url, host) {
      if (isPlainHostName(host) || !shExpMatch(url, "ws://127.0.0.1:*")) return "DIRECT";
      return "PROXY 127.0.0.1:${dead}; PROXY 127.0.0.1:${l.port}; DIRECT";
    }`
    const r = await run({ url: o.url, transport: 'ws', network: { mode: 'pac', pacScript: pac }, send: [{ kind: 'text', text: 'pac' }], maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    const rules = r.of('proxy.rule')
    expect(rules.map((x) => x.chosen)).toEqual([`http://127.0.0.1:${dead}`, `http://127.0.0.1:${l.port}`])
    expect(rules[0]!.source).toBe('pac')
    expect(rules[0]!.rule).toContain(`PROXY 127.0.0.1:${dead}; PROXY 127.0.0.1:${l.port}; DIRECT`)
    expect(rules[0]!.fallbacks).toEqual([`http://127.0.0.1:${l.port}`, 'DIRECT'])
    expect(r.of('note').some((n) => n.text.includes('trying'))).toBe(true)
    expect(l.log().some((e) => e.event === 'tunnel')).toBe(true)
  })

  it('loads the PAC file from a URL and from a file', async () => {
    const o = await echo()
    const l = await lab()
    const script = `function FindProxyForURL(u, h) { return "PROXY 127.0.0.1:${l.port}" }`
    const srv = http.createServer((_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ns-proxy-autoconfig' })
      res.end(script)
    })
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
    cleanup.push(() => new Promise((res) => srv.close(() => res())))
    const pacUrl = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/proxy.pac`
    const a = await run({ url: o.url, transport: 'ws', network: { mode: 'pac', pacUrl }, send: [{ kind: 'text', text: 'u' }], maxMessages: 1 })
    expect(a.end.exitCode).toBe(0)
    expect(a.of('proxy.rule')[0]!.chosen).toBe(`http://127.0.0.1:${l.port}`)
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wt-pac-')), 'proxy.pac')
    fs.writeFileSync(file, script)
    const b = await run({ url: o.url, transport: 'ws', network: { mode: 'pac', pacFile: file }, send: [{ kind: 'text', text: 'f' }], maxMessages: 1 })
    expect(b.end.exitCode).toBe(0)
    expect(b.of('proxy.rule')[0]!.chosen).toBe(`http://127.0.0.1:${l.port}`)
  })

  it('stops an infinite loop and a memory bomb, reports them, and falls back to DIRECT', async () => {
    const o = await echo()
    for (const [script, code] of [
      ['function FindProxyForURL(u, h) { for (;;) {} }', 'WT_PAC_TIMEOUT'],
      ['function FindProxyForURL(u, h) { var a = []; for (;;) a.push(new Array(1e6).fill(u)) }', 'WT_PAC_ERROR'],
    ] as const) {
      const t0 = Date.now()
      const r = await run({ url: o.url, transport: 'ws', network: { mode: 'pac', pacScript: script, timeoutMs: 1000 }, send: [{ kind: 'text', text: 'x' }], maxMessages: 1 })
      expect(Date.now() - t0).toBeLessThan(8000)
      expect(r.end.exitCode, JSON.stringify(r.events.slice(0, 8))).toBe(0)
      const rule = r.of('proxy.rule')[0]!
      expect(rule.chosen).toBe('DIRECT')
      expect(rule.rule).toContain(code)
      const d = r.of('diagnosis').find((x) => x.code === code)!
      expect(d.severity).toBe('warning')
    }
  })

  it('fails instead when the profile says onPacError: fail', async () => {
    const o = await echo()
    const network = { mode: 'pac', pacScript: 'function FindProxyForURL() { throw new Error("broken pac") }', onPacError: 'fail' } as never
    const r = await run({ url: o.url, transport: 'ws', network, reconnect: { enabled: false } })
    expect(r.of('error')[0]!.code).toBe('WT_PAC_ERROR')
    expect(r.of('error')[0]!.message).toContain('broken pac')
    expect(r.of('diagnosis').find((x) => x.code === 'WT_PAC_ERROR')!.severity).toBe('error')
  })
})

describe('a proxy that never answers', () => {
  it('times out in the proxy phase with a diagnosis, not a hang', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((s) => {
      sockets.add(s)
      s.on('error', () => undefined)
    })
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res))
    cleanup.push(() => new Promise((res) => {
      for (const s of sockets) s.destroy()
      silent.close(() => res())
    }))
    const port = (silent.address() as net.AddressInfo).port
    const t0 = Date.now()
    const r = await run({ url: 'ws://127.0.0.1:9/', transport: 'ws', network: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port } }, limits: { connectTimeoutMs: 600 }, reconnect: { enabled: false } })
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(r.of('error')[0]).toMatchObject({ code: 'WT_CONNECT_TIMEOUT', phase: 'proxy' })
    expect(r.of('diagnosis').find((d) => d.code === 'WT_CONNECT_TIMEOUT')!.title).toBe(`The proxy http://127.0.0.1:${port} did not answer in time`)
  })
})

describe('environment and system', () => {
  it('uses ws_proxy for ws:// (as curl does) and honours NO_PROXY', async () => {
    const o = await echo()
    const l = await lab()
    const env = { ws_proxy: `http://127.0.0.1:${l.port}`, NO_PROXY: 'example.test' }
    const a = await run({ url: o.url, transport: 'ws', network: { mode: 'env', env }, send: [{ kind: 'text', text: 'e' }], maxMessages: 1 })
    expect(a.end.exitCode).toBe(0)
    expect(a.of('proxy.rule')[0]).toMatchObject({ source: 'env', rule: 'ws_proxy', chosen: `http://127.0.0.1:${l.port}` })
    const b = await run({ url: o.url, transport: 'ws', network: { mode: 'env', env: { ...env, NO_PROXY: '127.0.0.0/8' } }, send: [{ kind: 'text', text: 'e' }], maxMessages: 1 })
    expect(b.end.exitCode).toBe(0)
    expect(b.of('proxy.rule')[0]).toMatchObject({ source: 'env', chosen: 'DIRECT', rule: 'NO_PROXY=127.0.0.0/8' })
    expect(b.of('tcp')[0]!.target).toBe('origin')
  })

  it('reports a malformed proxy variable with its name', async () => {
    const o = await echo()
    const r = await run({ url: o.url, transport: 'ws', network: { mode: 'env', env: { all_proxy: 'ftp://nope:21' } }, reconnect: { enabled: false } })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_ENV_INVALID')
    expect(r.of('error')[0]!.message).toContain('all_proxy')
  })

  it('follows the system answer the desktop host resolved', async () => {
    const o = await echo()
    const l = await lab()
    const r = await run({ url: o.url, transport: 'ws', network: { mode: 'system', resolved: `PROXY 127.0.0.1:${l.port}; DIRECT` }, send: [{ kind: 'text', text: 's' }], maxMessages: 1 })
    expect(r.end.exitCode).toBe(0)
    expect(r.of('proxy.rule')[0]).toMatchObject({ source: 'system', chosen: `http://127.0.0.1:${l.port}`, fallbacks: ['DIRECT'] })
  })
})
