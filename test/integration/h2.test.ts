// The HTTP/2 transport against real node:http2 servers on 127.0.0.1 (TLS with a CA made in
// the test, and h2c prior knowledge): streams, settings, ping, windows, hostile servers.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { makeCa, type TestCa } from '../fixtures/certs.ts'
import { startBigFrameH2Fixture, startH2Fixture, startHttp1Fixture, startHttp1TlsFixture, startSilentTcpFixture, type H2Fixture } from '../fixtures/servers/http2.ts'
import { run, start } from '../fixtures/engine.ts'
import { runLab } from '../../shared/node/lab/index.ts'

let ca: TestCa
let leaf: { cert: string; key: string }
beforeAll(() => {
  ca = makeCa()
  leaf = ca.issue(['127.0.0.1', 'localhost'])
})
const fixtures: H2Fixture[] = []
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()))
})
async function keep<F extends H2Fixture>(p: Promise<F>): Promise<F> {
  const f = await p
  fixtures.push(f)
  return f
}

describe('h2: sessions and streams', () => {
  it('TLS + ALPN h2: one session, concurrent streams, settings, data sizes, end', async () => {
    const f = await keep(startH2Fixture({ secure: true, ...leaf }))
    const r = await run({ url: `${f.url}/small`, transport: 'h2', tls: { ca: [ca.caCert] }, h2: { concurrency: 5, pingIntervalMs: 50 } })
    expect(r.end.exitCode).toBe(0)
    expect(r.of('tls')[0]!.alpn).toBe('h2')
    expect(f.sessions).toBe(1)
    const streams = r.of('h2.stream')
    const ids = new Set(streams.map((s) => s.streamId))
    expect(ids.size).toBe(5)
    expect(streams.filter((s) => s.phase === 'response').every((s) => s.status === 200)).toBe(true)
    expect(streams.filter((s) => s.phase === 'data').every((s) => s.size === 2)).toBe(true)
    expect(streams.filter((s) => s.phase === 'end')).toHaveLength(5)
    const sess = r.of('h2.session')
    expect(sess.some((s) => s.which === 'remote-settings')).toBe(true)
    expect(sess.find((s) => s.which === 'remote-settings')!.alpn).toBe('h2')
    expect(r.of('h2.ping').length).toBeGreaterThanOrEqual(1)
    expect(r.of('h2.ping')[0]!.rttMs).toBeGreaterThanOrEqual(0)
  })

  it('h2c prior knowledge, a list of paths, trailers, and configured windows', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = start(
      { url: `${f.url}/`, transport: 'h2', h2: { paths: ['/trailers', '/big?mb=4', '/chunks?n=3&gap=10'], initialWindowSize: 1 << 20, sessionWindowSize: 8 << 20 } },
      { statsIntervalMs: 20 },
    )
    const end = await r.conn.done
    expect(end.exitCode).toBe(0)
    const local = r.of('h2.session').find((s) => s.which === 'local-settings')!
    expect(local.localSettings.initialWindowSize).toBe(1 << 20)
    const trailers = r.of('h2.stream').find((s) => s.phase === 'trailers')!
    expect(trailers.headers).toContainEqual(['x-done', 'yes'])
    const big = r.of('h2.stream').filter((s) => s.phase === 'data' && s.streamId === 3)
    expect(big.reduce((a, s) => a + s.size!, 0)).toBe(4 * 1024 * 1024)
    const stats = r.of('stats').filter((s) => s.h2LocalWindow !== undefined)
    expect(stats.length).toBeGreaterThan(0)
  })

  it('records RST_STREAM with its code name', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = await run({ url: `${f.url}/rst`, transport: 'h2' })
    const rst = r.of('h2.stream').find((s) => s.phase === 'rst')!
    expect(rst).toMatchObject({ rstCode: 2, rstName: 'INTERNAL_ERROR' })
    expect(r.of('h2.stream').some((s) => s.phase === 'data')).toBe(true)
    expect(r.of('error').some((e) => e.code === 'WT_H2_STREAM_RESET')).toBe(true)
    expect(r.end.exitCode).not.toBe(0)
  })

  it('records GOAWAY mid-stream with code, last stream id and debug data', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = await run({ url: `${f.url}/goaway`, transport: 'h2' })
    const g = r.of('h2.goaway')[0]!
    // One request on the session: stream 1, which the server names as the last it processed.
    expect(g).toMatchObject({ errorCode: 11, errorName: 'ENHANCE_YOUR_CALM', opaqueData: 'calm down', lastStreamId: 1 })
    const e = r.of('error').find((x) => x.code === 'WT_H2_GOAWAY')!
    expect(e.detail).toMatchObject({ errorCode: 11, lastStreamId: 1 })
    expect(e.message).toMatch(/last stream 1\b/)
    expect(r.end.exitCode).not.toBe(0)
  })

  it("records the server's SETTINGS and keeps within its maxConcurrentStreams", async () => {
    const f = await keep(startH2Fixture({ secure: false, settings: { maxConcurrentStreams: 7, maxHeaderListSize: 32768 } }))
    const r = await run({ url: `${f.url}/chunks?n=2&gap=20`, transport: 'h2', h2: { concurrency: 20 } })
    expect(r.end.exitCode).toBe(0)
    const remote = r.of('h2.session').find((s) => s.which === 'remote-settings')!
    expect(remote.remoteSettings).toMatchObject({ maxConcurrentStreams: 7, maxHeaderListSize: 32768 })
    // Streams in flight, from the recording: never more than the server allows, and that many at once.
    let open = 0
    let most = 0
    for (const s of r.of('h2.stream')) {
      if (s.phase === 'headers-sent') most = Math.max(most, ++open)
      else if (s.phase === 'end' || s.phase === 'rst') open--
    }
    expect(most).toBe(7)
    expect(r.of('h2.stream').filter((s) => s.phase === 'end')).toHaveLength(20)
  })

  it('maxFrameSize goes out in SETTINGS and lets the server send DATA frames over 16 KiB', async () => {
    const f = await keep(startBigFrameH2Fixture({ frameSize: 40_000, frames: 8 }))
    const windows = { initialWindowSize: 1 << 20, sessionWindowSize: 4 << 20 }
    const dataSizes = (x: Awaited<ReturnType<typeof run>>): number[] =>
      x.of('h2.stream')
        .filter((s) => s.phase === 'data')
        .flatMap((s) => s.sizes ?? [s.size!])
    const r = await run({ url: `${f.url}/big`, transport: 'h2', h2: { ...windows, maxFrameSize: 65_536 } })
    expect(r.end.exitCode).toBe(0)
    expect(r.of('h2.session').find((s) => s.which === 'local-settings')!.localSettings.maxFrameSize).toBe(65_536)
    expect(f.clientMaxFrameSize).toBe(65_536)
    const big = dataSizes(r)
    expect(big.reduce((a, n) => a + n, 0)).toBe(8 * 40_000)
    expect(Math.max(...big)).toBeGreaterThan(16_384)
    // The control: the same server and windows without maxFrameSize give 16 KiB frames at most.
    const d = await run({ url: `${f.url}/big`, transport: 'h2', h2: windows })
    expect(d.end.exitCode).toBe(0)
    const small = dataSizes(d)
    expect(small.reduce((a, n) => a + n, 0)).toBe(8 * 16_384)
    expect(Math.max(...small)).toBeLessThanOrEqual(16_384)
  })
})

describe('h2: says where it stuck instead of hanging', () => {
  it('ALPN gives http/1.1: WT_H2_ALPN naming what was negotiated', async () => {
    const f = await keep(startHttp1TlsFixture(leaf.cert, leaf.key))
    const r = await run({ url: `${f.url}/`, transport: 'h2', tls: { ca: [ca.caCert] } })
    const e = r.of('error')[0]!
    expect(e.code).toBe('WT_H2_ALPN')
    expect(e.message).toMatch(/"http\/1.1"/)
    expect(r.of('diagnosis')[0]!.code).toBe('WT_H2_ALPN')
    expect(r.end.exitCode).toBe(6)
  })

  it('h2c prior knowledge against an HTTP/1.1 server fails fast', async () => {
    const f = await keep(startHttp1Fixture())
    const t0 = Date.now()
    const r = await run({ url: `${f.url}/`, transport: 'h2', h2: { timeoutMs: 5000 } })
    // Fails on the server's answer, long before the SETTINGS timeout would fire.
    expect(Date.now() - t0).toBeLessThan(2500)
    // The first and only fatal error names the protocol mismatch (no stream was ever opened).
    const fatal = r.of('error').filter((e) => e.fatal)
    expect(fatal.map((e) => e.code)).toEqual(['WT_H2_PROTOCOL'])
    expect(r.of('error')[0]!.code).toBe('WT_H2_PROTOCOL')
    expect(fatal[0]!.message).not.toMatch(/stream\(s\) unfinished/)
    // The server's answer (node's "HTTP/1.1 400 Bad Request", 47 bytes) is counted; node:http2
    // reads the socket natively, so it cannot be quoted.
    expect(fatal[0]!.message).toMatch(/not an HTTP\/2 SETTINGS frame/)
    expect(fatal[0]!.message).toMatch(/prior knowledge \(h2c\)/)
    expect(fatal[0]!.detail).toMatchObject({ waitingFor: 'settings', priorKnowledge: true })
    expect(fatal[0]!.detail!.bytesReceived).toBeGreaterThan(0)
    const d = r.of('diagnosis').find((x) => x.code === 'WT_H2_PROTOCOL')!
    expect(d).toMatchObject({ severity: 'error' })
    expect(d.explanation).toMatch(/h2c/)
    expect(d.suggestions.join(' ')).toMatch(/https:\/\//)
    expect(r.of('h2.stream')).toHaveLength(0)
    expect(r.end.exitCode).not.toBe(0)
  })

  it("a server that accepts and says nothing: WT_H2_TIMEOUT waiting for its SETTINGS, within the timeout", async () => {
    const f = await keep(startSilentTcpFixture())
    const timeoutMs = 500
    const r = await run({ url: `${f.url}/`, transport: 'h2', h2: { timeoutMs } })
    const fatal = r.of('error').filter((e) => e.fatal)
    expect(fatal.map((e) => e.code)).toEqual(['WT_H2_TIMEOUT'])
    expect(fatal[0]!.detail).toMatchObject({ waitingFor: 'settings', timeoutMs })
    expect(fatal[0]!.message).toMatch(/SETTINGS/)
    // The timer starts once the TCP connection is up and fires on time, not at some later wait.
    const tcpAt = r.of('tcp')[0]!.ts
    expect(fatal[0]!.ts - tcpAt).toBeGreaterThanOrEqual(timeoutMs - 20)
    expect(fatal[0]!.ts - tcpAt).toBeLessThan(timeoutMs + 700)
    expect(r.of('open')).toHaveLength(0)
    expect(r.end.exitCode).not.toBe(0)
  })

  it('a server that closes before its SETTINGS: WT_CONNECTION_CLOSED at the handshake, no stream named', async () => {
    const f = await keep(startSilentTcpFixture({ close: true }))
    const r = await run({ url: `${f.url}/`, transport: 'h2', h2: { timeoutMs: 2000 } })
    const fatal = r.of('error').filter((e) => e.fatal)
    expect(fatal.map((e) => e.code)).toEqual(['WT_CONNECTION_CLOSED'])
    expect(fatal[0]).toMatchObject({ phase: 'handshake', detail: { waitingFor: 'settings', bytesReceived: 0 } })
    expect(fatal[0]!.message).toMatch(/before sending its SETTINGS frame/)
    expect(fatal[0]!.message).not.toMatch(/stream\(s\) unfinished/)
    expect(r.end.exitCode).not.toBe(0)
  })

  it('through a CONNECT proxy, the proxy\'s own reply is not counted as the server\'s answer', async () => {
    const f = await keep(startSilentTcpFixture({ close: true }))
    // The project's proxy lab, CONNECT by default: its "200 Connection established" is the path's, not the server's.
    const lab = await runLab()
    try {
      const r = await run({ url: `${f.url}/`, transport: 'h2', h2: { timeoutMs: 2000 }, network: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: lab.port } } })
      expect(r.of('proxy.connect')[0]?.status).toBe(200)
      const fatal = r.of('error').filter((e) => e.fatal)
      expect(fatal.map((e) => e.code)).toEqual(['WT_CONNECTION_CLOSED'])
      expect(fatal[0]!.detail).toMatchObject({ waitingFor: 'settings', bytesReceived: 0 })
      expect(r.of('diagnosis').filter((d) => d.code === 'WT_H2_PROTOCOL')).toEqual([])
    } finally {
      await lab.close()
    }
  })

  it('TLS where ALPN says h2 but the server then speaks HTTP/1.1: WT_H2_PROTOCOL and a diagnosis about what terminates TLS', async () => {
    // A TLS server that advertises h2 and answers like an HTTP/1.1 server (a misconfigured TLS terminator).
    const srv = tls.createServer({ ...leaf, ALPNProtocols: ['h2'] }, (sock) => {
      sock.on('error', () => undefined)
      sock.once('data', () => sock.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'))
    })
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    try {
      const port = (srv.address() as net.AddressInfo).port
      const r = await run({ url: `https://127.0.0.1:${port}/`, transport: 'h2', tls: { ca: [ca.caCert] }, h2: { timeoutMs: 2000 } })
      expect(r.of('tls')[0]?.alpn).toBe('h2')
      const fatal = r.of('error').filter((e) => e.fatal)
      expect(fatal.map((e) => e.code)).toEqual(['WT_H2_PROTOCOL'])
      expect(fatal[0]!.message).toMatch(/ALPN selected h2 but the server does not speak HTTP\/2/)
      const d = r.of('diagnosis').filter((x) => x.code === 'WT_H2_PROTOCOL')
      expect(d).toHaveLength(1)
      expect(d[0]!.title).toBe('ALPN chose h2, but what answered does not speak HTTP/2')
      expect(d[0]!.explanation).toMatch(/TLS/)
    } finally {
      await new Promise<void>((r) => srv.close(() => r()))
    }
  })

  it('a server that sends a few non-HTTP/2 bytes and closes: WT_H2_PROTOCOL with the count, and the h2c diagnosis', async () => {
    const f = await keep(startSilentTcpFixture({ send: Buffer.from('HTTP/'), close: true }))
    const r = await run({ url: `${f.url}/`, transport: 'h2', h2: { timeoutMs: 2000 } })
    const fatal = r.of('error').filter((e) => e.fatal)
    expect(fatal.map((e) => e.code)).toEqual(['WT_H2_PROTOCOL'])
    expect(fatal[0]!.detail).toMatchObject({ waitingFor: 'settings', bytesReceived: 5 })
    expect(fatal[0]!.message).toMatch(/without a complete HTTP\/2 SETTINGS frame/)
    expect(r.of('diagnosis').map((d) => d.code)).toEqual(['WT_H2_PROTOCOL'])
  })

  it('a stream with no response headers times out, naming the wait', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = await run({ url: `${f.url}/hang`, transport: 'h2', h2: { timeoutMs: 300 } })
    const e = r.of('error').find((x) => x.code === 'WT_H2_TIMEOUT')!
    expect(e.detail).toMatchObject({ waitingFor: 'response-headers' })
    expect(r.of('h2.stream').find((s) => s.phase === 'rst')!.rstName).toBe('CANCEL')
    expect(r.end.exitCode).not.toBe(0)
  })

  it('close() during a long stream ends cleanly', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = start({ url: `${f.url}/chunks?n=1000&gap=20`, transport: 'h2' })
    await r.waitFor('h2.stream', (s) => s.phase === 'data')
    r.conn.close()
    const end = await r.conn.done
    expect(end.exitCode).toBe(0)
  })

  it('many copies answered 503: one WT_H2_STATUS error, non-zero exit', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = await run({ url: `${f.url}/status?code=503`, transport: 'h2', h2: { concurrency: 20 } })
    expect(r.of('h2.stream').filter((s) => s.phase === 'response' && s.status === 503)).toHaveLength(20)
    expect(r.of('error').filter((e) => e.code === 'WT_H2_STATUS')).toHaveLength(1)
    // request headers recorded on the first stream of the path only
    expect(r.of('h2.stream').filter((s) => s.phase === 'headers-sent' && s.headers)).toHaveLength(1)
    expect(r.end.exitCode).toBe(1)
  })

  it('maxMessages counts DATA chunks', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = await run({ url: `${f.url}/chunks?n=100&gap=5`, transport: 'h2', maxMessages: 3 })
    expect(r.end.exitCode).toBe(0)
    expect(r.of('h2.stream').filter((s) => s.phase === 'data').length).toBeLessThan(100)
  })
})

describe('h2: the recording', () => {
  it('records every event of a real session byte-identical to JSON.stringify of the live event (compact stream records included)', async () => {
    const f = await keep(startH2Fixture({ secure: false }))
    const r = start({ url: `${f.url}/`, transport: 'h2', h2: { paths: ['/small', '/trailers', '/chunks?n=3&gap=5', '/small'], concurrency: 40 } })
    const end = await r.conn.done
    expect(end.exitCode).toBe(0)
    const kinds = new Set(r.of('h2.stream').map((s) => s.phase))
    expect([...kinds].sort()).toEqual(['data', 'end', 'headers-sent', 'response', 'trailers'])
    const recorded = fs.readFileSync(r.file, 'utf8').trimEnd().split('\n').slice(1)
    expect(recorded).toEqual(r.events.map((e) => JSON.stringify(e)))
  })
})
