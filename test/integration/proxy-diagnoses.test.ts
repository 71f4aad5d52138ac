// Every proxy diagnosis triggered for real and asserted: the proxy's own answers in forward mode
// (407, 502, 504) on each HTTP/1.1 transport, 502/503/504 with the proxy's error header over
// CONNECT and forward, Upgrade stripped by a forwarding proxy, 407 challenges we cannot or can
// answer, idle cuts of SSE, long-poll, raw streams, HTTP/2 and WebSocket with the silence each
// way, and the flag that trusts an intercepting proxy's CA.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import net from 'node:net'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { startHttpFixture, type HttpFixture } from '../fixtures/servers/http.ts'
import { startH2Fixture } from '../fixtures/servers/http2.ts'
import { makeCa } from '../fixtures/certs.ts'
import { run, type Run } from '../fixtures/engine.ts'
import { freePort, peers, startSquid } from '../fixtures/proxies/index.ts'
import { runLab, type Lab, type LabOptions } from '../../shared/node/lab/index.ts'
import type { ConnectionSpec, NetworkProfile } from '../../shared/common/spec/index.ts'
import type { EventOf } from '../../shared/common/events/index.ts'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c()))
})
async function lab(opts: LabOptions = {}): Promise<Lab> {
  const l = await runLab(opts)
  cleanup.push(() => l.close())
  return l
}
async function server(onConn: (s: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>()
  const srv = net.createServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
    s.on('close', () => sockets.delete(s))
    onConn(s)
  })
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  cleanup.push(() => new Promise((res) => {
    for (const s of sockets) s.destroy()
    srv.close(() => res())
  }))
  return (srv.address() as net.AddressInfo).port
}
async function plainHttp(status: number, headers: Record<string, string> = {}): Promise<number> {
  const srv = http.createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'text/plain', ...headers })
    res.end(status === 200 ? 'hello, plain HTTP' : 'Upgrade Required')
  })
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  cleanup.push(() => new Promise((res) => {
    srv.closeAllConnections()
    srv.close(() => res())
  }))
  return (srv.address() as net.AddressInfo).port
}
async function echo(): Promise<Running> {
  const s = await wsServer((ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })))
  cleanup.push(() => s.close())
  return s
}
const manual = (port: number, o: { mode?: 'connect' | 'forward'; auth?: { username: string; password: string } } = {}): NetworkProfile => ({
  mode: 'manual',
  proxy: { kind: 'http', host: '127.0.0.1', port, ...(o.auth ? { auth: o.auth } : {}) },
  ...(o.mode ? { httpMode: o.mode } : {}),
})

type Transport = 'ws' | 'sse' | 'poll' | 'stream'
/** One spec per HTTP/1.1 transport against host:port (paths from the http fixture). */
function specFor(t: Transport, hostPort: string, network: NetworkProfile): ConnectionSpec {
  switch (t) {
    case 'ws':
      return { url: `ws://${hostPort}/`, transport: 'ws', network, reconnect: { enabled: false } }
    case 'sse':
      return { url: `http://${hostPort}/sse/events?n=1&close=0`, transport: 'sse', network, sse: { reconnect: false } }
    case 'poll':
      return { url: `http://${hostPort}/poll?hold=10`, transport: 'poll', network, poll: { maxCycles: 1 } }
    case 'stream':
      return { url: `http://${hostPort}/stream/ndjson?n=1`, transport: 'stream', network }
  }
}
/** The status the transport recorded: the response head, or the poll cycle. */
function statusOf(r: Run): number | null | undefined {
  return r.of('http.response')[0]?.status ?? r.of('poll.cycle')[0]?.status
}
const TRANSPORTS: Transport[] = ['ws', 'sse', 'poll', 'stream']
const s1 = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

describe('forward mode: answers from the proxy itself are diagnosed as the proxy\'s', () => {
  let f: HttpFixture
  beforeAll(async () => {
    f = await startHttpFixture()
    return () => f.close()
  })

  for (const t of TRANSPORTS) {
    it(`${t}: 407 from the lab, no credentials -> WT_PROXY_AUTH_REQUIRED naming Basic and forward mode`, async () => {
      const l = await lab({ basicAuth: { user: 'u', pass: 'fwd-pass-1' } })
      const r = await run(specFor(t, `127.0.0.1:${f.port}`, manual(l.port, { mode: 'forward' })))
      expect(statusOf(r)).toBe(407)
      expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_REQUIRED')
      const ds = r.of('diagnosis')
      expect(ds.map((d) => d.code)).toEqual(['WT_PROXY_AUTH_REQUIRED'])
      const d = ds[0]!
      expect(d.title).toBe(`The proxy http://127.0.0.1:${l.port} requires authentication`)
      expect(d.explanation).toContain('answered the forwarded request (forward mode, absolute URI) itself with 407 Proxy Authentication Required')
      expect(d.explanation).toContain('It offers Basic.')
      expect(d.explanation).toContain('In forward mode Wiretrace can send only Basic')
      expect(d.suggestions[0]).toContain('user:password@')
      expect(r.end.exitCode).not.toBe(0)
    })

    it(`${t}: 502 from the lab (origin refused) -> WT_PROXY_ORIGIN_UNREACHABLE naming X-Lab-Error`, async () => {
      const l = await lab()
      const closed = await freePort()
      const r = await run(specFor(t, `127.0.0.1:${closed}`, manual(l.port, { mode: 'forward' })))
      expect(statusOf(r)).toBe(502)
      expect(r.of('error')[0]!.code).toBe('WT_PROXY_ORIGIN_UNREACHABLE')
      const ds = r.of('diagnosis')
      expect(ds.map((d) => d.code)).toEqual(['WT_PROXY_ORIGIN_UNREACHABLE'])
      const d = ds[0]!
      expect(d.title).toBe(`The proxy http://127.0.0.1:${l.port} could not reach the origin`)
      expect(d.explanation).toContain('answered the forwarded request itself with 502 Bad Gateway')
      expect(d.explanation).toContain('X-Lab-Error: ECONNREFUSED (the origin refused the connection: nothing listens on that port)')
      expect(d.explanation).toContain('Via: 1.1 wiretrace-lab')
    })
  }

  it('ws: wrong Basic credentials in forward mode -> WT_PROXY_AUTH_REJECTED', async () => {
    const o = await echo()
    const l = await lab({ basicAuth: { user: 'u', pass: 'fwd-pass-2' } })
    const r = await run(specFor('ws', `127.0.0.1:${o.port}`, manual(l.port, { mode: 'forward', auth: { username: 'u', password: 'wrong-0' } })))
    expect(r.of('http.response')[0]!.status).toBe(407)
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_REJECTED')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_AUTH_REJECTED')!
    expect(d.title).toBe(`The proxy http://127.0.0.1:${l.port} rejected the credentials`)
    expect(d.explanation).toContain('We sent Basic credentials with the forwarded request and the proxy answered 407 again')
    expect(JSON.stringify(r.events)).not.toContain('wrong-0')
  })
})

const haveSquid = peers('squid', 'ntlmFakeAuth', 'basicNcsaAuth')
describe.skipIf(!haveSquid.ok)('squid: 502, 503 and 504 with X-Squid-Error, and 407 in forward mode', () => {
  let f: HttpFixture
  beforeAll(async () => {
    f = await startHttpFixture()
    return () => f.close()
  })

  it('forward mode, an origin that resets: 502 Bad Gateway with ERR_READ_ERROR, named and explained', async () => {
    const resetter = await server((s) => s.once('data', () => s.resetAndDestroy()))
    const squid = await startSquid()
    cleanup.push(() => squid.stop())
    const r = await run(specFor('sse', `127.0.0.1:${resetter}`, manual(squid.port, { mode: 'forward' })))
    const res = r.of('http.response')[0]!
    expect([res.status, res.statusText]).toEqual([502, 'Bad Gateway'])
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_ORIGIN_UNREACHABLE')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_ORIGIN_UNREACHABLE')!
    expect(d.title).toBe(`The proxy http://127.0.0.1:${squid.port} could not reach the origin`)
    expect(d.explanation).toContain('with 502 Bad Gateway and X-Squid-Error: ERR_READ_ERROR 104 (reading from the origin failed; errno 104: the connection was reset)')
    expect(d.explanation).toMatch(/Via: 1\.1 wiretrace-test-squid \(squid\/[\d.]+\)/)
    expect(d.explanation).toContain('A 502 means the answer from the origin was missing or broken')
  })

  it('forward mode, an origin that accepts and never answers: 504 Gateway Timeout after squid\'s read_timeout', async () => {
    const silent = await server(() => undefined)
    const squid = await startSquid({ readTimeoutS: 2 })
    cleanup.push(() => squid.stop())
    const r = await run({ ...specFor('poll', `127.0.0.1:${silent}`, manual(squid.port, { mode: 'forward' })), poll: { maxCycles: 1, timeoutMs: 10_000 } })
    expect(r.of('poll.cycle')[0]).toMatchObject({ status: 504, outcome: 'http-error' })
    expect(r.of('poll.cycle')[0]!.heldMs).toBeGreaterThanOrEqual(1500)
    const ds = r.of('diagnosis')
    expect(ds.map((d) => d.code)).toEqual(['WT_PROXY_ORIGIN_UNREACHABLE'])
    const d = ds[0]!
    expect(d.explanation).toContain('with 504 Gateway Timeout and X-Squid-Error: ERR_READ_TIMEOUT 0 (the origin did not answer the proxy in time)')
    expect(d.explanation).toContain('A 504 means the proxy gave up waiting for the origin\'s answer (its read timeout)')
    expect(d.suggestions.join(' ')).toContain('read timeout')
    expect(r.of('error').map((e) => e.code)).toContain('WT_PROXY_ORIGIN_UNREACHABLE')
  })

  it('CONNECT to a closed port: exactly 503 with ERR_CONNECT_FAIL 111, in words', async () => {
    const closed = await freePort()
    const squid = await startSquid()
    cleanup.push(() => squid.stop())
    const r = await run(specFor('ws', `127.0.0.1:${closed}`, manual(squid.port)))
    expect(r.of('proxy.connect')[0]!.statusLine).toBe('HTTP/1.1 503 Service Unavailable')
    expect(r.of('error')[0]!.message).toContain('X-Squid-Error: ERR_CONNECT_FAIL 111')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_ORIGIN_UNREACHABLE')!
    expect(d.explanation).toContain('It answered HTTP/1.1 503 Service Unavailable with X-Squid-Error: ERR_CONNECT_FAIL 111 (the proxy could not open a TCP connection to the origin; errno 111: connection refused)')
  })

  it('forward mode through an NTLM-only squid, with credentials: WT_PROXY_AUTH_UNSUPPORTED, CONNECT suggested', async () => {
    const squid = await startSquid({ auth: 'ntlm' })
    cleanup.push(() => squid.stop())
    const r = await run(specFor('sse', `127.0.0.1:${f.port}`, manual(squid.port, { mode: 'forward', auth: { username: 'alice', password: 'ntlm-pw-1' } })))
    expect(r.of('http.response')[0]!.status).toBe(407)
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_UNSUPPORTED')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_AUTH_UNSUPPORTED')!
    expect(d.title).toBe(`The proxy http://127.0.0.1:${squid.port} wants NTLM, which forward mode cannot send`)
    expect(d.explanation).toContain('It offers NTLM.')
    expect(d.explanation).toContain('In forward mode Wiretrace can send only Basic')
    expect(d.explanation).toContain('over a CONNECT tunnel it can answer with NTLM')
    expect(d.suggestions[0]).toContain('--proxy-mode connect')
  })

  it('forward mode, squid Basic, wrong password: WT_PROXY_AUTH_REJECTED on a stream', async () => {
    const squid = await startSquid({ auth: 'basic', users: { alice: 'right-pw-7' } })
    cleanup.push(() => squid.stop())
    const r = await run(specFor('stream', `127.0.0.1:${f.port}`, manual(squid.port, { mode: 'forward', auth: { username: 'alice', password: 'wrong-pw-7' } })))
    expect(r.of('http.response')[0]!.status).toBe(407)
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_REJECTED')
    expect(r.of('diagnosis').map((d) => d.code)).toEqual(['WT_PROXY_AUTH_REJECTED'])
  })

  it('forward mode strips Upgrade (squid\'s default): 200 instead of 101, Via named', async () => {
    const origin = await plainHttp(200)
    const squid = await startSquid()
    cleanup.push(() => squid.stop())
    const r = await run(specFor('ws', `127.0.0.1:${origin}`, manual(squid.port, { mode: 'forward' })))
    expect(r.of('http.response')[0]!.status).toBe(200)
    expect(r.of('error')[0]!.code).toBe('WT_UPGRADE_STRIPPED')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_UPGRADE_STRIPPED')!
    expect(d.title).toBe('The WebSocket upgrade was answered with 200 instead of 101')
    expect(d.explanation).toMatch(/A proxy in the path \(Via: 1\.1 wiretrace-test-squid \(squid\/[\d.]+\)\) removed the Upgrade and Connection headers/)
  })
})

describe('the lab strips Upgrade in forward mode', () => {
  for (const status of [200, 426]) {
    it(`the origin answers ${status}: WT_UPGRADE_STRIPPED names the status and the proxy`, async () => {
      const origin = await plainHttp(status, status === 426 ? { Upgrade: 'websocket' } : {})
      const l = await lab({ stripUpgrade: true })
      const r = await run(specFor('ws', `127.0.0.1:${origin}`, manual(l.port, { mode: 'forward' })))
      expect(r.of('http.response')[0]!.status).toBe(status)
      expect(r.of('error')[0]!.code).toBe('WT_UPGRADE_STRIPPED')
      const ds = r.of('diagnosis')
      expect(ds.map((d) => d.code)).toEqual(['WT_UPGRADE_STRIPPED'])
      expect(ds[0]!.title).toBe(`The WebSocket upgrade was answered with ${status} instead of 101`)
      // Named by its Via header, as a real forwarding proxy is (the lab adds Via to forwarded answers).
      expect(ds[0]!.explanation).toContain('The request went to the proxy in absolute-URI form (forward mode). A proxy in the path (Via: 1.1 wiretrace-lab) removed the Upgrade and Connection headers')
      expect(l.log().some((e) => e.event === 'stripped')).toBe(true)
    })
  }
})

describe('CONNECT answered by the proxy\'s error: 502 with X-Lab-Error', () => {
  it('names the lab\'s error header over CONNECT', async () => {
    const l = await lab()
    const closed = await freePort()
    const r = await run(specFor('ws', `127.0.0.1:${closed}`, manual(l.port)))
    expect(r.of('proxy.connect')[0]!.statusLine).toBe('HTTP/1.1 502 Bad Gateway')
    expect(r.of('error')[0]).toMatchObject({ code: 'WT_PROXY_ORIGIN_UNREACHABLE', message: `the proxy http://127.0.0.1:${l.port} could not reach 127.0.0.1:${closed} (HTTP/1.1 502 Bad Gateway, X-Lab-Error: ECONNREFUSED)` })
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_ORIGIN_UNREACHABLE')!
    expect(d.explanation).toContain('It answered HTTP/1.1 502 Bad Gateway with X-Lab-Error: ECONNREFUSED (the origin refused the connection: nothing listens on that port)')
  })
})

describe('407 challenges answered for real: what is offered and what we can do', () => {
  /** A CONNECT proxy that answers every request with 407 and the given challenges. */
  async function challenger(...challenges: string[]): Promise<number> {
    return server((s) => {
      let seen = ''
      s.on('data', (d) => {
        seen += d.toString('latin1')
        if (!seen.includes('\r\n\r\n')) return
        seen = ''
        const body = 'proxy authentication required\n'
        s.write(`HTTP/1.1 407 Proxy Authentication Required\r\n${challenges.map((c) => `Proxy-Authenticate: ${c}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\n${body}`)
      })
    })
  }

  it('Negotiate only, without credentials: cannot answer any', async () => {
    const p = await challenger('Negotiate')
    const r = await run({ url: 'ws://127.0.0.1:9/', transport: 'ws', network: manual(p), reconnect: { enabled: false } })
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_AUTH_REQUIRED')!
    expect(d.explanation).toContain('offers Negotiate. Wiretrace cannot answer any of these (it does Basic, Digest and NTLM).')
  })

  it('Negotiate only, with credentials: WT_PROXY_AUTH_UNSUPPORTED', async () => {
    const p = await challenger('Negotiate')
    const r = await run({ url: 'ws://127.0.0.1:9/', transport: 'ws', network: manual(p, { auth: { username: 'a', password: 'neg-pw-1' } }), reconnect: { enabled: false } })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_UNSUPPORTED')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_AUTH_UNSUPPORTED')!
    expect(d.title).toBe(`The proxy http://127.0.0.1:${p} offers no authentication scheme Wiretrace can do`)
    expect(d.explanation).toBe('It offers Negotiate; Wiretrace does Basic, Digest and NTLM.')
  })

  it('"NTLM, Basic" in one header, without credentials: both offered, both doable', async () => {
    const p = await challenger('NTLM, Basic realm="corp"')
    const r = await run({ url: 'ws://127.0.0.1:9/', transport: 'ws', network: manual(p), reconnect: { enabled: false } })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_REQUIRED')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_AUTH_REQUIRED')!
    expect(d.explanation).toBe('It answered the CONNECT with 407 Proxy Authentication Required and offers NTLM, Basic. Wiretrace can answer with NTLM, Basic.')
    expect(d.suggestions[0]).toBe('Add credentials to the proxy: user:password@ in the proxy URL (NTLM or Basic will be used).')
  })
})

describe('idle cuts with the silence each way, on every transport', () => {
  let f: HttpFixture
  beforeAll(async () => {
    f = await startHttpFixture()
    return () => f.close()
  })

  /** The closing error carries both figures; the diagnosis repeats them and names the proxy. */
  function expectIdleCut(r: Run, l: Lab, errCode = 'WT_CONNECTION_CLOSED'): void {
    const e = r.of('error').find((x) => x.sinceLastInMs !== undefined) as EventOf<'error'>
    expect(e, JSON.stringify(r.of('error'))).toBeTruthy()
    expect(e.code).toBe(errCode)
    expect(e.sinceLastInMs!).toBeGreaterThanOrEqual(1400)
    expect(e.sinceLastInMs!).toBeLessThan(3000)
    expect(e.sinceLastOutMs!).toBeGreaterThanOrEqual(1400)
    const d = r.of('diagnosis').find((x) => x.code === 'WT_IDLE_CUT')!
    expect(d, JSON.stringify(r.of('diagnosis'))).toBeTruthy()
    const silence = Math.min(e.sinceLastInMs!, e.sinceLastOutMs!)
    expect(d.title).toBe(`The connection was cut after about ${s1(silence)} of silence`)
    expect(d.explanation).toContain(`Nothing was received for ${s1(e.sinceLastInMs!)} and nothing sent for ${s1(e.sinceLastOutMs!)} before`)
    expect(d.explanation).toContain(`The proxy http://127.0.0.1:${l.port} on the path probably closes idle connections after about ${s1(silence)}`)
    expect(l.log().some((x) => x.event === 'closed' && x.detail!.startsWith('idle cut after 1500 ms'))).toBe(true)
  }

  it('SSE: one event, then silence', async () => {
    const l = await lab({ idleCutMs: 1500 })
    const r = await run({ url: `${f.url}/sse/events?n=1&close=0`, transport: 'sse', network: manual(l.port), sse: { reconnect: false } })
    expect(r.of('sse.event')).toHaveLength(1)
    expectIdleCut(r, l)
  })

  it('long-poll: a held request cut', async () => {
    const l = await lab({ idleCutMs: 1500 })
    const r = await run({ url: `${f.url}/poll?hold=6000`, transport: 'poll', network: manual(l.port, { mode: 'forward' }), poll: { maxCycles: 1 } })
    expect(r.of('poll.cycle')[0]).toMatchObject({ outcome: 'error', status: null, errorCode: 'WT_CONNECTION_CLOSED' })
    expectIdleCut(r, l)
  })

  it('raw stream: a line, then silence', async () => {
    const l = await lab({ idleCutMs: 1500 })
    const r = await run({ url: `${f.url}/stream/ndjson?n=2&gap=6000`, transport: 'stream', network: manual(l.port) })
    expect(r.of('stream.data')).toHaveLength(1)
    expectIdleCut(r, l)
  })

  it('HTTP/2 (h2c through the tunnel): one DATA chunk, then silence', async () => {
    const h2 = await startH2Fixture({ secure: false })
    cleanup.push(() => h2.close())
    const l = await lab({ idleCutMs: 1500 })
    const r = await run({ url: `${h2.url}/chunks?n=2&gap=6000`, transport: 'h2', network: manual(l.port) })
    expect(r.of('h2.stream').some((x) => x.phase === 'data')).toBe(true)
    expectIdleCut(r, l)
  })

  it('WebSocket: the figures of ws.close are in the explanation', async () => {
    const o = await wsServer((ws) => ws.send('hello then silence'))
    cleanup.push(() => o.close())
    const l = await lab({ idleCutMs: 1500 })
    const r = await run({ url: o.url, transport: 'ws', network: manual(l.port), reconnect: { enabled: false } })
    const close = r.of('ws.close').find((c) => c.dir !== 'out')!
    expect(close.sinceLastInMs!).toBeGreaterThanOrEqual(1400)
    const d = r.of('diagnosis').find((x) => x.code === 'WT_IDLE_CUT')!
    expect(d.explanation).toContain(`Nothing was received for ${s1(close.sinceLastInMs!)} and nothing sent for ${s1(close.sinceLastOutMs!)} before the connection dropped without a close frame (code 1006)`)
  })
})

describe('TLS interception: the flag that trusts a corporate CA for the origin is --ca', () => {
  it('untrusted (error) and trusted (warning) both name --ca, never --proxy-ca', async () => {
    const ca = makeCa('Origin CA for interception')
    const o = await wsServer((ws) => ws.send('x'), { tls: ca.issue(['localhost']) })
    cleanup.push(() => o.close())
    const l = await lab({ interceptTls: true })
    const url = o.url.replace('127.0.0.1', 'localhost')
    const bad = await run({ url, transport: 'ws', tls: { ca: [ca.caCert] }, network: manual(l.port), reconnect: { enabled: false } })
    const d1 = bad.of('diagnosis').find((x) => x.code === 'WT_TLS_INTERCEPTED')!
    expect(d1.severity).toBe('error')
    expect(d1.suggestions[0]).toContain('add it to the network profile (Origin CA files under "TLS to the origin"; originTls.caFiles in a profile)')
    expect(d1.suggestions[0]).toContain('for this connection only, --ca FILE (PEM; tls.ca in a spec)')
    const ok = await run({ url, transport: 'ws', tls: { ca: [ca.caCert, l.caCert] }, network: manual(l.port), maxMessages: 1 })
    expect(ok.end.exitCode, JSON.stringify(ok.of('error'))).toBe(0)
    const d2 = ok.of('diagnosis').find((x) => x.code === 'WT_TLS_INTERCEPTED')!
    expect(d2.severity).toBe('warning')
    expect(d2.suggestions[0]).toContain('--ca FILE')
    expect(d2.suggestions[0]).toContain('originTls.caFiles')
    for (const d of [d1, d2]) expect(d.suggestions.join(' ')).not.toContain('--proxy-ca')
  })
})

describe('forward mode through the lab, no squid needed: 504 and 502 from the proxy itself', () => {
  it('poll: an origin that never answers -> the lab\'s 504 after upstreamTimeoutMs, WT_PROXY_ORIGIN_UNREACHABLE naming it', async () => {
    const silent = await server(() => undefined)
    const l = await lab({ upstreamTimeoutMs: 1000 })
    const r = await run({ ...specFor('poll', `127.0.0.1:${silent}`, manual(l.port, { mode: 'forward' })), poll: { maxCycles: 1, timeoutMs: 10_000 } })
    expect(r.of('poll.cycle')[0]).toMatchObject({ status: 504, outcome: 'http-error' })
    expect(r.of('poll.cycle')[0]!.heldMs).toBeGreaterThanOrEqual(900)
    const ds = r.of('diagnosis')
    expect(ds.map((d) => d.code)).toEqual(['WT_PROXY_ORIGIN_UNREACHABLE'])
    const d = ds[0]!
    expect(d.title).toBe(`The proxy http://127.0.0.1:${l.port} could not reach the origin`)
    expect(d.explanation).toContain('answered the forwarded request itself with 504 Gateway Timeout and X-Lab-Error: upstream timeout (Via: 1.1 wiretrace-lab)')
    expect(d.explanation).toContain('A 504 means the proxy gave up waiting for the origin\'s answer (its read timeout)')
    expect(d.suggestions.join(' ')).toContain('read timeout')
    expect(r.of('error').map((e) => e.code)).toContain('WT_PROXY_ORIGIN_UNREACHABLE')
  })

  for (const [what, talk, header] of [
    ['resets', (s: net.Socket) => s.once('data', () => s.resetAndDestroy()), 'X-Lab-Error: ECONNRESET (the origin reset the connection)'],
    ['closes', (s: net.Socket) => s.once('data', () => s.end()), 'X-Lab-Error: origin closed'],
  ] as const) {
    it(`sse: an origin that ${what} without answering -> the lab's 502, WT_PROXY_ORIGIN_UNREACHABLE naming it`, async () => {
      const port = await server(talk)
      const l = await lab()
      const r = await run(specFor('sse', `127.0.0.1:${port}`, manual(l.port, { mode: 'forward' })))
      const res = r.of('http.response')[0]!
      expect([res.status, res.statusText]).toEqual([502, 'Bad Gateway'])
      expect(r.of('error')[0]!.code).toBe('WT_PROXY_ORIGIN_UNREACHABLE')
      const ds = r.of('diagnosis')
      expect(ds.map((d) => d.code)).toEqual(['WT_PROXY_ORIGIN_UNREACHABLE'])
      expect(ds[0]!.explanation).toContain(`answered the forwarded request itself with 502 Bad Gateway and ${header} (Via: 1.1 wiretrace-lab). The proxy is reachable and took the request`)
      expect(ds[0]!.explanation).toContain('A 502 means the answer from the origin was missing or broken')
    })
  }
})
