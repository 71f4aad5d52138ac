// The proxy lab (a product feature and our fixture) against real clients: each behaviour
// reproduced, logged, and diagnosed from the events it causes.
import { afterEach, describe, expect, it } from 'vitest'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import tls from 'node:tls'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { X509Certificate } from 'node:crypto'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { makeCa } from '../fixtures/certs.ts'
import { run, start } from '../fixtures/engine.ts'
import { startHttpFixture } from '../fixtures/servers/http.ts'
import { runLab, formatLabLog, type Lab } from '../../shared/node/lab/index.ts'
import { LAB_HELP, labOptions, run as runLabCli } from '../../shared/node/lab/cli.ts'
import { PassThrough } from 'node:stream'
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

/** A TCP origin that runs `talk` on each connection. */
async function tcpOrigin(talk: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined)
    talk(s)
  })
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  cleanup.push(() => new Promise((res) => srv.close(() => res())))
  return (srv.address() as net.AddressInfo).port
}

interface Arrival {
  /** ms since the tunnel was up. */
  t: number
  n: number
}
/**
 * A raw client through the lab: CONNECT to the origin, then every downstream chunk with its
 * arrival time, until the connection ends, errors or `until` bytes arrived.
 */
function tunnel(l: Lab, port: number, until = Infinity): Promise<{ arrivals: Arrival[]; bytes: number; error: NodeJS.ErrnoException | null; ms: number }> {
  return new Promise((resolve) => {
    const s = net.connect(l.port, '127.0.0.1', () => s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`))
    let head = Buffer.alloc(0)
    let t0 = 0
    let bytes = 0
    let error: NodeJS.ErrnoException | null = null
    const arrivals: Arrival[] = []
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      s.destroy()
      resolve({ arrivals, bytes, error, ms: arrivals.length ? arrivals.at(-1)!.t : 0 })
    }
    const body = (d: Buffer): void => {
      if (!d.length) return
      bytes += d.length
      arrivals.push({ t: performance.now() - t0, n: d.length })
      if (bytes >= until) finish()
    }
    s.on('data', (d: Buffer) => {
      if (t0) return body(d)
      head = Buffer.concat([head, d])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      expect(head.subarray(0, 12).toString()).toBe('HTTP/1.1 200')
      t0 = performance.now()
      body(head.subarray(end + 4))
    })
    s.on('error', (e) => (error = e))
    s.on('close', finish)
  })
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
    // The engine saw a TCP reset, not a clean close or a timeout.
    expect(r.of('error').map((e) => e.code), JSON.stringify(r.of('error'))).toContain('WT_CONNECTION_RESET')
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

  it('a profile\'s originTls trusts the intercepting proxy\'s CA for every connection through it; without it the connection fails; osCaStore says what this runtime can do', async () => {
    const ca = makeCa('Office Origin CA')
    const o = await wsServer((ws) => ws.send('hello office'), { tls: ca.issue(['localhost']) })
    cleanup.push(() => o.close())
    const l = await lab({ interceptTls: true })
    const url = o.url.replace('127.0.0.1', 'localhost')
    // The connection trusts only the origin's real CA; the "Office" profile adds the corporate (lab) CA.
    const office = via(l, undefined, { name: 'Office', originTls: { ca: [l.caCert] } })
    const ok = await run({ url, transport: 'ws', tls: { ca: [ca.caCert] }, network: office, maxMessages: 1, reconnect: { enabled: false } })
    expect(ok.end.exitCode, JSON.stringify(ok.of('error'))).toBe(0)
    expect(ok.of('error')).toEqual([])
    expect(ok.of('tls')[0]!.chain[0]!.issuer).toContain('Wiretrace Lab Interception CA')
    expect(ok.of('tls')[0]!.authorized).toBe(true)
    expect(ok.of('ws.message').find((m) => m.dir === 'in')?.text).toBe('hello office')
    const warn = ok.of('diagnosis').find((d) => d.code === 'WT_TLS_INTERCEPTED')!
    expect(warn.severity).toBe('warning')
    // The recording keeps where each CA came from: the connection's own, and the profile's (as [pem]).
    const startEv = ok.of('conn.start')[0] as unknown as { spec: { tls?: { ca?: string[] }; network?: { originTls?: { ca?: string[] } } } }
    expect(startEv.spec.tls?.ca).toEqual(['[pem]'])
    expect(startEv.spec.network?.originTls?.ca).toEqual(['[pem]'])
    // The same profile without originTls: untrusted, diagnosed as interception, advice names the profile.
    const bare = await run({ url, transport: 'ws', tls: { ca: [ca.caCert] }, network: via(l, undefined, { name: 'Office' }), reconnect: { enabled: false } })
    expect(bare.of('error')[0]!.code).toBe('WT_TLS_UNTRUSTED')
    const d = bare.of('diagnosis').find((x) => x.code === 'WT_TLS_INTERCEPTED')!
    expect(d.severity).toBe('error')
    expect(d.suggestions.join(' ')).toMatch(/network profile/)
    // insecure from the profile alone is enough (and recorded as unauthorized).
    const loose = await run({ url, transport: 'ws', network: via(l, undefined, { originTls: { insecure: true } }), maxMessages: 1, reconnect: { enabled: false } })
    expect(loose.of('error')).toEqual([])
    expect(loose.of('tls')[0]!.authorized).toBe(false)
    // The OS store: Node 20 cannot read it, and says so instead of silently trusting less.
    const sys = await run({ url, transport: 'ws', tls: { ca: [ca.caCert] }, network: via(l, undefined, { originTls: { osCaStore: true } }), reconnect: { enabled: false } })
    if (typeof (tls as { getCACertificates?: unknown }).getCACertificates === 'function') {
      // A runtime that reads the store: the lab's CA is not in it, so verification fails as usual.
      expect(sys.of('error')[0]!.code).toBe('WT_TLS_UNTRUSTED')
    } else {
      const e = sys.of('error')[0]!
      expect(e.code).toBe('WT_TLS_CONFIG')
      expect(e.message).toMatch(/originTls\.osCaStore: this runtime \(Node \d+\.\d+\.\d+\) cannot read the operating system's CA store/)
      expect(sys.of('tcp')).toEqual([])
    }
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
  it('limits bandwidth in small paced slices: 100 KB at 50 KB/s takes about 2 s, not one burst per 64 KiB read', async () => {
    const port = await tcpOrigin((s) => s.end(Buffer.alloc(100_000, 0x61)))
    const l = await lab({ bandwidthBps: 50_000 })
    const r = await tunnel(l, port, 100_000)
    expect(r.bytes).toBe(100_000)
    expect(r.ms).toBeGreaterThanOrEqual(1800)
    expect(r.ms).toBeLessThanOrEqual(2300)
    // Steady: the first half of the bytes takes about half the time (a 64 KiB burst would not).
    const half = r.arrivals.reduce((acc, a) => (acc.n < 50_000 ? { n: acc.n + a.n, t: a.t } : acc), { n: 0, t: 0 })
    expect(half.t).toBeGreaterThan(800)
    expect(Math.max(...r.arrivals.map((a) => a.n))).toBeLessThanOrEqual(4096)
  })

  it('buffers until N bytes: nothing, then the held bytes in one burst at N, the rest at the end', async () => {
    // 25 pieces of 100 bytes, 40 ms apart; the lab holds 1000.
    const port = await tcpOrigin((s) => {
      let i = 0
      const t = setInterval(() => {
        s.write(Buffer.alloc(100, 0x30 + (i % 10)))
        if (++i === 25) {
          clearInterval(t)
          s.end()
        }
      }, 40)
      s.on('close', () => clearInterval(t))
    })
    const l = await lab({ bufferBytes: 1000 })
    const r = await tunnel(l, port)
    expect(r.bytes).toBe(2500)
    // The first byte waits for the 10th piece (~400 ms), then 1000 bytes come at once.
    expect(r.arrivals[0]!.t).toBeGreaterThan(300)
    const burst = (from: number): number => r.arrivals.filter((a) => a.t >= from && a.t - from < 15).reduce((n, a) => n + a.n, 0)
    expect(burst(r.arrivals[0]!.t)).toBe(1000)
    expect(l.log().filter((e) => e.event === 'flushed').map((e) => e.detail)).toEqual(['released 1000 buffered bytes', 'released 1000 buffered bytes', 'released 500 buffered bytes at the end'])
  })

  /** An SSE origin: one ~415-byte event every 250 ms, chunked (as Node sends it) or close-delimited (raw). */
  async function sseOrigin(chunked: boolean): Promise<number> {
    const event = (i: number): string => `id: ${i}\ndata: ${String(i).padEnd(400, '.')}\n\n`
    if (!chunked) {
      return tcpOrigin((s) => {
        s.once('data', () => {
          s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n')
          let i = 0
          const t = setInterval(() => s.write(event(i++)), 250)
          s.on('close', () => clearInterval(t))
        })
      })
    }
    const srv = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
      let i = 0
      const t = setInterval(() => res.write(event(i++)), 250)
      res.on('close', () => clearInterval(t))
    })
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
    cleanup.push(
      () =>
        new Promise((res) => {
          srv.closeAllConnections()
          srv.close(() => res())
        }),
    )
    return (srv.address() as net.AddressInfo).port
  }
  /** Arrival times of the events, grouped: events less than 20 ms apart are one burst. */
  function bursts(ts: number[]): number[] {
    const sizes: number[] = []
    ts.forEach((t, i) => (i && t - ts[i - 1]! < 20 ? sizes[sizes.length - 1]!++ : sizes.push(1)))
    return sizes
  }

  it('buffering breaks SSE: events sent 250 ms apart arrive five at a time, and the engine warns WT_SSE_BUFFERED', async () => {
    const port = await sseOrigin(false)
    // 2000 bytes hold five events (with the response head, the first five).
    const l = await lab({ bufferBytes: 2000 })
    const r = await run({ url: `http://127.0.0.1:${port}/events`, transport: 'sse', network: via(l), maxMessages: 10, sse: { reconnect: false } })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    const events = r.of('sse.event')
    expect(events.map((e) => e.id)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(bursts(events.map((e) => e.ts))).toEqual([5, 5])
    const d = r.of('diagnosis').find((x) => x.code === 'WT_SSE_BUFFERED')
    expect(d, JSON.stringify(r.of('chunk'))).toBeDefined()
    expect(d!.title).toMatch(/^5 events arrived at once after 1\.\d s of silence$/)
    expect(l.log().filter((e) => e.event === 'flushed')).toHaveLength(2)
  })

  it('buffering a chunked SSE response: the same bursts of five', async () => {
    const port = await sseOrigin(true)
    const l = await lab({ bufferBytes: 2000 })
    const r = await run({ url: `http://127.0.0.1:${port}/events`, transport: 'sse', network: via(l), maxMessages: 10, sse: { reconnect: false } })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    expect(bursts(r.of('sse.event').map((e) => e.ts))).toEqual([5, 5])
  })

  // undici hands a chunked body over one chunk-encoding piece at a time, so the five events of a
  // flush arrive as five body chunks a fraction of a millisecond apart: the engine counts them as
  // one delivery (chunks within 5 ms of each other) and warns once with the delivery's count.
  it('buffering a chunked SSE response: the engine warns WT_SSE_BUFFERED with the whole burst', async () => {
    const port = await sseOrigin(true)
    const l = await lab({ bufferBytes: 2000 })
    const r = await run({ url: `http://127.0.0.1:${port}/events`, transport: 'sse', network: via(l), maxMessages: 10, sse: { reconnect: false } })
    expect(r.of('chunk').length).toBeGreaterThanOrEqual(10)
    const d = r.of('diagnosis').filter((x) => x.code === 'WT_SSE_BUFFERED')
    expect(d).toHaveLength(1)
    expect(d[0]!.title).toMatch(/^5 events arrived at once after 1\.\d s of silence$/)
  })

  it('writes its CA to disk: the file parses as an X509 CA and it signed the intercepted leaf', async () => {
    const originCa = makeCa('Lab Origin CA')
    const leaf = originCa.issue(['localhost'])
    const srv = tls.createServer({ cert: leaf.cert, key: leaf.key }, (s) => s.end('hello'))
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
    cleanup.push(() => new Promise((res) => srv.close(() => res())))
    const port = (srv.address() as net.AddressInfo).port
    const caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-lab-ca-'))
    const l = await runLab({ interceptTls: true, caDir: path.join(caDir, 'sub') })
    let closed = false
    cleanup.push(async () => {
      if (!closed) await l.close()
    })
    expect(l.caCertPath).toBe(path.join(caDir, 'sub', 'ca.pem'))
    const onDisk = new X509Certificate(fs.readFileSync(l.caCertPath))
    expect(onDisk.ca).toBe(true)
    expect(onDisk.subject).toContain('CN=Wiretrace Lab Interception CA')
    expect(onDisk.toString()).toBe(new X509Certificate(l.caCert).toString())
    expect(fs.statSync(path.join(caDir, 'sub', 'ca.key')).mode & 0o777).toBe(0o600)
    // A real TLS client through the intercepting tunnel gets a leaf that the CA on disk signed.
    const peer = await new Promise<X509Certificate>((resolve, reject) => {
      const s = net.connect(l.port, '127.0.0.1', () => s.write(`CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`))
      s.once('data', (d) => {
        expect(d.toString()).toMatch(/^HTTP\/1\.1 200/)
        const t = tls.connect({ socket: s, servername: 'localhost', ca: [fs.readFileSync(l.caCertPath, 'utf8')] }, () => {
          const x = t.getPeerX509Certificate()!
          t.destroy()
          resolve(x)
        })
        t.on('error', reject)
      })
      s.on('error', reject)
    })
    expect(peer.issuer).toBe(onDisk.subject)
    expect(peer.checkIssued(onDisk)).toBe(true)
    expect(peer.verify(onDisk.publicKey)).toBe(true)
    expect(peer.verify(new X509Certificate(originCa.caCert).publicKey)).toBe(false)
    // A CA dir the user named stays after the lab stops; the lab's own temp dir does not.
    await l.close()
    closed = true
    expect(fs.existsSync(l.caCertPath)).toBe(true)
    const own = await runLab({})
    const ownDir = path.dirname(own.caCertPath)
    expect(new X509Certificate(fs.readFileSync(own.caCertPath)).ca).toBe(true)
    await own.close()
    expect(fs.existsSync(ownDir)).toBe(false)
  })

  it('a reset reaches the client as ECONNRESET after exactly N bytes, even with latency queued', async () => {
    const port = await tcpOrigin((s) => s.write(Buffer.alloc(2000, 0x62)))
    for (const extra of [{}, { latencyMs: 100 }, { bandwidthBps: 20_000 }]) {
      const l = await lab({ resetAfterBytes: 400, ...extra })
      const r = await tunnel(l, port)
      expect(r.bytes, JSON.stringify(extra)).toBe(400)
      expect(r.error?.code, JSON.stringify(extra)).toBe('ECONNRESET')
    }
  })
})

/**
 * A raw client: sends `request` to the proxy and collects what comes back until the proxy
 * closes, an error, or `ms` passes (then `timedOut`).
 */
function raw(port: number, request: string, ms = 5000): Promise<{ text: string; ms: number; timedOut: boolean; error: string | null }> {
  return new Promise((resolve) => {
    const t0 = performance.now()
    let text = ''
    let error: string | null = null
    const s = net.connect(port, '127.0.0.1', () => s.write(request))
    const done = (timedOut: boolean): void => {
      clearTimeout(timer)
      s.destroy()
      resolve({ text, ms: performance.now() - t0, timedOut, error })
    }
    const timer = setTimeout(() => done(true), ms)
    s.on('data', (d: Buffer) => (text += d.toString('latin1')))
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
    s.on('close', () => done(false))
  })
}
const get = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: ${new URL(target).host}\r\n${extra}\r\n`
/** The header lines of the first response head in `text`. */
const headLines = (text: string): string[] => text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n')

describe('proxy lab: forward mode answers like a real proxy', () => {
  it('adds Via: 1.1 wiretrace-lab to forwarded responses (after the origin\'s own Via), as to CONNECT answers', async () => {
    const port = await tcpOrigin((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nVia: 1.1 upstream-gw\r\nConnection: close\r\n\r\nhello')))
    const l = await lab({})
    const r = await raw(l.port, get(`http://127.0.0.1:${port}/x`))
    const lines = headLines(r.text)
    expect(lines[0]).toBe('HTTP/1.1 200 OK')
    expect(lines.filter((h) => /^via:/i.test(h))).toEqual(['Via: 1.1 upstream-gw', 'Via: 1.1 wiretrace-lab'])
    // The body is untouched.
    expect(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).toBe('hello')
    // An HTTP/1.0 answer is named as received; a 100 Continue and the final answer both carry it.
    const old = await tcpOrigin((s) => s.once('data', () => s.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold')))
    const r10 = await raw(l.port, get(`http://127.0.0.1:${old}/`))
    expect(headLines(r10.text)).toContain('Via: 1.0 wiretrace-lab')
    expect(r10.text.endsWith('\r\n\r\nold')).toBe(true)
    const cont = await tcpOrigin((s) => s.once('data', () => s.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')))
    const rc = await raw(l.port, get(`http://127.0.0.1:${cont}/`))
    // The final head's Connection is the lab's own (it closes after each answer), after Via.
    expect(rc.text).toBe('HTTP/1.1 100 Continue\r\nVia: 1.1 wiretrace-lab\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nVia: 1.1 wiretrace-lab\r\nConnection: close\r\n\r\nok')
    // CONNECT answers carry it too.
    const c = await raw(l.port, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 300)
    expect(headLines(c.text)).toEqual(['HTTP/1.1 200 Connection established', 'Via: 1.1 wiretrace-lab'])
  })

  it('a WebSocket forwarded through the lab: the 101 carries Via and the frames flow unchanged', async () => {
    const o = await origin()
    const l = await lab({})
    const r = await run({ url: o.url, transport: 'ws', network: via(l, undefined, { httpMode: 'forward' }), send: [{ kind: 'text', text: 'through forward mode' }], maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    const res = r.of('http.response')[0]!
    expect(res.status).toBe(101)
    expect(res.headers.filter(([k]) => k.toLowerCase() === 'via')).toEqual([['Via', '1.1 wiretrace-lab']])
    expect(r.of('ws.message').find((m) => m.dir === 'in')).toMatchObject({ text: 'through forward mode' })
    expect(l.log().some((e) => e.event === 'forward')).toBe(true)
  })

  it('upstreamTimeoutMs: an origin that never answers gets 504 Gateway Timeout with X-Lab-Error and Via; off by default and switchable', async () => {
    // Reads (and ignores) the request, so it sees the lab hang up.
    const silent = await tcpOrigin((s) => s.resume())
    const l = await lab({ upstreamTimeoutMs: 400 })
    const r = await raw(l.port, get(`http://127.0.0.1:${silent}/held`))
    const lines = headLines(r.text)
    expect(lines[0]).toBe('HTTP/1.1 504 Gateway Timeout')
    expect(lines).toContain('X-Lab-Error: upstream timeout')
    expect(lines).toContain('Via: 1.1 wiretrace-lab')
    expect(r.text).toContain(`127.0.0.1:${silent} did not answer within 400 ms`)
    expect(r.ms).toBeGreaterThanOrEqual(380)
    expect(r.ms).toBeLessThan(2000)
    expect(l.log().find((e) => e.event === '504')?.detail).toBe(`no answer from 127.0.0.1:${silent} within 400 ms`)
    // Off: the request is held as long as the origin holds it.
    l.set({ upstreamTimeoutMs: 0 })
    const held = await raw(l.port, get(`http://127.0.0.1:${silent}/held`), 800)
    expect([held.timedOut, held.text]).toEqual([true, ''])
    // Once the answer has started, silence from the origin closes the connection instead.
    const stalls = await tcpOrigin((s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc')))
    l.set({ upstreamTimeoutMs: 400 })
    const cut = await raw(l.port, get(`http://127.0.0.1:${stalls}/`))
    expect(cut.timedOut).toBe(false)
    expect(cut.text).toBe('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nVia: 1.1 wiretrace-lab\r\nConnection: close\r\n\r\nabc')
    expect(cut.ms).toBeGreaterThanOrEqual(380)
    expect(l.log().some((e) => e.event === 'closed' && e.detail === 'the origin was silent for 400 ms (upstream timeout)')).toBe(true)
  })

  it('upstreamTimeoutMs counts only the origin\'s silence: bytes the lab still holds for the client do not count', async () => {
    // 1.5 MiB sent at once and then silence, relayed at 1 MB/s: about 1.5 s of the lab's own queue.
    const size = 1536 * 1024
    const port = await tcpOrigin((s) => s.once('data', () => s.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`), Buffer.alloc(size, 0x61)]))))
    const l = await lab({ upstreamTimeoutMs: 300, bandwidthBps: 1_000_000 })
    const r = await raw(l.port, get(`http://127.0.0.1:${port}/big`), 10_000)
    const body = r.text.length - r.text.indexOf('\r\n\r\n') - 4
    expect(body, JSON.stringify(l.log())).toBe(size)
    expect(r.ms).toBeGreaterThan(1200)
    // The connection ends 300 ms after the last byte went out, not 300 ms after the origin's.
    const closed = l.log().find((e) => e.event === 'closed')!
    expect(closed.detail).toBe('the origin was silent for 300 ms (upstream timeout)')
    expect(closed.t).toBeGreaterThan(1400)
  })

  it('an origin that closes or resets without answering: 502 Bad Gateway naming why; a started answer is not replaced', async () => {
    const closer = await tcpOrigin((s) => s.once('data', () => s.end()))
    const resetter = await tcpOrigin((s) => s.once('data', () => s.resetAndDestroy()))
    const partial = await tcpOrigin((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc')))
    const l = await lab({})
    for (const [port, why] of [[closer, 'origin closed'], [resetter, 'ECONNRESET']] as const) {
      const r = await raw(l.port, get(`http://127.0.0.1:${port}/`))
      const lines = headLines(r.text)
      expect(lines[0], why).toBe('HTTP/1.1 502 Bad Gateway')
      expect(lines).toContain(`X-Lab-Error: ${why}`)
      expect(lines).toContain('Via: 1.1 wiretrace-lab')
      expect(l.log().some((e) => e.event === '502' && e.detail === `127.0.0.1:${port} closed without answering (${why})`), JSON.stringify(l.log())).toBe(true)
    }
    const p = await raw(l.port, get(`http://127.0.0.1:${partial}/`))
    expect(p.text).toBe('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nVia: 1.1 wiretrace-lab\r\nConnection: close\r\n\r\nabc')
  })

  it('never logs a password, a token in the query or Proxy-Authorization beyond its scheme (lab.log and the CLI\'s stdout)', async () => {
    const port = await tcpOrigin((s) => s.once('data', () => s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n')))
    const secrets = ['tok-SECRET-1', 'pw-SECRET-2', 'cHJveHk6bGFiLVNFQ1JFVC0z', 'lab-SECRET-3']
    const requests = [
      get(`http://127.0.0.1:${port}/p?x=1&access_token=tok-SECRET-1`),
      get(`http://u:pw-SECRET-2@127.0.0.1:${port}/p`),
      // Wrong credentials (base64 of proxy:lab-SECRET-3), then an origin-form request the lab refuses.
      get(`http://127.0.0.1:${port}/q?token=tok-SECRET-1`, 'Proxy-Authorization: Basic cHJveHk6bGFiLVNFQ1JFVC0z\r\n'),
      `GET /origin-form?access_token=tok-SECRET-1 HTTP/1.1\r\nHost: x\r\n\r\n`,
    ]
    // In-process: lab.log() and the lines the CLI would print.
    const printed: string[] = []
    const l = await lab({ onLog: (e) => printed.push(formatLabLog(e)) })
    for (const q of requests.slice(0, 2)) await raw(l.port, q)
    l.set({ basicAuth: { user: 'proxy', pass: 'right-one' } })
    await raw(l.port, requests[2]!, 500)
    l.set({ basicAuth: null })
    await raw(l.port, requests[3]!)
    const logged = JSON.stringify(l.log()) + printed.join('\n')
    for (const s of secrets) expect(logged, s).not.toContain(s)
    // What was there is still said, with the secrets masked.
    expect(logged).toContain('access_token=***')
    expect(logged).toContain('u:***@127.0.0.1')
    expect(l.log().find((e) => e.event === '407')?.detail).toBe('credentials rejected (Proxy-Authorization scheme: Basic)')
    // The CLI in the foreground: its stdout.
    const out = new PassThrough()
    let text = ''
    out.on('data', (d) => (text += d))
    const ac = new AbortController()
    const done = runLabCli(['--auth', 'proxy:right-one'], { stdout: out, stderr: out }, ac.signal)
    while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(text)) await new Promise((res) => setTimeout(res, 10))
    const cliPort = Number(/127\.0\.0\.1:(\d+)/.exec(text)![1])
    const auth = `Proxy-Authorization: Basic ${Buffer.from('proxy:right-one').toString('base64')}\r\n`
    await raw(cliPort, get(`http://127.0.0.1:${port}/p?access_token=tok-SECRET-1`, auth))
    await raw(cliPort, get(`http://u:pw-SECRET-2@127.0.0.1:${port}/p`, auth))
    await raw(cliPort, requests[2]!, 500)
    ac.abort()
    expect(await done).toBe(0)
    expect(text).toContain('forward: GET /p?access_token=*** to 127.0.0.1')
    for (const s of [...secrets, Buffer.from('proxy:right-one').toString('base64'), 'right-one']) expect(text, s).not.toContain(s)
  })

  it('--upstream-timeout S and the help', () => {
    expect(labOptions(['--upstream-timeout', '2.5', '--strip-upgrade'])).toEqual({ upstreamTimeoutMs: 2500, stripUpgrade: true })
    expect(LAB_HELP).toMatch(/--upstream-timeout SECONDS +.*504 Gateway Timeout/)
    expect(LAB_HELP).toMatch(/Via: 1\.1 wiretrace-lab/)
    expect(LAB_HELP).toMatch(/502 Bad Gateway/)
    expect(LAB_HELP).toMatch(/never logs? (credentials|passwords)/i)
  })
})

describe('proxy lab: forward mode handles every request on a kept-alive client connection', () => {
  /** An HTTP origin (keep-alive, as Node serves) that records each request it gets: headers and body. */
  async function recordingOrigin(): Promise<{ port: number; seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> }> {
    const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = []
    const srv = http.createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString('latin1')))
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body })
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(`ok ${req.url}`.length) })
        res.end(`ok ${req.url}`)
      })
    })
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
    cleanup.push(
      () =>
        new Promise((res) => {
          srv.closeAllConnections()
          srv.close(() => res())
        }),
    )
    return { port: (srv.address() as net.AddressInfo).port, seen }
  }
  /** One absolute-URI request through the lab with a keep-alive agent (one socket at most). */
  function viaAgent(agent: http.Agent, labPort: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: labPort, path: target, headers: { Host: new URL(target).host, ...headers }, agent }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      })
      req.on('error', reject)
      req.end()
    })
  }
  const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

  it('three requests from a keep-alive client: each gets Via, each is logged, the origin never sees Proxy-Authorization', async () => {
    const o = await recordingOrigin()
    const l = await lab({ basicAuth: { user: 'u', pass: 'ka-pass-1' } })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    cleanup.push(async () => agent.destroy())
    const answers = []
    for (const n of [1, 2, 3]) answers.push(await viaAgent(agent, l.port, `http://127.0.0.1:${o.port}/r${n}`, { 'Proxy-Authorization': basic('u', 'ka-pass-1') }))
    expect(answers.map((a) => [a.status, a.body, a.headers.via])).toEqual([1, 2, 3].map((n) => [200, `ok /r${n}`, '1.1 wiretrace-lab']))
    // The lab says it closes after each answer, so a client never reuses the connection for a request the lab would not see.
    expect(answers.map((a) => a.headers.connection)).toEqual(['close', 'close', 'close'])
    expect(l.log().filter((e) => e.event === 'forward').map((e) => e.detail)).toEqual([1, 2, 3].map((n) => `GET /r${n} to 127.0.0.1:${o.port}`))
    expect(o.seen.map((s) => s.url)).toEqual(['/r1', '/r2', '/r3'])
    expect(o.seen.map((s) => s.headers['proxy-authorization'])).toEqual([undefined, undefined, undefined])
    expect(o.seen.map((s) => s.headers.via)).toEqual(['1.1 wiretrace-lab', '1.1 wiretrace-lab', '1.1 wiretrace-lab'])
    expect(o.seen.map((s) => s.headers.connection)).toEqual(['close', 'close', 'close'])
  })

  it('basicAuth applies to every request: a second request without credentials from the same keep-alive client gets 407', async () => {
    const o = await recordingOrigin()
    const l = await lab({ basicAuth: { user: 'u', pass: 'ka-pass-2' } })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    cleanup.push(async () => agent.destroy())
    const ok = await viaAgent(agent, l.port, `http://127.0.0.1:${o.port}/with`, { 'Proxy-Authorization': basic('u', 'ka-pass-2') })
    expect([ok.status, ok.headers.via]).toEqual([200, '1.1 wiretrace-lab'])
    const no = await viaAgent(agent, l.port, `http://127.0.0.1:${o.port}/without`)
    expect(no.status).toBe(407)
    expect(no.headers['proxy-authenticate']).toBe('Basic realm="wiretrace lab"')
    expect(o.seen.map((s) => s.url)).toEqual(['/with'])
  })

  it('pipelining cannot smuggle a request past the lab: bytes after the first request (and its body) never reach the origin', async () => {
    const o = await recordingOrigin()
    const l = await lab({ basicAuth: { user: 'u', pass: 'ka-pass-3' } })
    const auth = `Proxy-Authorization: ${basic('u', 'ka-pass-3')}\r\n`
    const smuggled = `GET http://127.0.0.1:${o.port}/smuggled HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\n\r\n`
    // No body, a Content-Length body and a chunked body, each followed by a second request without credentials.
    const firsts = [
      get(`http://127.0.0.1:${o.port}/plain`, auth),
      `POST http://127.0.0.1:${o.port}/cl HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\n${auth}Content-Length: 11\r\n\r\nhello world`,
      `POST http://127.0.0.1:${o.port}/chunked HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\n${auth}Transfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n`,
    ]
    for (const first of firsts) {
      const r = await raw(l.port, first + smuggled)
      expect(r.text.match(/^HTTP\/1\.1 /gm), r.text).toHaveLength(1)
      expect(headLines(r.text)).toEqual(expect.arrayContaining(['HTTP/1.1 200 OK', 'Via: 1.1 wiretrace-lab', 'Connection: close']))
    }
    expect(o.seen.map((s) => [s.url, s.body])).toEqual([
      ['/plain', ''],
      ['/cl', 'hello world'],
      ['/chunked', 'hello world'],
    ])
    const dropped = l.log().filter((e) => e.event === 'dropped')
    expect(dropped).toHaveLength(3)
    expect(dropped[0]!.detail).toBe(`${smuggled.length} bytes after the forwarded request (a pipelined request is not forwarded; the answer said Connection: close)`)
  })

  it('a request whose body length cannot be known gets 400; unreadable chunked framing ends what is forwarded', async () => {
    const o = await recordingOrigin()
    const l = await lab({})
    const host = `127.0.0.1:${o.port}`
    const smuggled = `GET http://${host}/smuggled HTTP/1.1\r\nHost: ${host}\r\n\r\n`
    // Both Transfer-Encoding and Content-Length: where the body ends depends on who reads it.
    const both = await raw(l.port, `POST http://${host}/both HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`)
    expect(headLines(both.text)[0]).toBe('HTTP/1.1 400 Bad Request')
    expect(l.log().find((e) => e.event === '400')?.detail).toBe('request body length unknown: both Transfer-Encoding and Content-Length')
    // A chunk size that is not plain hex: nothing from that line on reaches the origin.
    await raw(l.port, `POST http://${host}/bad HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0x0\r\n\r\n${smuggled}`, 1000)
    expect(o.seen.map((s) => s.url)).not.toContain('/smuggled')
    expect(o.seen.map((s) => s.url)).not.toContain('/both')
    expect(l.log().some((e) => e.event === 'malformed')).toBe(true)
  })

  it('a long-poll through the engine in forward mode: every cycle\'s answer carries Via and every cycle is logged', async () => {
    const f = await startHttpFixture()
    cleanup.push(() => f.close())
    const l = await lab({})
    const r = await run({
      url: `${f.url}/poll?hold=30`,
      transport: 'poll',
      network: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: l.port }, httpMode: 'forward' },
      poll: { cursorFrom: { json: '$.cursor' }, cursorTo: { query: 'cursor' }, initialCursor: '1', maxCycles: 4 },
    })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    const cycles = r.of('poll.cycle')
    expect(cycles.map((c) => [c.status, c.nextCursor])).toEqual([200, 200, 200, 200].map((s, i) => [s, String(i + 2)]))
    expect(cycles.map((c) => (c.headers ?? []).filter(([k]) => k.toLowerCase() === 'via').map(([, v]) => v))).toEqual([1, 2, 3, 4].map(() => ['1.1 wiretrace-lab']))
    expect(l.log().filter((e) => e.event === 'forward')).toHaveLength(4)
  })
})

describe('proxy lab: what a client sends cannot forge its log or its forwarded requests, nor hold its connections', () => {
  /** Any C0 or C1 control character, or DEL. */
  const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
  const received = async (): Promise<{ port: number; got: () => string }> => {
    let got = ''
    const port = await tcpOrigin((s) =>
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1')
        if (got.includes('\r\n\r\n')) s.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n')
      }),
    )
    return { port, got: () => got }
  }

  it('escapes control characters in everything it logs: a bare LF and ESC in a request line, a SOCKS4 user id, a SOCKS5 domain', async () => {
    const printed: string[] = []
    const l = await lab({ onLog: (e) => printed.push(formatLabLog(e)), connectPorts: [443] })
    const forged = '\n     0.001s  #99 127.0.0.1:1  forged: line\x1b[31m'
    await raw(l.port, `GET http://127.0.0.1:9/x\x1b[2J HTTP/1.1${forged}\r\nHost: x\r\n\r\n`, 2000)
    // SOCKS4: CONNECT 127.0.0.1:9 with a user id carrying a line break and an escape sequence.
    await raw(l.port, `\x04\x01\x00\x09\x7f\x00\x00\x01id${forged}\x00`, 2000)
    // SOCKS5: no auth, then CONNECT to a domain name with a line break, OSC and BEL in it (port 9: refused by policy).
    const domain = `evil${forged}\x1b]0;title\x07.test`
    await raw(l.port, `\x05\x01\x00\x05\x01\x00\x03${String.fromCharCode(domain.length)}${domain}\x00\x09`, 2000)
    const entries = l.log()
    for (const e of entries) for (const v of [e.client, e.event, e.detail ?? '']) expect(v, JSON.stringify(e)).not.toMatch(CONTROL)
    for (const line of printed) expect(line).not.toMatch(CONTROL)
    expect(printed.some((p) => p.startsWith('     0.001s'))).toBe(false)
    const text = entries.map((e) => `${e.event}: ${e.detail}`).join('\n')
    expect(text).toContain('/x\\x1b[2J HTTP/1.1\\x0a     0.001s  #99 127.0.0.1:1  forged: line\\x1b[31m')
    expect(entries.find((e) => e.event === 'socks4')?.detail).toBe('CONNECT 127.0.0.1:9 (user id id\\x0a     0.001s  #99 127.0.0.1:1  forged: line\\x1b[31m)')
    expect(entries.find((e) => e.event === 'socks5')?.detail).toBe(`CONNECT evil\\x0a     0.001s  #99 127.0.0.1:1  forged: line\\x1b[31m\\x1b]0;title\\x07.test:9`)
  })

  it('a request head with a bare LF, a bare CR or another control character gets 400 and never reaches the origin; a tab in a header value passes', async () => {
    const o = await received()
    const l = await lab({})
    const t = `http://127.0.0.1:${o.port}`
    const bad: Array<[string, RegExp]> = [
      [`GET ${t}/a HTTP/1.1\nX-Injected: yes\r\nHost: h\r\n\r\n`, /bare LF/],
      [`GET ${t}/b HTTP/1.1\r\nHost: h\r\nX-A: 1\nX-Injected: yes\r\n\r\n`, /bare LF/],
      [`GET ${t}/c HTTP/1.1\r\nHost: h\r\nX-A: 1\rX-Injected: yes\r\n\r\n`, /bare CR/],
      [`GET ${t}/d HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n`, /control character 0x01/],
      [`GET ${t}/e\tx HTTP/1.1\r\nHost: h\r\n\r\n`, /control character 0x09/],
      // Heads ended by bare LFs are answered at once, not left to time out.
      [`GET ${t}/f HTTP/1.1\nHost: h\n\n`, /bare LF/],
      [`GET ${t}/g HTTP/1.1 X-Injected: yes\r\nHost: h\r\n\r\n`, /not an HTTP\/1\.x request line/],
      [`GET ${t}/h HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n`, /header line 2/],
    ]
    for (const [request, why] of bad) {
      const r = await raw(l.port, request, 3000)
      expect(r.timedOut, request).toBe(false)
      expect(headLines(r.text)[0], request).toBe('HTTP/1.1 400 Bad Request')
      expect(l.log().at(-1)?.event, JSON.stringify(l.log().slice(-3))).toBe('400')
      expect(l.log().at(-1)?.detail, request).toMatch(why)
    }
    expect(o.got()).toBe('')
    const ok = await raw(l.port, `GET ${t}/tab HTTP/1.1\r\nHost: h\r\nX-A: a\tb\r\n\r\n`)
    expect(headLines(ok.text)[0]).toBe('HTTP/1.1 204 No Content')
    expect(o.got()).toContain('GET /tab HTTP/1.1\r\nHost: h\r\nX-A: a\tb\r\n')
  })

  it('closes a connection without a complete request head within headTimeoutMs (logged), so idle clients cannot use up maxConnections', async () => {
    const o = await received()
    const l = await lab({ headTimeoutMs: 400, maxConnections: 3 })
    const idle = [raw(l.port, '', 5000), raw(l.port, 'GET http://x/ HTTP/1.1\r\nHost:', 5000), raw(l.port, '\x05', 5000)]
    await new Promise((res) => setTimeout(res, 150))
    // All three slots taken: a fourth client is refused.
    const refused = await raw(l.port, `GET http://127.0.0.1:${o.port}/no HTTP/1.1\r\nHost: h\r\n\r\n`, 3000)
    expect(refused.text).toBe('')
    for (const r of await Promise.all(idle)) {
      expect(r.timedOut).toBe(false)
      expect(r.ms).toBeGreaterThan(300)
      expect(r.ms).toBeLessThan(3000)
    }
    const timeouts = l.log().filter((e) => e.event === 'timeout')
    expect(timeouts).toHaveLength(3)
    expect(timeouts[0]!.detail).toBe('no complete request within 400 ms: closed')
    // The slots are free again.
    const ok = await raw(l.port, `GET http://127.0.0.1:${o.port}/yes HTTP/1.1\r\nHost: h\r\n\r\n`)
    expect(headLines(ok.text)[0]).toBe('HTTP/1.1 204 No Content')
    expect(labOptions(['--head-timeout', '5'])).toEqual({ headTimeoutMs: 5000 })
    expect(LAB_HELP).toMatch(/--head-timeout SECONDS +.*\(default 30\)/)
  })
})
