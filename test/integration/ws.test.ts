// The WebSocket transport against real servers on 127.0.0.1: framing, control frames,
// deflate, every close path, half-open detection, TLS, hostile servers, reconnect.
import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import tls from 'node:tls'
import fs from 'node:fs'
import { wsServer, rawServer, frame, switching, type Running } from '../fixtures/ws-servers.ts'
import { makeCa } from '../fixtures/certs.ts'
import { run, start, readBack } from '../fixtures/engine.ts'

const servers: Running[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})
async function serve<T extends Running>(p: Promise<T>): Promise<T> {
  const s = await p
  servers.push(s)
  return s
}

describe('WebSocket: messages and frames', () => {
  it('records text, binary, fragmented and large messages byte-exact, with their wire frames', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7)
    const s = await serve(
      wsServer((ws) => {
        ws.send('héllo')
        ws.send(Buffer.from([0, 255, 1, 254]))
        ws.send('frag-', { fin: false })
        ws.send('ment', { fin: true })
        ws.send(big)
      }),
    )
    const r = await run({ url: s.url, transport: 'ws', maxMessages: 4, ws: { deflate: false } })
    expect(r.end.exitCode).toBe(0)
    const msgs = r.of('ws.message').filter((m) => m.dir === 'in')
    expect(msgs.map((m) => m.text ?? m.base64?.slice(0, 12))).toEqual(['héllo', 'AP8B/g==', 'frag-ment', big.toString('base64').slice(0, 12)])
    expect(msgs[0]!.size).toBe(6)
    expect(msgs[2]!.frames).toBe(2)
    expect(msgs[3]!.size).toBe(big.length)
    expect(Buffer.from(msgs[3]!.base64!, 'base64').equals(big)).toBe(true)
    expect(msgs[3]!.wireSize).toBe(big.length + 10)
    const frames = r.of('ws.frame')
    expect(frames.map((f) => [f.opcode, f.fin, f.payloadLength])).toEqual([
      [1, false, 5],
      [0, true, 4],
    ])
    // The recording on disk holds the same events.
    const back = readBack(r.file)
    expect(back.issues).toEqual([])
    expect(back.events.filter((e) => e.type === 'ws.message')).toHaveLength(4)
    expect(back.events.map((e) => e.seq)).toEqual(back.events.map((_, i) => i))
  })

  it('records the upgrade request and response headers exactly as on the wire', async () => {
    const s = await serve(wsServer(() => undefined, { handleProtocols: (p) => [...p][1] ?? false }))
    const r = start({ url: s.url + 'path?q=1&access_token=t0ken', transport: 'ws', headers: [['X-Trace', 'abc'], ['Authorization', 'Bearer s3cret']], ws: { subprotocols: ['a', 'b'], origin: 'http://example.test' } })
    await r.waitFor('open')
    r.conn.close()
    await r.conn.done
    const req = r.of('http.request')[0]!
    expect(req.url).toBe(`${s.url}path?q=1&access_token=%5Bredacted%5D`)
    expect(req.headers).toContainEqual(['X-Trace', 'abc'])
    expect(req.headers).toContainEqual(['Authorization', 'Bearer [redacted]'])
    expect(req.headers).toContainEqual(['Sec-WebSocket-Protocol', 'a,b'])
    const res = r.of('http.response')[0]!
    expect(res.status).toBe(101)
    expect(res.headers.find(([k]) => k === 'Sec-WebSocket-Protocol')).toEqual(['Sec-WebSocket-Protocol', 'b'])
    expect(r.of('ws.negotiated')[0]!.protocol).toBe('b')
    // The secret never reached the file.
    expect(fs.readFileSync(r.file, 'utf8')).not.toContain('s3cret')
    expect(fs.readFileSync(r.file, 'utf8')).not.toContain('t0ken')
  })

  it('shows whether permessage-deflate was negotiated, and its parameters', async () => {
    const s = await serve(wsServer((ws) => ws.send('x'.repeat(5000)), { perMessageDeflate: { threshold: 0, serverNoContextTakeover: true } }))
    const on = await run({ url: s.url, transport: 'ws', maxMessages: 1 })
    const neg = on.of('ws.negotiated')[0]!
    expect(neg.deflate).not.toBeNull()
    expect(neg.deflate!.serverNoContextTakeover).toBe(true)
    const m = on.of('ws.message').find((x) => x.dir === 'in')!
    expect(m.compressed).toBe(true)
    expect(m.size).toBe(5000)
    expect(m.wireSize!).toBeLessThan(200)

    const off = await run({ url: s.url, transport: 'ws', maxMessages: 1, ws: { deflate: false } })
    const neg2 = off.of('ws.negotiated')[0]!
    expect(neg2.deflate).toBeNull()
    expect(neg2.offeredDeflate).toBe(false)
    expect(off.of('ws.message').find((x) => x.dir === 'in')!.compressed).toBeUndefined()
  })

  it('records server pings with our automatic pongs, and our pings with their RTT', async () => {
    const s = await serve(wsServer((ws) => ws.ping('srv')))
    const r = start({ url: s.url, transport: 'ws', heartbeat: { intervalMs: 50, timeoutMs: 1000 } })
    await r.waitFor('ws.pong', (p) => p.dir === 'in' && p.rttMs !== undefined)
    r.conn.close()
    await r.conn.done
    expect(r.of('ws.ping').find((p) => p.dir === 'in')!.text).toBe('srv')
    expect(r.of('ws.pong').find((p) => p.dir === 'out')!.auto).toBe(true)
    const pong = r.of('ws.pong').find((p) => p.dir === 'in')!
    expect(pong.rttMs).toBeGreaterThanOrEqual(0)
    expect(pong.rttMs).toBeLessThan(1000)
  })
})

describe('WebSocket: closes', () => {
  it('client close with a code and reason is clean and local', async () => {
    const s = await serve(wsServer(() => undefined))
    const r = start({ url: s.url, transport: 'ws' })
    await r.waitFor('open')
    r.conn.send({ kind: 'close', code: 4001, reason: 'bye' })
    const end = await r.conn.done
    const closes = r.of('ws.close')
    expect(closes[0]).toMatchObject({ dir: 'out', code: 4001, reason: 'bye', initiator: 'local' })
    expect(closes[1]).toMatchObject({ dir: 'in', code: 4001, initiator: 'local', wasClean: true, meaning: 'Private use (application-defined code)' })
    expect(end.exitCode).toBe(0)
  })

  it('server close with 1011 is remote, explained, and a non-zero exit', async () => {
    const s = await serve(wsServer((ws) => ws.close(1011, 'boom')))
    const r = await run({ url: s.url, transport: 'ws' })
    expect(r.of('ws.close')[0]).toMatchObject({ code: 1011, reason: 'boom', initiator: 'remote', wasClean: true, meaning: 'Internal server error' })
    expect(r.of('error')[0]!.code).toBe('WT_WS_CLOSED_BY_SERVER')
    expect(r.end.exitCode).toBe(1)
  })

  it('an abrupt TCP reset is 1006, network-initiated, with time since the last byte', async () => {
    const s = await serve(wsServer((ws) => {
      ws.send('one')
      setTimeout(() => (ws as unknown as { _socket: net.Socket })._socket.resetAndDestroy(), 100)
    }))
    const r = await run({ url: s.url, transport: 'ws' })
    const close = r.of('ws.close')[0]!
    expect(close).toMatchObject({ code: 1006, initiator: 'network', wasClean: false })
    expect(close.sinceLastInMs).toBeGreaterThanOrEqual(50)
    expect(r.of('error').map((e) => e.code)).toContain('WT_CONNECTION_RESET')
    expect(r.end.exitCode).toBe(1)
  })

  it('a server that stops answering pings is declared half-open', async () => {
    const s = await serve(wsServer(() => undefined, { autoPong: false }))
    const r = await run({ url: s.url, transport: 'ws', heartbeat: { intervalMs: 100, timeoutMs: 300 } })
    const half = r.of('ws.half-open')[0]!
    expect(half.timeoutMs).toBe(300)
    expect(r.of('error').map((e) => e.code)).toContain('WT_HALF_OPEN')
    expect(r.of('ws.close')[0]!.code).toBe(1006)
    expect(r.end.exitCode).toBe(1)
  })
})

describe('WebSocket: TLS', () => {
  it('trusts a test CA given explicitly, records the chain, and rejects it without', async () => {
    const ca = makeCa()
    const leaf = ca.issue(['127.0.0.1', 'localhost'])
    const s = await serve(wsServer((ws) => ws.send('secure'), { tls: leaf }))
    const ok = await run({ url: s.url, transport: 'ws', maxMessages: 1, tls: { ca: [ca.caCert] } })
    expect(ok.end.exitCode).toBe(0)
    const t = ok.of('tls')[0]!
    expect(t.authorized).toBe(true)
    expect(t.protocol).toMatch(/TLSv1\.[23]/)
    expect(t.chain[0]!.issuer).toContain('CN=Wiretrace Test CA')
    expect(t.chain[0]!.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)

    const bad = await run({ url: s.url, transport: 'ws' })
    expect(bad.end.exitCode).toBe(3)
    const e = bad.of('error')[0]!
    expect(e.code).toBe('WT_TLS_UNTRUSTED')
    expect(e.message).toMatch(/issuer.*Wiretrace Test CA/)
    expect(bad.of('tls')[0]!.authorized).toBe(false)

    const insecure = await run({ url: s.url, transport: 'ws', maxMessages: 1, tls: { insecure: true } })
    expect(insecure.end.exitCode).toBe(0)
  })

  it('refuses a CA file OpenSSL cannot parse, naming it, instead of failing later as "unknown issuer"', () => {
    const ca = makeCa()
    // The same certificate cut short by 16 bytes: the outer DER length no longer matches.
    const der = Buffer.from(ca.caCert.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')
    const broken = `-----BEGIN CERTIFICATE-----\n${der.subarray(0, der.length - 16).toString('base64')}\n-----END CERTIFICATE-----\n`
    // Node alone would accept it and drop it silently:
    expect(() => tls.createSecureContext({ ca: [broken] })).not.toThrow()
    expect(() => start({ url: 'wss://127.0.0.1:9/', transport: 'ws', tls: { ca: [broken], caFiles: ['/etc/corp/root.pem'] } })).toThrow(
      expect.objectContaining({ code: 'WT_TLS_CONFIG', message: expect.stringMatching(/^tls\.ca \(\/etc\/corp\/root\.pem\) cannot be parsed: /) }),
    )
    expect(() => start({ url: 'wss://127.0.0.1:9/', transport: 'ws', tls: { ca: ['hello'] } })).toThrow(expect.objectContaining({ code: 'WT_TLS_CONFIG', message: 'tls.ca holds no -----BEGIN CERTIFICATE----- block' }))
    expect(() => start({ url: 'wss://127.0.0.1:9/', transport: 'ws', tls: { ca: [ca.caCert + broken] } })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^certificate 2 of 2 in tls\.ca cannot be parsed/) }))
    expect(() =>
      start({ url: 'wss://127.0.0.1:9/', transport: 'ws', network: { mode: 'manual', proxy: { kind: 'https', host: '127.0.0.1', port: 9 }, proxyTls: { ca: [ca.caCert, broken] } } }),
    ).toThrow(expect.objectContaining({ code: 'WT_TLS_CONFIG', message: expect.stringMatching(/^proxyTls\.ca #2 cannot be parsed/) }))
  })

  it('presents a client certificate (PEM and PKCS#12) to a server that requires one', async () => {
    const ca = makeCa()
    const leaf = ca.issue(['127.0.0.1'])
    const client = ca.issue(['client.test'], { client: true, cn: 'wiretrace-client' })
    const seen: string[] = []
    const s = await serve(
      wsServer((ws, req) => {
        seen.push(String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN))
        ws.send('hi')
      }, { tls: { ...leaf, ca: ca.caCert, requestCert: true, rejectUnauthorized: true } as never }),
    )
    const pem = await run({ url: s.url, transport: 'ws', maxMessages: 1, tls: { ca: [ca.caCert], cert: client.cert, key: client.key } })
    expect(pem.end.exitCode).toBe(0)
    const { execFileSync } = await import('node:child_process')
    const pfx = execFileSync('openssl', ['pkcs12', '-export', '-in', client.certPath, '-inkey', client.keyPath, '-passout', 'pass:pw'])
    const p12 = await run({ url: s.url, transport: 'ws', maxMessages: 1, tls: { ca: [ca.caCert], pfx: pfx.toString('base64'), passphrase: 'pw' } })
    expect(p12.end.exitCode).toBe(0)
    expect(seen).toEqual(['wiretrace-client', 'wiretrace-client'])
    const wrong = await run({ url: s.url, transport: 'ws', tls: { ca: [ca.caCert], pfx: pfx.toString('base64'), passphrase: 'nope' } })
    expect(wrong.of('error')[0]!.code).toBe('WT_TLS_CONFIG')
    expect(wrong.end.exitCode).toBe(2)
  })

  it('names a hostname mismatch', async () => {
    const ca = makeCa()
    const leaf = ca.issue(['other.test'])
    const s = await serve(wsServer(() => undefined, { tls: leaf }))
    const r = await run({ url: s.url, transport: 'ws', tls: { ca: [ca.caCert] } })
    expect(r.of('error')[0]!.code).toBe('WT_TLS_HOSTNAME')
  })
})

describe('WebSocket: hostile servers', () => {
  it('the direct path and ws itself record the same messages, frame facts and order, however the bytes are chunked', async () => {
    const big = Buffer.alloc(70_000, 0x62)
    const frames: Buffer[] = [
      frame(1, Buffer.from('hello')),
      frame(1, Buffer.from('h\u00e9llo \u{1f600} \ufffd literal')),
      frame(2, Buffer.from([0, 1, 2, 255])),
      frame(1, Buffer.alloc(0)),
      frame(1, Buffer.alloc(125, 0x61)),
      frame(1, Buffer.alloc(126, 0x61)),
      frame(2, Buffer.alloc(65_535, 7)),
      frame(2, big),
      frame(1, Buffer.from('frag-1 '), { fin: false }),
      frame(9, Buffer.from('mid-ping')),
      frame(0, Buffer.from('frag-2 '), { fin: false }),
      frame(0, Buffer.from('frag-3'), { fin: true }),
      frame(10, Buffer.from('unsolicited')),
      frame(1, Buffer.from('{"after":"control"}')),
      ...Array.from({ length: 200 }, (_, i) => frame(i % 3 ? 1 : 2, Buffer.from(`m${i}`))),
      frame(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])),
    ]
    const wire = Buffer.concat(frames)
    // Irregular chunks: cuts inside headers, inside 16-bit lengths, inside payloads.
    const cuts = [1, 3, 9, 40, 41, 200, 1000, 1001, 66_000, 66_003, 100_000, 136_700, 136_730, wire.length]
    const s = await serve(rawServer((sock, _h, accept) => {
      sock.setNoDelay(true)
      sock.write(switching(accept))
      let from = 0
      const next = (k: number): void => {
        if (k >= cuts.length) return
        const to = Math.min(cuts[k]!, wire.length)
        sock.write(wire.subarray(from, to))
        from = to
        setTimeout(() => next(k + 1), 5)
      }
      next(0)
    }))
    const pick = (r: Awaited<ReturnType<typeof run>>): unknown[] =>
      r.events
        .filter((e) => e.type === 'ws.message' || e.type === 'ws.ping' || e.type === 'ws.pong' || e.type === 'ws.frame' || e.type === 'ws.close')
        .map((e) => {
          const { seq: _s, ts: _t, conn: _c, ...rest } = e as unknown as Record<string, unknown>
          if (rest.type === 'ws.close') return { type: rest.type, code: rest.code, reason: rest.reason, initiator: rest.initiator }
          return rest
        })
    const viaDirect = await run({ url: s.url, transport: 'ws', ws: { deflate: false } })
    process.env.WIRETRACE_WS_DIRECT = '0'
    let viaWs: Awaited<ReturnType<typeof run>>
    try {
      viaWs = await run({ url: s.url, transport: 'ws', ws: { deflate: false } })
    } finally {
      delete process.env.WIRETRACE_WS_DIRECT
    }
    const a = pick(viaDirect)
    expect(a.filter((e) => (e as { type: string }).type === 'ws.message')).toHaveLength(8 + 1 + 1 + 200)
    expect(a).toEqual(pick(viaWs))
    const msgs = viaDirect.of('ws.message')
    expect(msgs[1]!.text).toBe('h\u00e9llo \u{1f600} \ufffd literal')
    expect(msgs[7]).toMatchObject({ size: 70_000, frames: 1, wireSize: 70_010 })
    expect(msgs[8]).toMatchObject({ text: 'frag-1 frag-2 frag-3', frames: 3 })
    expect(viaDirect.of('ws.close').at(-1)).toMatchObject({ code: 1000, reason: 'bye' })
    // The recordings hold the same lines but for the times.
    const lines = (f: string): string[] => fs.readFileSync(f, 'utf8').split('\n').slice(1).filter((l) => l.includes('"ws.message"')).map((l) => l.replace(/"ts":[\d.]+,/, '').replace(/"conn":"[^"]+",/, ''))
    expect(lines(viaDirect.file)).toEqual(lines(viaWs.file))
  })

  it('after ws gives up on a stream (invalid UTF-8, a close frame), frames that follow are neither delivered nor fed to it', async () => {
    const after = Array.from({ length: 50 }, (_, i) => frame(1, Buffer.from(`late ${i}`)))
    const cases: Array<{ name: string; bytes: Buffer[] }> = [
      { name: 'invalid utf-8', bytes: [frame(1, Buffer.from('ok 1')), Buffer.concat([frame(1, Buffer.from([0x68, 0xff])), ...after.slice(0, 25)]), Buffer.concat(after.slice(25))] },
      { name: 'close then data', bytes: [frame(1, Buffer.from('ok 1')), Buffer.concat([frame(8, Buffer.from([0x03, 0xe8])), ...after.slice(0, 25)]), Buffer.concat(after.slice(25))] },
      { name: 'masked frame', bytes: [Buffer.concat([frame(1, Buffer.from('ok 1')), Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x61, 0x62]), ...after.slice(0, 25)]), Buffer.concat(after.slice(25))] },
    ]
    for (const c of cases) {
      const s = await serve(rawServer((sock, _h, accept) => {
        sock.write(switching(accept))
        let k = 0
        const next = (): void => {
          if (k < c.bytes.length && !sock.destroyed) sock.write(c.bytes[k++]!, () => setTimeout(next, 20))
        }
        next()
        setTimeout(() => sock.destroy(), 400)
      }))
      const shape = (r: Awaited<ReturnType<typeof run>>): unknown[] =>
        r.events.filter((e) => ['ws.message', 'error', 'ws.close'].includes(e.type)).map((e) => (e.type === 'ws.message' ? e.text : e.type === 'error' ? e.code : `close ${(e as { code: number }).code}`))
      const direct = await run({ url: s.url, transport: 'ws', ws: { deflate: false }, reconnect: { enabled: false } })
      process.env.WIRETRACE_WS_DIRECT = '0'
      let viaWs: Awaited<ReturnType<typeof run>>
      try {
        viaWs = await run({ url: s.url, transport: 'ws', ws: { deflate: false }, reconnect: { enabled: false } })
      } finally {
        delete process.env.WIRETRACE_WS_DIRECT
      }
      expect(shape(direct), c.name).toEqual(shape(viaWs))
      expect(direct.of('ws.message').map((m) => m.text), c.name).toEqual(['ok 1'])
    }
  })

  it('invalid UTF-8 in a text frame is a coded error and close 1007, no crash', async () => {
    const s = await serve(rawServer((sock, _h, accept) => {
      sock.write(switching(accept))
      sock.write(frame(1, Buffer.from([0x68, 0xff, 0xfe])))
    }))
    const r = await run({ url: s.url, transport: 'ws' })
    expect(r.of('error').map((e) => e.code)).toContain('WT_WS_INVALID_UTF8')
    expect(r.of('ws.close').at(-1)!.code).toBe(1006)
    expect(r.end.exitCode).toBe(1)
  })

  it('a frame over maxPayload is refused with WT_WS_MAX_PAYLOAD', async () => {
    const s = await serve(rawServer((sock, _h, accept) => {
      sock.write(switching(accept))
      sock.write(frame(2, Buffer.alloc(70_000)))
    }))
    const r = await run({ url: s.url, transport: 'ws', ws: { maxPayload: 65_536 } })
    expect(r.of('error').map((e) => e.code)).toContain('WT_WS_MAX_PAYLOAD')
  })

  it('garbage instead of a 101 is WT_HANDSHAKE_INVALID and shows what came back', async () => {
    const s = await serve(rawServer((sock) => sock.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')))
    const r = await run({ url: s.url, transport: 'ws' })
    expect(r.of('error')[0]!.code).toBe('WT_HANDSHAKE_INVALID')
    expect(r.end.exitCode).toBe(6)
  })

  it('a 200 instead of 101 is named: the Upgrade was stripped, with a body preview', async () => {
    const s = await serve(rawServer((sock) => sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 18\r\n\r\n<h1>Welcome!</h1>\n')))
    const r = await run({ url: s.url, transport: 'ws' })
    expect(r.of('error')[0]!.code).toBe('WT_UPGRADE_STRIPPED')
    const res = r.of('http.response')[0]!
    expect(res.status).toBe(200)
    expect(res.bodyPreview).toContain('Welcome')
    expect(r.end.exitCode).toBe(6)
  })

  it('a refused port is WT_TCP_REFUSED; a malformed URL is refused before anything opens', async () => {
    const probe = net.createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const port = (probe.address() as net.AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))
    const r = await run({ url: `ws://127.0.0.1:${port}/`, transport: 'ws' })
    expect(r.of('error')[0]!.code).toBe('WT_TCP_REFUSED')
    const { Engine } = await import('../../shared/node/engine/engine.ts')
    expect(() => new Engine().open({ url: 'ws://', transport: 'ws' })).toThrow(/not a valid URL/)
    expect(() => new Engine().open({ url: 'ftp://x/', transport: 'ws' })).toThrow(/needs a ws or wss URL/)
  })
})

describe('WebSocket: reconnect and flood', () => {
  it('reconnects with backoff after drops, recording each attempt and its delay', async () => {
    let n = 0
    const s = await serve(wsServer((ws) => {
      n++
      if (n < 3) setTimeout(() => ws.terminate(), 20)
      else ws.send('finally')
    }))
    const r = await run({ url: s.url, transport: 'ws', maxMessages: 1, reconnect: { enabled: true, initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 5 } })
    expect(r.end.exitCode).toBe(0)
    const states = r.of('conn.state')
    const recon = states.filter((x) => x.state === 'reconnecting')
    expect(recon).toHaveLength(2)
    for (const x of recon) expect(x.delayMs).toBeLessThanOrEqual(100)
    expect(states.filter((x) => x.state === 'connecting').map((x) => x.attempt)).toEqual([1, 2, 3])
    expect(r.end.attempts).toBe(3)
  })

  it('gives up after maxAttempts', async () => {
    const s = await serve(wsServer((ws) => ws.terminate()))
    const r = await run({ url: s.url, transport: 'ws', reconnect: { enabled: true, initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 2 } })
    expect(r.of('conn.state').filter((x) => x.state === 'connecting')).toHaveLength(3)
    expect(r.end.exitCode).not.toBe(0)
  })

  it('the flood sender honours bufferedAmount in respect mode and shows the backlog when ignoring it', async () => {
    const slow = (): Promise<Running> =>
      serve(wsServer((ws) => {
        const sock = (ws as unknown as { _socket: net.Socket })._socket
        sock.pause()
        setTimeout(() => sock.resume(), 600)
      }))
    const measure = async (mode: 'respect' | 'ignore'): Promise<number> => {
      const s = await slow()
      const r = start({ url: s.url, transport: 'ws', ws: { deflate: false } }, { statsIntervalMs: 50 })
      await r.waitFor('open')
      await r.conn.flood({ count: 400, size: 16 * 1024, mode, highWaterMark: 256 * 1024 })
      r.conn.close()
      await r.conn.done
      expect(r.of('ws.message').filter((m) => m.dir === 'out')).toHaveLength(400)
      return Math.max(0, ...r.of('stats').map((x) => x.bufferedAmount ?? 0))
    }
    const respect = await measure('respect')
    const ignore = await measure('ignore')
    expect(ignore).toBeGreaterThan(respect)
    expect(respect).toBeLessThanOrEqual(256 * 1024 + 17 * 1024)
  })
})
