// The HTTP/2 transport against real node:http2 servers on 127.0.0.1 (TLS with a CA made in
// the test, and h2c prior knowledge): streams, settings, ping, windows, hostile servers.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { makeCa, type TestCa } from '../fixtures/certs.ts'
import { startH2Fixture, startHttp1Fixture, startHttp1TlsFixture, type H2Fixture } from '../fixtures/servers/http2.ts'
import { run, start } from '../fixtures/engine.ts'

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
async function keep(p: Promise<H2Fixture>): Promise<H2Fixture> {
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
    expect(g).toMatchObject({ errorCode: 11, errorName: 'ENHANCE_YOUR_CALM', opaqueData: 'calm down' })
    expect(typeof g.lastStreamId).toBe('number')
    expect(r.of('error').some((e) => e.code === 'WT_H2_GOAWAY')).toBe(true)
    expect(r.end.exitCode).not.toBe(0)
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
    const r = await run({ url: `${f.url}/`, transport: 'h2', h2: { timeoutMs: 1500 } })
    expect(Date.now() - t0).toBeLessThan(3000)
    expect(['WT_H2_PROTOCOL', 'WT_H2_TIMEOUT', 'WT_CONNECTION_CLOSED']).toContain(r.of('error')[0]!.code)
    expect(r.end.exitCode).not.toBe(0)
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
