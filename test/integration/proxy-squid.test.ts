// WebSocket through a real squid (squid-openssl): CONNECT with Basic, Digest and NTLM
// (ntlm_fake_auth), the 443-only port policy, an unreachable origin (503 + X-Squid-Error),
// ssl-bump interception with a CA made in the test, and each diagnosis asserted.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { makeCa, type TestCa } from '../fixtures/certs.ts'
import { run } from '../fixtures/engine.ts'
import { freePort, peers, startSquid, type RunningProxy } from '../fixtures/proxies/index.ts'
import type { NetworkProfile } from '../../shared/common/spec/index.ts'
import { Diagnoser } from '../../shared/common/diagnose/index.ts'

const have = peers('squid', 'basicNcsaAuth', 'digestFileAuth', 'ntlmFakeAuth', 'certgen')

const cleanup: Array<{ close?: () => Promise<void>; stop?: () => Promise<void> }> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => (c.close ? c.close() : c.stop!())))
})
async function keep<T extends Running | RunningProxy>(p: Promise<T>): Promise<T> {
  const x = await p
  cleanup.push(x)
  return x
}
const echo = (): Promise<Running> => wsServer((ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })))

function viaProxy(proxy: RunningProxy, extra: Partial<Extract<NetworkProfile, { mode: 'manual' }>> = {}, auth?: { username: string; password: string }): NetworkProfile {
  return { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: proxy.port, ...(auth ? { auth } : {}) }, ...extra }
}

describe.skipIf(!have.ok)('WebSocket through squid', () => {
  let ca: TestCa
  let leaf: { cert: string; key: string }
  beforeAll(() => {
    ca = makeCa('Wiretrace Test Origin CA')
    leaf = ca.issue(['127.0.0.1', 'localhost'])
  })

  it('tunnels ws:// with CONNECT and records the rule, the proxy TCP hop and the exchange', async () => {
    const origin = await keep(echo())
    const squid = await keep(startSquid())
    const r = await run({ url: origin.url, transport: 'ws', network: viaProxy(squid), send: [{ kind: 'text', text: 'through squid' }], maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    const rule = r.of('proxy.rule')[0]!
    expect(rule).toMatchObject({ source: 'manual', chosen: `http://127.0.0.1:${squid.port}` })
    expect(r.of('tcp').map((t) => [t.target, t.remotePort])).toEqual([['proxy', squid.port]])
    const c = r.of('proxy.connect')
    expect(c).toHaveLength(1)
    expect(c[0]!.requestLine).toBe(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1`)
    expect(c[0]!.status).toBe(200)
    expect(r.of('http.response')[0]!.status).toBe(101)
    expect(r.of('ws.message').find((m) => m.dir === 'in')!.text).toBe('through squid')
    expect(r.of('open')[0]!.phases.proxy).toBeGreaterThan(0)
  })

  it('answers a 407 with Basic over wss://, never writing the password to the recording', async () => {
    const origin = await keep(wsServer((ws) => ws.send('secure hello'), { tls: leaf }))
    const squid = await keep(startSquid({ auth: 'basic', users: { alice: 'pa55-word' } }))
    const r = await run({ url: origin.url, transport: 'ws', tls: { ca: [ca.caCert] }, network: viaProxy(squid, {}, { username: 'alice', password: 'pa55-word' }), maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
    const legs = r.of('proxy.connect')
    expect(legs.map((l) => [l.leg, l.status, l.auth])).toEqual([
      [1, 407, null],
      [2, 200, 'basic'],
    ])
    expect(legs[0]!.responseHeaders.find(([k]) => k.toLowerCase() === 'proxy-authenticate')![1]).toMatch(/^Basic realm=/)
    expect(legs[0]!.bodyPreview ?? '').toMatch(/Cache Access Denied|ERR_CACHE_ACCESS_DENIED|authenticat/i)
    expect(legs[1]!.requestHeaders).toContainEqual(['Proxy-Authorization', 'Basic [redacted]'])
    const tls = r.of('tls')[0]!
    expect(tls.hop).toBe('origin')
    expect(tls.authorized).toBe(true)
    expect(tls.chain[0]!.issuer).toContain('Wiretrace Test Origin CA')
    const file = fs.readFileSync(r.file, 'utf8')
    expect(file).not.toContain('pa55-word')
    expect(file).not.toContain(Buffer.from('alice:pa55-word').toString('base64'))
  })

  it('diagnoses a 407 without credentials, naming the schemes offered', async () => {
    const origin = await keep(echo())
    const squid = await keep(startSquid({ auth: 'basic' }))
    const r = await run({ url: origin.url, transport: 'ws', network: viaProxy(squid) })
    expect(r.end.exitCode).toBe(4)
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_REQUIRED')
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_AUTH_REQUIRED')!
    expect(d.explanation).toContain('407')
    expect(d.explanation).toContain('Basic')
  })

  it('diagnoses rejected credentials', async () => {
    const origin = await keep(echo())
    const squid = await keep(startSquid({ auth: 'basic', users: { alice: 'right' } }))
    const r = await run({ url: origin.url, transport: 'ws', network: viaProxy(squid, {}, { username: 'alice', password: 'Wr0ng-Pw-x9' }) })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_AUTH_REJECTED')
    expect(r.of('proxy.connect').map((l) => l.status)).toEqual([407, 407])
    expect(r.of('diagnosis').map((d) => d.code)).toContain('WT_PROXY_AUTH_REJECTED')
    expect(fs.readFileSync(r.file, 'utf8')).not.toContain('Wr0ng-Pw-x9')
  })

  it('authenticates with Digest', async () => {
    const origin = await keep(echo())
    const squid = await keep(startSquid({ auth: 'digest', users: { bob: 'digest-pass' } }))
    const r = await run({ url: origin.url, transport: 'ws', network: viaProxy(squid, {}, { username: 'bob', password: 'digest-pass' }), send: [{ kind: 'text', text: 'd' }], maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error')) + squid.log().slice(-1500)).toBe(0)
    expect(r.of('proxy.connect').map((l) => [l.status, l.auth])).toEqual([
      [407, null],
      [200, 'digest'],
    ])
    expect(r.of('proxy.connect')[1]!.requestHeaders.find(([k]) => k === 'Proxy-Authorization')![1]).toBe('Digest [redacted]')
  })

  it('authenticates with NTLM (type 1, 2, 3 on one connection, checked by ntlm_fake_auth)', async () => {
    const origin = await keep(echo())
    const squid = await keep(startSquid({ auth: 'ntlm' }))
    const r = await run({ url: origin.url, transport: 'ws', network: viaProxy(squid, {}, { username: 'carol', password: 'ntlm-pass' }), send: [{ kind: 'text', text: 'n' }], maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error')) + squid.log().slice(-1500)).toBe(0)
    const legs = r.of('proxy.connect')
    expect(legs.map((l) => [l.status, l.auth])).toEqual([
      [407, null],
      [407, 'ntlm'],
      [200, 'ntlm'],
    ])
    expect(legs[1]!.responseHeaders.find(([k]) => k.toLowerCase() === 'proxy-authenticate')![1]).toMatch(/^NTLM \S+/)
    // One TCP connection to the proxy carried all three legs.
    expect(r.of('tcp').filter((t) => t.target === 'proxy')).toHaveLength(1)
    // The access log names the user squid authenticated.
    await new Promise((res) => setTimeout(res, 200))
    expect(squid.log()).toMatch(/carol/i)
  })

  it('diagnoses CONNECT refused by a 443-only port policy', async () => {
    const origin = await keep(echo())
    const squid = await keep(startSquid({ connectPorts: [443] }))
    const r = await run({ url: origin.url, transport: 'ws', network: viaProxy(squid) })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_CONNECT_REFUSED')
    expect(r.of('proxy.connect')[0]!.status).toBe(403)
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_CONNECT_REFUSED')!
    expect(d.explanation).toContain(`port ${origin.port}`)
    expect(d.suggestions.join(' ')).toMatch(/443/)
  })

  it('diagnoses an origin the proxy cannot reach (503 with X-Squid-Error)', async () => {
    const closed = await freePort()
    const squid = await keep(startSquid())
    const r = await run({ url: `ws://127.0.0.1:${closed}/`, transport: 'ws', network: viaProxy(squid) })
    expect(r.of('error')[0]!.code).toBe('WT_PROXY_ORIGIN_UNREACHABLE')
    const c = r.of('proxy.connect')[0]!
    expect(c.status).toBe(503)
    const d = r.of('diagnosis').find((x) => x.code === 'WT_PROXY_ORIGIN_UNREACHABLE')!
    expect(d.explanation).toContain('X-Squid-Error: ERR_CONNECT_FAIL')
    expect(d.explanation).toContain('could not open a TCP connection')
  })

  it('squid read_timeout cuts a silent tunnel: diagnosed as an idle cut with the silence each way', async () => {
    const origin = await keep(wsServer((ws) => ws.send('then silence')))
    const squid = await keep(startSquid({ readTimeoutS: 2 }))
    const r = await run({ url: origin.url, transport: 'ws', network: viaProxy(squid), reconnect: { enabled: false } })
    const close = r.of('ws.close').find((c) => c.dir !== 'out')!
    expect(close).toMatchObject({ code: 1006, initiator: 'network', wasClean: false })
    const d = new Diagnoser('x')
    const found = r.events.map((e) => d.observe(e)).find((x) => x?.code === 'WT_IDLE_CUT')!
    expect(found.title).toMatch(/after about (1\.[89]|2\.\d|3\.0) s of silence/)
    expect(found.explanation).toContain(`The proxy http://127.0.0.1:${squid.port}`)
  })

  it('speaks TLS to an HTTPS proxy, configured apart from TLS to the origin', async () => {
    const proxyCa = makeCa('Proxy Listener CA')
    const proxyLeaf = proxyCa.issue(['127.0.0.1'])
    const origin = await keep(wsServer((ws) => ws.send('two TLS hops'), { tls: leaf }))
    const squid = await keep(startSquid({ tls: { certPath: proxyLeaf.certPath, keyPath: proxyLeaf.keyPath } }))
    const network: NetworkProfile = { mode: 'manual', proxy: { kind: 'https', host: '127.0.0.1', port: squid.port }, proxyTls: { ca: [proxyCa.caCert] } }
    const r = await run({ url: origin.url, transport: 'ws', tls: { ca: [ca.caCert] }, network, maxMessages: 1 })
    expect(r.end.exitCode, JSON.stringify(r.of('error')) + squid.log().slice(-1500)).toBe(0)
    const hops = r.of('tls')
    expect(hops.map((t) => [t.hop, t.authorized, t.chain[0]!.issuer.split(',')[0]])).toEqual([
      ['proxy', true, 'CN=Proxy Listener CA'],
      ['origin', true, 'CN=Wiretrace Test Origin CA'],
    ])
    expect(r.of('proxy.connect')[0]!.status).toBe(200)
    expect(r.of('ws.message')[0]!.text).toBe('two TLS hops')
    // The proxy's certificate is checked with the proxy CA only: without it, the proxy hop fails.
    const bad = await run({ url: origin.url, transport: 'ws', tls: { ca: [ca.caCert] }, network: { ...network, proxyTls: {} }, reconnect: { enabled: false } })
    expect(bad.of('error')[0]!.code).toBe('WT_TLS_UNTRUSTED')
    expect(bad.of('tls')[0]!.hop).toBe('proxy')
    expect(bad.of('diagnosis').map((d) => d.code)).toEqual(['WT_PROXY_TLS'])
  })

  describe('ssl-bump (TLS interception)', () => {
    let bumpCa: TestCa
    beforeAll(() => {
      bumpCa = makeCa('Corp Squid Inspection CA')
    })
    afterAll(() => fs.rmSync(bumpCa.dir, { recursive: true, force: true }))

    it('names the interception CA when it is not trusted', async () => {
      const origin = await keep(wsServer((ws) => ws.send('x'), { tls: leaf }))
      const squid = await keep(startSquid({ sslBump: { certPath: bumpCa.caCertPath, keyPath: `${bumpCa.dir}/ca.key` } }))
      const r = await run({ url: origin.url.replace('127.0.0.1', 'localhost'), transport: 'ws', tls: { ca: [ca.caCert] }, network: viaProxy(squid) })
      expect(r.of('error')[0]!.code, squid.log().slice(-2000)).toBe('WT_TLS_UNTRUSTED')
      const tls = r.of('tls')[0]!
      expect(tls.chain[0]!.issuer).toContain('Corp Squid Inspection CA')
      const d = r.of('diagnosis').find((x) => x.code === 'WT_TLS_INTERCEPTED')!
      expect(d.title).toContain('Corp Squid Inspection CA')
      expect(d.suggestions.join(' ')).toMatch(/trust/i)
    })

    it('bumped, squid refuses WebSocket upgrades by default: 426 from the origin, diagnosed as Upgrade stripped', async () => {
      const server = http.createServer((_req, res) => {
        res.writeHead(426, { Upgrade: 'websocket' })
        res.end('Upgrade Required')
      })
      const tlsServer = https.createServer({ ...leaf }, (req, res) => server.emit('request', req, res))
      await new Promise<void>((res) => tlsServer.listen(0, '127.0.0.1', res))
      cleanup.push({ close: () => new Promise<void>((res) => tlsServer.close(() => res())) })
      const port = (tlsServer.address() as net.AddressInfo).port
      const squid = await keep(startSquid({ sslBump: { certPath: bumpCa.caCertPath, keyPath: `${bumpCa.dir}/ca.key` } }))
      const r = await run({ url: `wss://localhost:${port}/`, transport: 'ws', tls: { ca: [ca.caCert, bumpCa.caCert] }, network: viaProxy(squid), reconnect: { enabled: false } })
      expect(r.of('http.response')[0]!.status).toBe(426)
      expect(r.of('http.response')[0]!.headers.some(([k, v]) => k === 'Via' && v.includes('squid'))).toBe(true)
      const d = new Diagnoser('x')
      const found = r.events.map((e) => d.observe(e)).find((x) => x?.code === 'WT_UPGRADE_STRIPPED')!
      expect(found.explanation).toContain('Via: 1.1 wiretrace-test-squid')
      expect(found.suggestions.join(' ')).toContain('http_upgrade_request_protocols')
    })

    it('warns about interception when the corporate CA is trusted, and the connection works', async () => {
      const origin = await keep(wsServer((ws) => ws.send('bumped hello'), { tls: leaf }))
      // Bumped, squid sees the upgrade request itself: it must be told to allow WebSocket.
      const squid = await keep(startSquid({ upgrades: true, sslBump: { certPath: bumpCa.caCertPath, keyPath: `${bumpCa.dir}/ca.key` } }))
      const r = await run({ url: origin.url.replace('127.0.0.1', 'localhost'), transport: 'ws', tls: { ca: [ca.caCert, bumpCa.caCert] }, network: viaProxy(squid), maxMessages: 1 })
      expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
      expect(r.of('ws.message')[0]!.text).toBe('bumped hello')
      const d = r.of('diagnosis').find((x) => x.code === 'WT_TLS_INTERCEPTED')!
      expect(d.severity).toBe('warning')
      expect(d.title).toContain('Corp Squid Inspection CA')
    })
  })
})
