// `wiretrace lab` options and the foreground run, stopped by a signal.
import { describe, expect, it } from 'vitest'
import net from 'node:net'
import { PassThrough } from 'node:stream'
import { X509Certificate } from 'node:crypto'
import { labOptions, run } from '../../shared/node/lab/cli.ts'
import { makeCert } from '../../shared/node/lab/x509.ts'

describe('wiretrace lab', () => {
  it('maps flags to behaviours with units, and rejects bad values', () => {
    expect(labOptions(['--auth', 'u:p:x', '--connect-ports', '443,8443', '--idle-cut', '30', '--buffer', '8', '--bandwidth', '2', '--intercept', '--drop-h2'])).toEqual({
      basicAuth: { user: 'u', pass: 'p:x' },
      connectPorts: [443, 8443],
      idleCutMs: 30_000,
      bufferBytes: 8192,
      bandwidthBps: 2048,
      interceptTls: true,
      dropAlpnH2: true,
    })
    expect(labOptions(['--help'])).toBeNull()
    expect(() => labOptions(['--auth', 'nocolon'])).toThrow(/USER:PASS/)
    expect(() => labOptions(['--connect-ports', '443,x'])).toThrow(/comma-separated/)
    expect(() => labOptions(['--nope'])).toThrow()
  })

  it('runs in the foreground, logs each connection, and stops on the signal', async () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (d) => (text += d))
    const ac = new AbortController()
    const done = run(['--connect-ports', '443'], { stdout: out, stderr: out }, ac.signal)
    while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(text)) await new Promise((r) => setTimeout(r, 10))
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(text)![1])
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('CONNECT example.test:80 HTTP/1.1\r\nHost: example.test:80\r\n\r\n'))
      let got = ''
      s.on('data', (d) => (got += d))
      s.on('close', () => resolve(got))
    })
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden')
    ac.abort()
    expect(await done).toBe(0)
    expect(text).toContain('#1 127.0.0.1')
    expect(text).toContain('403: CONNECT to port 80 refused')
    expect(text).toContain('wiretrace lab stopped')
  })

  it('makes certificates that X509Certificate reads and verifies', () => {
    const ca = makeCert({ cn: 'Lab CA', ca: true })
    const leaf = makeCert({ cn: 'h.test', names: ['h.test', '127.0.0.1', '::1'], issuer: ca })
    const x = new X509Certificate(leaf.cert)
    expect(x.subjectAltName).toBe('DNS:h.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
    expect(x.verify(new X509Certificate(ca.cert).publicKey)).toBe(true)
    expect(new X509Certificate(ca.cert).ca).toBe(true)
    expect(x.ca).toBe(false)
  })
})
