// Every transport through every kind of proxy it supports, end to end, against the in-process
// lab (one port that speaks HTTP CONNECT, absolute-URI forwarding and SOCKS4/4a/5) and a TLS
// front before it for the HTTPS-proxy kind. Each cell checks three things: the data arrived (the
// right count), the recording shows the route (proxy.rule, the CONNECT or SOCKS exchange, who
// resolved the origin's name, TLS hops, ALPN), and the lab's log saw this very connection
// (matched by the client port the recording's `tcp` event names).
//
// One lab, one set of origins and one CA are shared by all cells; each cell is a few small
// messages, so the whole matrix runs in a few seconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { startHttpFixture, type HttpFixture } from '../fixtures/servers/http.ts'
import { startH2Fixture, type H2Fixture } from '../fixtures/servers/http2.ts'
import { makeCa, type TestCa } from '../fixtures/certs.ts'
import { run, type Run } from '../fixtures/engine.ts'
import { runLab, type Lab, type LabLogEntry } from '../../shared/node/lab/index.ts'
import type { ConnectionSpec, NetworkProfile, ProxyTlsOptions } from '../../shared/common/spec/index.ts'

/** A TLS-terminating front: TLS from the client, plain TCP to `target`. Remembers which upstream port served which client port. */
interface Front {
  port: number
  /** Client's port (as our `tcp` event names it) → the front's port towards the target (as the lab logs it). */
  upstreamOf: Map<number, number>
  /** Subject CN of each client certificate presented (when `requestCert`). */
  clientCerts: string[]
  close(): Promise<void>
}

async function tlsFront(target: number, id: { cert: string; key: string }, opts: { ca?: string; requestCert?: boolean } = {}): Promise<Front> {
  const upstreamOf = new Map<number, number>()
  const clientCerts: string[] = []
  const live = new Set<net.Socket>()
  const server = tls.createServer({ cert: id.cert, key: id.key, ...(opts.requestCert ? { ca: opts.ca, requestCert: true, rejectUnauthorized: true } : {}) }, (down) => {
    if (opts.requestCert) clientCerts.push(String(down.getPeerCertificate().subject?.CN))
    const clientPort = down.remotePort!
    const up = net.connect(target, '127.0.0.1', () => upstreamOf.set(clientPort, up.localPort!))
    live.add(down)
    live.add(up)
    const end = (): void => {
      down.destroy()
      up.destroy()
      live.delete(down)
      live.delete(up)
    }
    down.on('error', end)
    up.on('error', end)
    down.on('close', end)
    up.on('close', end)
    down.pipe(up)
    up.pipe(down)
  })
  server.on('tlsClientError', () => undefined)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as net.AddressInfo).port,
    upstreamOf,
    clientCerts,
    close: () =>
      new Promise<void>((r) => {
        for (const s of live) s.destroy()
        server.close(() => r())
      }),
  }
}

let ca: TestCa
let proxyCa: TestCa
let lab: Lab
let proxyFront: Front
let ws: Running
let wss: Running
let http1: HttpFixture
let https1: Front
let h2: H2Fixture
let h2c: H2Fixture
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  ca = makeCa('Matrix Origin CA')
  const leaf = ca.issue(['localhost', '127.0.0.1'])
  proxyCa = makeCa('Matrix Proxy CA')
  const proxyLeaf = proxyCa.issue(['127.0.0.1'])
  const echo = (s: import('ws').WebSocket): void => void s.on('message', (d, bin) => s.send(d, { binary: bin }))
  ;[lab, ws, wss, http1, h2, h2c] = await Promise.all([
    runLab({}),
    wsServer(echo),
    wsServer(echo, { tls: leaf }),
    startHttpFixture(),
    startH2Fixture({ secure: true, ...leaf }),
    startH2Fixture({ secure: false }),
  ])
  // HTTPS for SSE, long-poll and streams: the same fixture behind TLS.
  https1 = await tlsFront(http1.port, leaf)
  proxyFront = await tlsFront(lab.port, proxyLeaf)
  closers.push(() => lab.close(), () => ws.close(), () => wss.close(), () => http1.close(), () => https1.close(), () => h2.close(), () => h2c.close(), () => proxyFront.close())
})
afterAll(async () => {
  await Promise.all(closers.splice(0).map((c) => c()))
})

// ---- transports -------------------------------------------------------------------------

interface TransportCase {
  name: string
  /** TLS to the origin. */
  secure: boolean
  /** ws:// or http:// over HTTP/1.1: the only requests an HTTP proxy may forward. */
  forwardable: boolean
  port(): number
  spec(host: string): ConnectionSpec
  /** The data arrived end to end, in the right count. */
  check(r: Run): void
}

const tlsOrigin = (): ConnectionSpec['tls'] => ({ ca: [ca.caCert] })

const TRANSPORTS: TransportCase[] = [
  {
    name: 'ws',
    secure: false,
    forwardable: true,
    port: () => ws.port,
    spec: (host) => ({ url: `ws://${host}:${ws.port}/`, transport: 'ws', send: [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }], maxMessages: 2 }),
    check: (r) => expect(r.of('ws.message').filter((m) => m.dir === 'in').map((m) => m.text)).toEqual(['a', 'b']),
  },
  {
    name: 'wss',
    secure: true,
    forwardable: false,
    port: () => wss.port,
    spec: (host) => ({ url: `wss://${host}:${wss.port}/`, transport: 'ws', tls: tlsOrigin(), send: [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }], maxMessages: 2 }),
    check: (r) => expect(r.of('ws.message').filter((m) => m.dir === 'in').map((m) => m.text)).toEqual(['a', 'b']),
  },
  ...(['http', 'https'] as const).flatMap((scheme): TransportCase[] => {
    const secure = scheme === 'https'
    const port = (): number => (secure ? https1.port : http1.port)
    const base = (host: string): string => `${scheme}://${host}:${port()}`
    const tlsOpt = (): Partial<ConnectionSpec> => (secure ? { tls: tlsOrigin() } : {})
    return [
      {
        name: `sse ${scheme}`,
        secure,
        forwardable: !secure,
        port,
        spec: (host) => ({ url: `${base(host)}/sse/events?n=3&close=0`, transport: 'sse', maxMessages: 3, ...tlsOpt() }),
        check: (r) => expect(r.of('sse.event').map((e) => e.data)).toEqual(['event 1', 'event 2', 'event 3']),
      },
      {
        name: `poll ${scheme}`,
        secure,
        forwardable: !secure,
        port,
        spec: (host) => ({ url: `${base(host)}/poll?hold=5`, transport: 'poll', poll: { maxCycles: 3, cursorFrom: { json: '$.cursor' }, cursorTo: { query: 'cursor' } }, ...tlsOpt() }),
        check: (r) => {
          const cycles = r.of('poll.cycle')
          expect(cycles.map((c) => [c.status, c.outcome])).toEqual([[200, 'data'], [200, 'data'], [200, 'data']])
          expect(cycles.map((c) => c.nextCursor)).toEqual(['1', '2', '3'])
        },
      },
      {
        name: `stream ${scheme}`,
        secure,
        forwardable: !secure,
        port,
        spec: (host) => ({ url: `${base(host)}/stream/ndjson?n=3&gap=5`, transport: 'stream', stream: { lines: true }, ...tlsOpt() }),
        check: (r) => expect(r.of('stream.line').map((l) => l.text)).toEqual(['{"i":1}', '{"i":2}', '{"i":3}']),
      },
    ]
  }),
  {
    name: 'h2',
    secure: true,
    forwardable: false,
    port: () => h2.port,
    spec: (host) => ({ url: `https://${host}:${h2.port}/chunks?n=3&gap=5`, transport: 'h2', tls: tlsOrigin() }),
    check: (r) => checkH2(r),
  },
  {
    name: 'h2c',
    secure: false,
    forwardable: false,
    port: () => h2c.port,
    spec: (host) => ({ url: `http://${host}:${h2c.port}/chunks?n=3&gap=5`, transport: 'h2' }),
    check: (r) => {
      checkH2(r)
      expect(r.of('h2.session').find((s) => s.which === 'remote-settings')!.alpn).toBe('h2c')
    },
  },
]

function checkH2(r: Run): void {
  const st = r.of('h2.stream')
  expect(st.find((s) => s.phase === 'response')!.status).toBe(200)
  expect(st.filter((s) => s.phase === 'data').reduce((a, s) => a + s.size!, 0)).toBe('chunk 1\n'.length * 3)
  expect(st.filter((s) => s.phase === 'end')).toHaveLength(1)
}

// ---- proxy kinds ------------------------------------------------------------------------

/** What the recording and the lab must show for one cell. */
interface Expect {
  source: 'manual' | 'pac' | 'env'
  rule: string | RegExp
  chosen: string
  fallbacks: string[]
  /** The exchange with the proxy. */
  exchange: 'connect' | 'forward' | 'socks4' | 'socks5'
  /** TLS to the proxy before the exchange (HTTPS proxy). */
  proxyTls: boolean
  /** Who resolved the origin's name. */
  originDns: 'local' | 'proxy' | 'literal'
  /** The host the lab was asked to reach (the name, or the address we resolved). */
  labTarget: string
}

interface KindCase {
  name: string
  /** The origin host in the URL: a name, so that who resolves it matters; an address for the PAC "PROXY" case. */
  host: 'localhost' | '127.0.0.1'
  network(t: TransportCase): NetworkProfile
  expect(t: TransportCase): Expect
}

const labHttp = (): string => `http://127.0.0.1:${lab.port}`
const manual = (kind: 'http' | 'https' | 'socks4' | 'socks4a' | 'socks5' | 'socks5h', extra: Partial<Extract<NetworkProfile, { mode: 'manual' }>> = {}): NetworkProfile => ({
  mode: 'manual',
  proxy: { kind, host: '127.0.0.1', port: kind === 'https' ? proxyFront.port : lab.port },
  ...extra,
})
const socksKind = (kind: 'socks4' | 'socks4a' | 'socks5' | 'socks5h'): KindCase => ({
  name: kind,
  host: 'localhost',
  network: () => manual(kind),
  expect: () => {
    const remote = kind === 'socks4a' || kind === 'socks5h'
    return {
      source: 'manual',
      rule: 'manual proxy',
      chosen: `${kind}://127.0.0.1:${lab.port}`,
      fallbacks: [],
      exchange: kind.startsWith('socks4') ? 'socks4' : 'socks5',
      proxyTls: false,
      originDns: remote ? 'proxy' : 'local',
      labTarget: remote ? 'localhost' : '127.0.0.1',
    }
  },
})

const PAC = (): string => `function FindProxyForURL(url, host) {
  if (host === "localhost") return "SOCKS5 127.0.0.1:${lab.port}; DIRECT";
  return "PROXY 127.0.0.1:${lab.port}; DIRECT";
}`

/** ws_proxy for ws://, https_proxy for wss:// and https://, all_proxy for the rest (http://). */
const ENV = (): Record<string, string> => ({ ws_proxy: labHttp(), https_proxy: labHttp(), all_proxy: `socks5h://127.0.0.1:${lab.port}` })

const KINDS: KindCase[] = [
  {
    name: 'http CONNECT',
    host: 'localhost',
    network: () => manual('http', { httpMode: 'connect' }),
    expect: () => ({ source: 'manual', rule: 'manual proxy', chosen: labHttp(), fallbacks: [], exchange: 'connect', proxyTls: false, originDns: 'proxy', labTarget: 'localhost' }),
  },
  {
    // Forwarding is possible only for plain HTTP/1.1 (ws://, http://); wss://, https://, h2 and h2c must tunnel even when forward is asked.
    name: 'http forward',
    host: 'localhost',
    network: () => manual('http', { httpMode: 'forward' }),
    expect: (t) => ({ source: 'manual', rule: 'manual proxy', chosen: labHttp(), fallbacks: [], exchange: t.forwardable ? 'forward' : 'connect', proxyTls: false, originDns: 'proxy', labTarget: 'localhost' }),
  },
  {
    name: 'https proxy',
    host: 'localhost',
    network: () => manual('https', { proxyTls: { ca: [proxyCa.caCert] } }),
    expect: () => ({ source: 'manual', rule: 'manual proxy', chosen: `https://127.0.0.1:${proxyFront.port}`, fallbacks: [], exchange: 'connect', proxyTls: true, originDns: 'proxy', labTarget: 'localhost' }),
  },
  socksKind('socks4'),
  socksKind('socks4a'),
  socksKind('socks5'),
  socksKind('socks5h'),
  {
    name: 'PAC SOCKS5',
    host: 'localhost',
    network: () => ({ mode: 'pac', pacScript: PAC() }),
    // PAC "SOCKS5" resolves names at the proxy, as Chrome does.
    expect: () => ({ source: 'pac', rule: `FindProxyForURL → "SOCKS5 127.0.0.1:${lab.port}; DIRECT"`, chosen: `socks5h://127.0.0.1:${lab.port}`, fallbacks: ['DIRECT'], exchange: 'socks5', proxyTls: false, originDns: 'proxy', labTarget: 'localhost' }),
  },
  {
    name: 'PAC PROXY',
    host: '127.0.0.1',
    network: () => ({ mode: 'pac', pacScript: PAC() }),
    expect: () => ({ source: 'pac', rule: `FindProxyForURL → "PROXY 127.0.0.1:${lab.port}; DIRECT"`, chosen: labHttp(), fallbacks: ['DIRECT'], exchange: 'connect', proxyTls: false, originDns: 'literal', labTarget: '127.0.0.1' }),
  },
  {
    name: 'env',
    host: 'localhost',
    network: () => ({ mode: 'env', env: ENV() }),
    expect: (t) => {
      const u = new URL(t.spec('localhost').url)
      if (u.protocol === 'ws:') return { source: 'env', rule: 'ws_proxy', chosen: labHttp(), fallbacks: [], exchange: 'connect', proxyTls: false, originDns: 'proxy', labTarget: 'localhost' }
      if (u.protocol === 'wss:' || u.protocol === 'https:') return { source: 'env', rule: 'https_proxy', chosen: labHttp(), fallbacks: [], exchange: 'connect', proxyTls: false, originDns: 'proxy', labTarget: 'localhost' }
      return { source: 'env', rule: 'all_proxy', chosen: `socks5h://127.0.0.1:${lab.port}`, fallbacks: [], exchange: 'socks5', proxyTls: false, originDns: 'proxy', labTarget: 'localhost' }
    },
  },
]

/** Lab log entries of the connections this run made (matched by client port, through the front for an HTTPS proxy). */
function labEntries(r: Run, viaFront: boolean): LabLogEntry[] {
  const ports = r.of('tcp').filter((t) => t.target === 'proxy').map((t) => (viaFront ? proxyFront.upstreamOf.get(t.localPort) : t.localPort))
  const clients = new Set(ports.map((p) => `127.0.0.1:${p}`))
  const conns = new Set(lab.log().filter((e) => clients.has(e.client)).map((e) => e.conn))
  return lab.log().filter((e) => conns.has(e.conn))
}

function checkRoute(r: Run, t: TransportCase, k: KindCase, x: Expect): void {
  const host = k.host
  const port = t.port()
  // Which rule chose the route (one per dial: long-poll may dial more than once).
  const rules = r.of('proxy.rule')
  expect(rules.length).toBeGreaterThan(0)
  for (const rule of rules) {
    expect(rule).toMatchObject({ source: x.source, chosen: x.chosen, fallbacks: x.fallbacks })
    if (typeof x.rule === 'string') expect(rule.rule).toBe(x.rule)
    else expect(rule.rule).toMatch(x.rule)
    // The detail never claims forwarding when the bytes went through a tunnel.
    if (x.exchange === 'forward') expect(rule.detail).toMatch(/^forward mode: absolute-URI request/)
    else expect(rule.detail ?? '').not.toMatch(/^forward mode/)
    if (k.name === 'http forward' && x.exchange === 'connect' && !t.secure) expect(rule.detail).toMatch(/^CONNECT tunnel: forward mode was asked, but h2c cannot be forwarded/)
  }
  // Nothing went to the origin directly.
  const tcps = r.of('tcp')
  expect(tcps.length).toBeGreaterThan(0)
  expect(tcps.every((c) => c.target === 'proxy' && c.remotePort === (x.proxyTls ? proxyFront.port : lab.port))).toBe(true)
  const dials = tcps.length

  // The exchange with the proxy.
  const connects = r.of('proxy.connect')
  const socks = r.of('proxy.socks')
  if (x.exchange === 'connect') {
    expect(connects.map((c) => [c.requestLine, c.status])).toEqual(Array(dials).fill([`CONNECT ${host}:${port} HTTP/1.1`, 200]))
    expect(socks).toHaveLength(0)
  } else if (x.exchange === 'forward') {
    expect(connects).toHaveLength(0)
    expect(socks).toHaveLength(0)
  } else {
    expect(connects).toHaveLength(0)
    const v = x.exchange === 'socks4' ? 4 : 5
    const steps = x.exchange === 'socks4' ? [['connect', 'request granted']] : [['greeting', 'chose no authentication'], ['connect', 'succeeded']]
    expect(socks.map((s) => [s.step, s.replyText])).toEqual(Array(dials).fill(steps).flat())
    expect(socks.every((s) => s.version === v && s.proxy === x.chosen)).toBe(true)
  }

  // Who resolved the origin's name: once per dial, and never both.
  const originDns = r.of('dns').filter((d) => d.target === 'origin')
  expect(originDns.map((d) => d.via)).toEqual(Array(dials).fill(x.originDns))
  for (const d of originDns) {
    expect(d.host).toBe(host)
    if (x.originDns === 'proxy') expect(d.addresses).toEqual([])
    else expect(d.addresses.map((a) => a.address)).toContain('127.0.0.1')
  }

  // TLS hops: to the proxy first (HTTPS proxy), then to the origin through the tunnel.
  const hops = r.of('tls').map((h) => h.hop)
  const perDial = [...(x.proxyTls ? ['proxy'] : []), ...(t.secure ? ['origin'] : [])]
  expect(hops).toEqual(Array(dials).fill(perDial).flat())
  for (const h of r.of('tls')) {
    expect(h.authorized, h.authorizationError).toBe(true)
    if (h.hop === 'proxy') expect(h.alpn ?? 'http/1.1').toBe('http/1.1')
    if (h.hop === 'origin' && host !== '127.0.0.1') expect(h.servername).toBe(host)
    if (h.hop === 'origin' && t.name === 'h2') expect(h.alpn).toBe('h2')
  }

  // The lab saw these connections, asked for the right target.
  const seen = labEntries(r, x.proxyTls)
  const target = `${x.labTarget}:${port}`
  if (x.exchange === 'forward') {
    const fwd = seen.filter((e) => e.event === 'forward')
    expect(fwd.length, JSON.stringify(seen)).toBe(dials)
    for (const e of fwd) expect(e.detail).toMatch(new RegExp(`^GET /\\S* to ${target.replace(/\./g, '\\.')}$`))
    expect(seen.some((e) => e.event === 'tunnel')).toBe(false)
  } else {
    expect(seen.filter((e) => e.event === 'tunnel').map((e) => e.detail), JSON.stringify(seen)).toEqual(Array(dials).fill(target))
    const ask = x.exchange === 'connect' ? seen.filter((e) => e.event === 'request').map((e) => e.detail) : seen.filter((e) => e.event === x.exchange).map((e) => e.detail)
    expect(ask).toEqual(Array(dials).fill(x.exchange === 'connect' ? `CONNECT ${host}:${port} HTTP/1.1` : `CONNECT ${target}`))
  }
}

describe('every transport through every proxy kind it supports (the lab)', () => {
  for (const t of TRANSPORTS) {
    describe(t.name, () => {
      for (const k of KINDS) {
        it(`via ${k.name}`, async () => {
          const r = await run({ ...t.spec(k.host), network: k.network(t), reconnect: { enabled: false } })
          expect(r.end.exitCode, JSON.stringify([...r.of('error'), ...r.of('diagnosis')])).toBe(0)
          t.check(r)
          checkRoute(r, t, k, k.expect(t))
        })
      }
    })
  }
})

describe('TLS to an HTTPS proxy whatever chose it (proxyTls)', () => {
  // proxyTls is the same for every mode; NetworkProfile types it on `manual` only so far.
  const withProxyTls = (n: NetworkProfile, proxyTls: ProxyTlsOptions): NetworkProfile => ({ ...n, proxyTls }) as NetworkProfile
  const httpsPac = (): string => `function FindProxyForURL(url, host) { return "HTTPS 127.0.0.1:${proxyFront.port}"; }`

  for (const [name, network, rule] of [
    ['PAC "HTTPS host:port"', () => ({ mode: 'pac', pacScript: httpsPac() }) as NetworkProfile, () => `FindProxyForURL → "HTTPS 127.0.0.1:${proxyFront.port}"`],
    ['env https_proxy=https://', () => ({ mode: 'env', env: { https_proxy: `https://127.0.0.1:${proxyFront.port}` } }) as NetworkProfile, () => 'https_proxy'],
    ['system', () => ({ mode: 'system', resolved: `HTTPS 127.0.0.1:${proxyFront.port}` }) as NetworkProfile, () => `HTTPS 127.0.0.1:${proxyFront.port}`],
  ] as const) {
    it(`${name}: the proxy's CA is trusted for the proxy hop only`, async () => {
      const spec = { url: `wss://localhost:${wss.port}/`, transport: 'ws' as const, tls: tlsOrigin(), send: [{ kind: 'text' as const, text: 'p' }], maxMessages: 1, reconnect: { enabled: false } }
      const r = await run({ ...spec, network: withProxyTls(network(), { ca: [proxyCa.caCert] }) })
      expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
      expect(r.of('proxy.rule')[0]).toMatchObject({ chosen: `https://127.0.0.1:${proxyFront.port}`, rule: rule() })
      expect(r.of('tls').map((h) => [h.hop, h.authorized])).toEqual([['proxy', true], ['origin', true]])
      expect(r.of('ws.message').find((m) => m.dir === 'in')!.text).toBe('p')
      // Without it, the proxy's certificate is untrusted: the proxy hop fails, named as such.
      const bad = await run({ ...spec, network: network() })
      expect(bad.end.exitCode).not.toBe(0)
      expect(bad.of('tls').map((h) => [h.hop, h.authorized])).toEqual([['proxy', false]])
    })
  }

  it('a client certificate for the proxy hop, chosen by PAC', async () => {
    const client = proxyCa.issue(['client.test'], { client: true, cn: 'matrix-client' })
    const front = await tlsFront(lab.port, proxyCa.issue(['127.0.0.1']), { ca: proxyCa.caCert, requestCert: true })
    closers.push(() => front.close())
    const network = withProxyTls({ mode: 'pac', pacScript: `function FindProxyForURL(u, h) { return "HTTPS 127.0.0.1:${front.port}"; }` }, { ca: [proxyCa.caCert], cert: client.cert, key: client.key })
    const r = await run({ url: `ws://localhost:${ws.port}/`, transport: 'ws', network, send: [{ kind: 'text', text: 'c' }], maxMessages: 1, reconnect: { enabled: false } })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    expect(front.clientCerts).toEqual(['matrix-client'])
    expect(r.of('tls').map((h) => h.hop)).toEqual(['proxy'])
  })

  // Known failing, outside net/proxy: redactSpec (shared/common/redact.ts, the `network` branch)
  // redacts proxyTls only for `mode: 'manual'`; a PAC, env or system profile's proxyTls.key is
  // written to the recording header as is. Fix there: redact proxyTls (key, passphrase; ca/cert
  // to "[pem]") for every mode, as for manual. Flip to `it` when fixed.
  it('the proxy-hop key of a PAC profile never reaches the recording', async () => {
    const client = proxyCa.issue(['client.test'], { client: true, cn: 'matrix-client' })
    const network = withProxyTls({ mode: 'pac', pacScript: httpsPac() }, { ca: [proxyCa.caCert], cert: client.cert, key: client.key })
    const r = await run({ url: `ws://localhost:${ws.port}/`, transport: 'ws', network, send: [{ kind: 'text', text: 'k' }], maxMessages: 1, reconnect: { enabled: false } })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    expect(fs.readFileSync(r.file, 'utf8')).not.toContain('PRIVATE KEY')
  })
})
