// The proxy lab (a product feature and our fixture) against real clients: each behaviour
// reproduced, logged, and diagnosed from the events it causes.
import { afterEach, describe, expect, it } from 'vitest'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { makeCa } from '../fixtures/certs.ts'
import { run, start } from '../fixtures/engine.ts'
import { runLab, type Lab } from '../../shared/node/lab/index.ts'
import { dial } from '../../shared/node/net/dial.ts'
import { DEFAULT_LIMITS } from '../../shared/common/limits.ts'
import { Diagnoser, diagnoseIdleClose } from '../../shared/common/diagnose/index.ts'
import type { EventDraft, WiretraceEvent } from '../../shared/common/events/index.ts'
import type { NetworkProfile } from '../../shared/common/spec/index.ts'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c()))
})
async function lab(opts: Parameters<typeof runLab>[0]): Promise<Lab> {
  const l = await runLab(opts)
  cleanup.push(() => l.close())
  return l
}
async function origin(onConn: Parameters<typeof wsServer>[0] = (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin }))): Promise<Running> {
  const s = await wsServer(onConn)
  cleanup.push(() => s.close())
  return s
}
const via = (l: Lab, auth?: { username: string; password: string }, extra: Partial<Extract<NetworkProfile, { mode: 'manual' }>> = {}): NetworkProfile => ({
  mode: 'manual',
  proxy: { kind: 'http', host: '127.0.0.1', port: l.port, ...(auth ? { auth } : {}) },
  ...extra,
})
/** Runs the stream-level Diagnoser over recorded events, as the engine does live. */
function diagnosed(events: WiretraceEvent[]): string[] {
  const d = new Diagnoser('x')
  return events.map((e) => d.observe(e)?.code).filter((c): c is string => !!c)
}

describe('proxy lab', () => {
  it('requires Basic auth: 407 first, then the tunnel, and logs both', async () => {
    const o = await origin()
    const l = await lab({ basicAuth: { user: 'u', pass: 'lab-pass-1' } })
    const r = await run({ url: o.url, transport: 'ws', network: via(l, { username: 'u', password: 'lab-pass-1' }), send: [{ kind: 'text', text: 'hi' }], maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    expect(r.of('proxy.connect').map((c) => c.status)).toEqual([407, 200])
    expect(r.of('proxy.connect')[0]!.bodyPreview).toContain('requires proxy authentication')
    expect(l.log().map((e) => e.event)).toEqual(expect.arrayContaining(['407', 'tunnel']))
  })

  it('refuses CONNECT outside port 443 and the diagnosis says so', async () => {
    const o = await origin()
    const l = await lab({ connectPorts: [443] })
    const r = await run({ url: o.url, transport: 'ws', network: via(l) })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_CONNECT_REFUSED')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_CONNECT_REFUSED')!
    expect(d.explanation).toContain('port 443')
    expect(d.explanation).toContain('not allowed by policy')
    expect(l.log().find((e) => e.event === '403')!.detail).toContain(`port ${o.port}`)
  })

  it('cuts an idle tunnel: the close is abnormal and diagnosed with the silence each way', async () => {
    const o = await origin((ws) => ws.send('hello then silence'))
    const l = await lab({ idleCutMs: 1500 })
    const r = await run({ url: o.url, transport: 'ws', network: via(l), reconnect: { enabled: false } })
    const close = r.of('ws.close').find((c) => c.dir !== 'out')!
    expect(close.code).toBe(1006)
    expect(close.initiator).toBe('network')
    expect(close.sinceLastInMs!).toBeGreaterThanOrEqual(1300)
    const d = diagnoseIdleClose('x', close, { viaProxy: true })!
    expect(d.code).toBe('WT_IDLE_CUT')
    expect(d.title).toMatch(/after about 1\.\d s of silence/)
    expect(diagnosed(r.events)).toContain('WT_IDLE_CUT')
    expect(l.log().some((e) => e.event === 'closed' && e.detail!.startsWith('idle cut after 1500 ms'))).toBe(true)
  })

  it('caps a busy connection\'s lifetime', async () => {
    const o = await origin((ws) => {
      const t = setInterval(() => ws.send('tick'), 100)
      ws.on('close', () => clearInterval(t))
    })
    const l = await lab({ lifetimeMs: 1000 })
    const t0 = Date.now()
    const r = await run({ url: o.url, transport: 'ws', network: via(l), reconnect: { enabled: false } })
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(r.of('ws.message').length).toBeGreaterThan(3)
    expect(r.of('ws.close').find((c) => c.dir !== 'out')!.code).toBe(1006)
    // Busy until the end: not an idle cut.
    expect(diagnosed(r.events)).not.toContain('WT_IDLE_CUT')
    expect(l.log().some((e) => e.detail === 'lifetime cap of 1000 ms reached')).toBe(true)
  })

  it('resets after the first N downstream bytes', async () => {
    const o = await origin((ws) => ws.send('x'.repeat(2000)))
    const l = await lab({ resetAfterBytes: 400 })
    const r = await run({ url: o.url, transport: 'ws', network: via(l), reconnect: { enabled: false } })
    expect(r.of('ws.message')).toHaveLength(0)
    expect(r.end.exitCode).not.toBe(0)
    expect(l.log().some((e) => e.detail === 'reset after the first 400 downstream bytes')).toBe(true)
  })

  it('adds latency both ways', async () => {
    const o = await origin()
    const l = await lab({ latencyMs: 150 })
    const r = start({ url: o.url, transport: 'ws', network: via(l) })
    await r.waitFor('open')
    const t0 = performance.now()
    r.conn.send({ kind: 'text', text: 'ping' })
    await r.waitFor('ws.message', (m) => m.dir === 'in')
    const rtt = performance.now() - t0
    r.conn.close()
    await r.conn.done
    expect(rtt).toBeGreaterThanOrEqual(290)
  })

  it('strips Upgrade from a forwarded request: the origin answers 426', async () => {
    const o = await origin()
    // The ws fixture answers plain GETs on the same server with 426 here.
    const plain = http.createServer((_req, res) => {
      res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' })
      res.end('Upgrade Required')
    })
    await new Promise<void>((res) => plain.listen(0, '127.0.0.1', res))
    cleanup.push(() => new Promise((res) => plain.close(() => res())))
    const port = (plain.address() as net.AddressInfo).port
    const l = await lab({ stripUpgrade: true })
    const s = net.connect(l.port, '127.0.0.1')
    const text = await new Promise<string>((resolve) => {
      let got = ''
      s.on('data', (d) => {
        got += d.toString()
        if (got.includes('Upgrade Required')) resolve(got)
      })
      s.write(`GET http://127.0.0.1:${port}/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    s.destroy()
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 426 Upgrade Required')
    expect(l.log().some((e) => e.event === 'stripped')).toBe(true)
    void o
  })

  it('hostname mismatch through an intercepting proxy: the interceptor signed the CONNECT host, not the name we verify', async () => {
    const ca = makeCa('Mismatch Origin CA')
    const leaf = ca.issue(['localhost', 'api.wiretrace.test'])
    const o = await wsServer((ws) => ws.send('x'), { tls: leaf })
    cleanup.push(() => o.close())
    const l = await lab({ interceptTls: true })
    // The origin's own certificate names api.wiretrace.test; the lab re-signs for "localhost" only.
    const r = await run({ url: o.url.replace('127.0.0.1', 'localhost'), transport: 'ws', tls: { ca: [ca.caCert, l.caCert], servername: 'api.wiretrace.test' }, network: via(l), reconnect: { enabled: false } })
    expect(r.of('error')[0]!.code).toBe('WT_TLS_HOSTNAME')
    expect(r.of('tls')[0]!.chain[0]!.issuer).toContain('Wiretrace Lab Interception CA')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_TLS_HOSTNAME')!
    expect(d.explanation).toContain('Wiretrace Lab Interception CA')
  })

  it('speaks SOCKS4a and SOCKS5 on the same port, with the same policy, credentials and idle cut', async () => {
    const o = await origin()
    const l = await lab({ basicAuth: { user: 's', pass: 'lab-socks-9' } })
    const a = await run({ url: `ws://localhost:${o.port}/`, transport: 'ws', network: { mode: 'manual', proxy: { kind: 'socks4a', host: '127.0.0.1', port: l.port } }, send: [{ kind: 'text', text: '4a' }], maxMessages: 1 })
    expect(a.end.exitCode, JSON.stringify(a.of('error'))).toBe(0)
    expect(a.of('dns').filter((d) => d.target === 'origin').map((d) => d.via)).toEqual(['proxy'])
    expect(a.of('proxy.socks')[0]).toMatchObject({ version: 4, replyText: 'request granted' })
    expect(l.log().some((e) => e.event === 'socks4' && e.detail === `CONNECT localhost:${o.port}`)).toBe(true)
    const bad = await run({ url: o.url, transport: 'ws', network: { mode: 'manual', proxy: { kind: 'socks5h', host: '127.0.0.1', port: l.port, auth: { username: 's', password: 'nope-0' } } }, reconnect: { enabled: false } })
    expect(bad.of('error')[0]!.code).toBe('WT_SOCKS_AUTH')
    l.set({ idleCutMs: 1200, connectPorts: [443] })
    const refused = await run({ url: o.url, transport: 'ws', network: { mode: 'manual', proxy: { kind: 'socks5', host: '127.0.0.1', port: l.port, auth: { username: 's', password: 'lab-socks-9' } } }, reconnect: { enabled: false } })
    expect(refused.of('proxy.socks').at(-1)).toMatchObject({ replyCode: 2, replyText: 'connection not allowed by the proxy rules' })
    l.set({ connectPorts: null })
    const cut = await run({ url: o.url, transport: 'ws', network: { mode: 'manual', proxy: { kind: 'socks5', host: '127.0.0.1', port: l.port, auth: { username: 's', password: 'lab-socks-9' } } }, reconnect: { enabled: false } })
    expect(cut.of('ws.close').find((c) => c.dir !== 'out')!.code).toBe(1006)
    expect(diagnosed(cut.events)).toContain('WT_IDLE_CUT')
  })

  it('intercepts TLS with its CA and drops ALPN h2: both diagnosed', async () => {
    const ca = makeCa('Origin Public-ish CA')
    const leaf = ca.issue(['localhost'])
    const h2 = http2.createSecureServer({ cert: leaf.cert, key: leaf.key, allowHTTP1: true }, (_req, res) => res.end('ok'))
    await new Promise<void>((res) => h2.listen(0, '127.0.0.1', res))
    cleanup.push(() => new Promise((res) => h2.close(() => res())))
    const port = (h2.address() as net.AddressInfo).port
    const l = await lab({ interceptTls: true, dropAlpnH2: true })
    const events: EventDraft[] = []
    const ac = new AbortController()
    const r = await dial(
      { url: new URL(`https://localhost:${port}/`), secure: true, alpn: ['h2', 'http/1.1'], tls: { ca: [l.caCert] }, network: via(l), purpose: 'http', signal: ac.signal },
      { conn: 't', emit: (e) => events.push(e), limits: DEFAULT_LIMITS },
    )
    r.socket.destroy()
    expect(r.alpn).toBe('http/1.1')
    const tls = events.find((e) => e.type === 'tls') as Extract<EventDraft, { type: 'tls' }>
    expect(tls.chain[0]!.issuer).toContain('Wiretrace Lab Interception CA')
    const codes = events.filter((e) => e.type === 'diagnosis').map((e) => (e as { code: string }).code)
    expect(codes).toEqual(['WT_TLS_INTERCEPTED', 'WT_H2_ALPN'])
    await new Promise((res) => setTimeout(res, 50))
    expect(l.log().find((e) => e.event === 'intercepted')?.detail, JSON.stringify(l.log())).toContain('h2 dropped')
    // Without the lab CA trusted, the same path fails and the issuer is named.
    const events2: EventDraft[] = []
    await expect(
      dial({ url: new URL(`https://localhost:${port}/`), secure: true, alpn: ['h2', 'http/1.1'], tls: { ca: [ca.caCert] }, network: via(l), purpose: 'http', signal: ac.signal }, { conn: 't', emit: (e) => events2.push(e), limits: DEFAULT_LIMITS }),
    ).rejects.toMatchObject({ code: 'WT_TLS_UNTRUSTED' })
    const d = events2.find((e) => e.type === 'diagnosis') as Extract<EventDraft, { type: 'diagnosis' }>
    expect(d.code).toBe('WT_TLS_INTERCEPTED')
    expect(d.title).toContain('Wiretrace Lab Interception CA')
    // An h2-only client through the h2-dropping interceptor: no common ALPN, diagnosed, no hang.
    const events3: EventDraft[] = []
    await expect(
      dial({ url: new URL(`https://localhost:${port}/`), secure: true, alpn: ['h2'], tls: { ca: [l.caCert] }, network: via(l), purpose: 'http', signal: ac.signal }, { conn: 't', emit: (e) => events3.push(e), limits: DEFAULT_LIMITS }),
    ).rejects.toMatchObject({ code: 'WT_TLS_HANDSHAKE' })
    expect(events3.filter((e) => e.type === 'diagnosis').map((e) => (e as { code: string }).code)).toEqual(['WT_H2_ALPN'])
  })
})
