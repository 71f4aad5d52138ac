// Every transport through every kind of proxy it supports, on real proxies: SSE, long-poll,
// HTTP/2 and raw streams through squid (CONNECT and forward), tinyproxy, dante (SOCKS5h) and
// the lab; WebSocket through tinyproxy and behind nginx (defaults strip Upgrade). The proxy hop
// must be visible in each recording.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import { WebSocketServer } from 'ws'
import { startHttpFixture, type HttpFixture } from '../fixtures/servers/http.ts'
import { startH2Fixture, type H2Fixture } from '../fixtures/servers/http2.ts'
import { makeCa, type TestCa } from '../fixtures/certs.ts'
import { run } from '../fixtures/engine.ts'
import { peers, startDante, startNginx, startSquid, startTinyproxy, type RunningProxy } from '../fixtures/proxies/index.ts'
import { runLab } from '../../shared/node/lab/index.ts'
import { Diagnoser } from '../../shared/common/diagnose/index.ts'
import type { NetworkProfile, ProxyKind } from '../../shared/common/spec/index.ts'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c()))
})
async function keep<T extends { close?: () => Promise<void>; stop?: () => Promise<void> }>(p: Promise<T>): Promise<T> {
  const x = await p
  cleanup.push(() => (x.close ? x.close() : x.stop!()))
  return x
}
const manual = (kind: ProxyKind, port: number, httpMode?: 'connect' | 'forward'): NetworkProfile => ({
  mode: 'manual',
  proxy: { kind, host: '127.0.0.1', port },
  ...(httpMode ? { httpMode } : {}),
})
function diagnosed(events: WiretraceEvent[]): string[] {
  const d = new Diagnoser('x')
  return events.map((e) => d.observe(e)?.code).filter((c): c is string => !!c)
}

const haveSquid = peers('squid')
const haveTiny = peers('tinyproxy')
const haveDante = peers('danted')
const haveNginx = peers('nginx')

describe.skipIf(!haveSquid.ok || !haveTiny.ok || !haveDante.ok)('SSE, long-poll and streams through proxies', () => {
  let f: HttpFixture
  beforeAll(async () => {
    f = await startHttpFixture()
    return () => f.close()
  })

  const cases: Array<[string, () => Promise<RunningProxy>, ProxyKind, 'connect' | 'forward' | undefined]> = [
    ['squid CONNECT', () => startSquid(), 'http', 'connect'],
    ['squid forward', () => startSquid(), 'http', 'forward'],
    ['tinyproxy CONNECT', () => startTinyproxy(), 'http', 'connect'],
    ['tinyproxy forward', () => startTinyproxy(), 'http', 'forward'],
    ['dante socks5h', () => startDante(), 'socks5h', undefined],
  ]
  for (const [name, startProxy, kind, mode] of cases) {
    it(`SSE through ${name}`, async () => {
      const p = await keep(startProxy())
      const r = await run({ url: `${f.url.replace('127.0.0.1', 'localhost')}/sse/events?n=3&close=0`, transport: 'sse', network: manual(kind, p.port, mode), maxMessages: 3 })
      expect(r.end.exitCode, JSON.stringify(r.of('error')) + p.log().slice(-800)).toBe(0)
      expect(r.of('sse.event').map((e) => e.data)).toEqual(['event 1', 'event 2', 'event 3'])
      expect(r.of('tcp')[0]!.target).toBe('proxy')
      expect(r.of('proxy.rule')[0]!.chosen).toBe(`${kind}://127.0.0.1:${p.port}`)
      if (mode === 'connect') expect(r.of('proxy.connect')[0]!.status).toBe(200)
      if (mode === 'forward') {
        expect(r.of('proxy.connect')).toHaveLength(0)
        expect(r.of('proxy.rule')[0]!.detail).toContain('forward')
        // The proxy, not the origin, answered the TCP connection, and says so.
        const via = r.of('http.response')[0]!.headers.filter(([k]) => k.toLowerCase() === 'via')
        expect(via.length).toBeGreaterThan(0)
      }
      if (kind === 'socks5h') expect(r.of('proxy.socks').at(-1)!.replyText).toBe('succeeded')
    })
  }

  it('long-poll through squid in forward mode (absolute-URI requests)', async () => {
    const p = await keep(startSquid())
    const r = await run({ url: `${f.url}/poll?hold=10`, transport: 'poll', network: manual('http', p.port, 'forward'), poll: { maxCycles: 3 } })
    expect(r.end.exitCode, JSON.stringify(r.of('error')) + p.log().slice(-800)).toBe(0)
    expect(r.of('poll.cycle').length).toBeGreaterThanOrEqual(3)
    await new Promise((res) => setTimeout(res, 100))
    expect(p.log()).toMatch(new RegExp(`GET http://127.0.0.1:${f.port}/poll`))
  })

  it('a raw stream through SOCKS5', async () => {
    const p = await keep(startDante())
    const r = await run({ url: `${f.url}/stream/ndjson?n=4&gap=5`, transport: 'stream', network: manual('socks5', p.port) })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    expect(r.of('proxy.socks').at(-1)!.replyCode).toBe(0)
    expect(r.of('stream.line').length + r.of('stream.data').length).toBeGreaterThan(0)
  })

  it('the lab buffering a stream until the end: lines spread over time arrive in one burst', async () => {
    const l = await runLab({ bufferBytes: 64 * 1024 })
    cleanup.push(() => l.close())
    const url = `${f.url}/stream/ndjson?n=5&gap=150`
    const direct = await run({ url, transport: 'stream' })
    const held = await run({ url, transport: 'stream', network: manual('http', l.port) })
    expect(held.end.exitCode, JSON.stringify(held.of('error'))).toBe(0)
    const spread = (evs: WiretraceEvent[]): number => (evs.length ? evs[evs.length - 1]!.ts - evs[0]!.ts : 0)
    const dChunks = direct.of('chunk')
    const hChunks = held.of('chunk')
    expect(spread(dChunks)).toBeGreaterThan(400)
    expect(spread(hChunks)).toBeLessThan(100)
    expect(l.log().some((e) => e.event === 'flushed' && e.detail!.includes('at the end'))).toBe(true)
  })
})

describe.skipIf(!haveSquid.ok)('HTTP/2 through proxies', () => {
  let ca: TestCa
  let leaf: { cert: string; key: string }
  beforeAll(() => {
    ca = makeCa('H2 Origin CA')
    leaf = ca.issue(['localhost', '127.0.0.1'])
  })

  it('h2 over TLS through a squid CONNECT tunnel keeps ALPN h2', async () => {
    const h2 = await keep<H2Fixture>(startH2Fixture({ secure: true, ...leaf }))
    const p = await keep(startSquid())
    const r = await run({ url: `${h2.url}/small`, transport: 'h2', tls: { ca: [ca.caCert] }, network: manual('http', p.port) })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    expect(r.of('proxy.connect')[0]!.status).toBe(200)
    expect(r.of('tls')[0]!.alpn).toBe('h2')
  })

  it('h2c through SOCKS5 and through a plain HTTP proxy tunnel (never forwarded)', async () => {
    const h2 = await keep<H2Fixture>(startH2Fixture({ secure: false }))
    const d = await keep(startDante())
    const a = await run({ url: `${h2.url}/small`, transport: 'h2', network: manual('socks5', d.port) })
    expect(a.end.exitCode, JSON.stringify(a.of('error'))).toBe(0)
    const p = await keep(startSquid())
    const b = await run({ url: `${h2.url}/small`, transport: 'h2', network: manual('http', p.port, 'forward') })
    expect(b.end.exitCode, JSON.stringify(b.of('error'))).toBe(0)
    expect(b.of('proxy.connect')[0]!.requestLine).toMatch(/^CONNECT /)
  })

  it('an intercepting proxy that drops h2: reported, never a hang', async () => {
    // An origin that also speaks HTTP/1.1, as most do: the interceptor talks 1.1 to it.
    const srv = http2.createSecureServer({ ...leaf, allowHTTP1: true }, (_req, res) => res.end('ok'))
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
    cleanup.push(() => new Promise((res) => srv.close(() => res())))
    const h2 = { url: `https://127.0.0.1:${(srv.address() as net.AddressInfo).port}` }
    const l = await runLab({ interceptTls: true, dropAlpnH2: true })
    cleanup.push(() => l.close())
    const t0 = Date.now()
    const r = await run({ url: `${h2.url.replace('127.0.0.1', 'localhost')}/small`, transport: 'h2', tls: { ca: [l.caCert] }, network: manual('http', l.port), reconnect: { enabled: false } })
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(r.end.exitCode).not.toBe(0)
    const codes = r.of('diagnosis').map((x) => x.code)
    expect(codes).toContain('WT_TLS_INTERCEPTED')
    expect(codes).toContain('WT_H2_ALPN')
  })
})

/** An origin that speaks WebSocket on upgrade and answers plain GETs with 426, like real servers. */
async function wsOrigin(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' })
    res.end('Upgrade Required')
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })))
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((res) => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        server.closeAllConnections()
        server.close(() => res())
      }),
  }
}

describe.skipIf(!haveTiny.ok || !haveNginx.ok)('WebSocket through tinyproxy and nginx', () => {
  it('tinyproxy: CONNECT tunnel, and Basic auth answered', async () => {
    const o = await keep(wsOrigin())
    const p = await keep(startTinyproxy({ basicAuth: { user: 'tp', pass: 'tiny-Pa55' } }))
    const r = await run({ url: `ws://127.0.0.1:${o.port}/`, transport: 'ws', network: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: p.port, auth: { username: 'tp', password: 'tiny-Pa55' } } }, send: [{ kind: 'text', text: 'tiny' }], maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error')) + p.log().slice(-800)).toBe(0)
    expect(r.of('proxy.connect').map((c) => c.status)).toEqual([407, 200])
    // tinyproxy answers like an old proxy: HTTP/1.0, Connection: close, a body that runs to the close.
    const first = r.of('proxy.connect')[0]!
    expect(first.statusLine).toBe('HTTP/1.0 407 Proxy Authentication Required')
    expect(first.bodyPreview).toMatch(/<\?xml|<html/i)
    // So the authenticated leg needed a new connection to the proxy.
    expect(r.of('tcp').filter((t) => t.target === 'proxy')).toHaveLength(2)
  })

  it('tinyproxy: a ConnectPort policy is a 403 diagnosis', async () => {
    const o = await keep(wsOrigin())
    const p = await keep(startTinyproxy({ connectPorts: [443] }))
    const r = await run({ url: `ws://127.0.0.1:${o.port}/`, transport: 'ws', network: manual('http', p.port), reconnect: { enabled: false } })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_CONNECT_REFUSED')
    expect(r.of('diagnosis').map((d) => d.code)).toContain('WT_PROXY_CONNECT_REFUSED')
  })

  it('nginx with its defaults strips Upgrade (426 diagnosed); with the two WebSocket headers it works', async () => {
    const o = await keep(wsOrigin())
    const plain = await keep(startNginx({ upstreamPort: o.port }))
    const a = await run({ url: `ws://127.0.0.1:${plain.port}/`, transport: 'ws', reconnect: { enabled: false } })
    expect(a.of('http.response')[0]!.status).toBe(426)
    expect(a.of('error')[0]!.code).toBe('WT_UPGRADE_STRIPPED')
    expect(diagnosed(a.events)).toContain('WT_UPGRADE_STRIPPED')
    const ws = await keep(startNginx({ upstreamPort: o.port, websocket: true }))
    const b = await run({ url: `ws://127.0.0.1:${ws.port}/`, transport: 'ws', send: [{ kind: 'text', text: 'via nginx' }], maxMessages: 1 })
    expect(b.end.exitCode, JSON.stringify(b.of('error'))).toBe(0)
    expect(b.of('http.response')[0]!.status).toBe(101)
  })
})
