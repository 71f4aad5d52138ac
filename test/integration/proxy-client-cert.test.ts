// TLS to an HTTPS proxy that authenticates clients by certificate: the proxy hop has its own
// client certificate, apart from TLS to the origin; the key never reaches the recording.
import { afterAll, describe, expect, it } from 'vitest'
import tls from 'node:tls'
import net from 'node:net'
import fs from 'node:fs'
import { makeCa } from '../fixtures/certs.ts'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { run } from '../fixtures/engine.ts'
import crypto from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { main } from '../../shared/node/cli/main.ts'

const cleanup: Array<() => unknown> = []
afterAll(async () => {
  for (const c of cleanup.splice(0)) await c()
})

/** A minimal CONNECT proxy behind TLS that requires a client certificate from `ca`. */
async function certProxy(ca: ReturnType<typeof makeCa>): Promise<{ port: number; clients: string[] }> {
  const leaf = ca.issue(['127.0.0.1'])
  const clients: string[] = []
  const server = tls.createServer({ cert: leaf.cert, key: leaf.key, ca: ca.caCert, requestCert: true, rejectUnauthorized: true }, (sock) => {
    clients.push(String(sock.getPeerCertificate().subject?.CN))
    let head = ''
    const onData = (d: Buffer): void => {
      head += d.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      sock.removeListener('data', onData)
      const [host, port] = head.split(' ')[1]!.split(':')
      const up = net.connect(Number(port), host!, () => {
        sock.write('HTTP/1.1 200 Connection established\r\n\r\n')
        up.pipe(sock)
        sock.pipe(up)
      })
      up.on('error', () => sock.destroy())
    }
    sock.on('data', onData)
    sock.on('error', () => undefined)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())))
  return { port: (server.address() as net.AddressInfo).port, clients }
}

describe('HTTPS proxy with client certificates', () => {
  it('presents the proxy-hop certificate, records both TLS hops, and redacts the key', async () => {
    const ca = makeCa('Proxy CA')
    const client = ca.issue(['client.test'], { client: true, cn: 'proxy-client' })
    const proxy = await certProxy(ca)
    const origin: Running = await wsServer((ws) => ws.send('ok'))
    cleanup.push(() => origin.close())
    const network = { mode: 'manual' as const, proxy: { kind: 'https' as const, host: '127.0.0.1', port: proxy.port }, proxyTls: { ca: [ca.caCert], cert: client.cert, key: client.key } }
    const r = await run({ url: origin.url, transport: 'ws', maxMessages: 1, network })
    expect(r.end.exitCode).toBe(0)
    expect(proxy.clients).toEqual(['proxy-client'])
    expect(r.of('tls').map((t) => t.hop)).toEqual(['proxy'])
    expect(r.of('proxy.connect')[0]!.status).toBe(200)
    expect(fs.readFileSync(r.file, 'utf8')).not.toContain('PRIVATE KEY')

    const without = await run({ url: origin.url, transport: 'ws', network: { ...network, proxyTls: { ca: [ca.caCert] } } })
    expect(without.end.exitCode).not.toBe(0)
    expect(without.of('error').length).toBeGreaterThan(0)
  })

  it('the CLI takes an encrypted proxy-hop key with its passphrase from WIRETRACE_PROXY_KEY_PASSPHRASE, and refuses it without, naming the variable', async () => {
    const ca = makeCa('Proxy CA 2')
    const client = ca.issue(['client.test'], { client: true, cn: 'cli-proxy-client' })
    const proxy = await certProxy(ca)
    const origin: Running = await wsServer((ws) => ws.send('ok'))
    cleanup.push(() => origin.close())
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-enc-key-'))
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }))
    const PASS = 'Key-Pass-9271'
    const keyFile = path.join(dir, 'client-enc.key')
    fs.writeFileSync(keyFile, crypto.createPrivateKey(client.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }))
    const certFile = path.join(dir, 'client.pem')
    fs.writeFileSync(certFile, client.cert)
    const caFile = path.join(dir, 'ca.pem')
    fs.writeFileSync(caFile, ca.caCert)
    const out = path.join(dir, 'rec.jsonl')
    const argv = ['record', origin.url, '--proxy', `https://127.0.0.1:${proxy.port}`, '--proxy-ca', caFile, '--proxy-cert', certFile, '--proxy-key', keyFile, '--max-messages', '1', '--out', out, '--quiet']
    const io = (): { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; text: () => string } => {
      let text = ''
      const w = { write: (c: string | Buffer) => ((text += String(c)), true) } as unknown as NodeJS.WritableStream
      return { stdout: w, stderr: w, text: () => text }
    }
    const saved = process.env.WIRETRACE_PROXY_KEY_PASSPHRASE
    try {
      delete process.env.WIRETRACE_PROXY_KEY_PASSPHRASE
      const refused = io()
      expect(await main(argv, refused)).not.toBe(0)
      expect(refused.text()).toContain(`WT_USAGE: the client key for TLS to the proxy (--proxy-key ${keyFile}) is encrypted and no passphrase was given: set WIRETRACE_PROXY_KEY_PASSPHRASE`)
      expect(proxy.clients).toEqual([])

      process.env.WIRETRACE_PROXY_KEY_PASSPHRASE = PASS
      const ok = io()
      expect(await main(argv, ok), ok.text()).toBe(0)
      expect(proxy.clients).toEqual(['cli-proxy-client'])
      const rec = fs.readFileSync(out, 'utf8')
      expect(rec).not.toContain(PASS)
      expect(rec).not.toContain('PRIVATE KEY')
    } finally {
      if (saved === undefined) delete process.env.WIRETRACE_PROXY_KEY_PASSPHRASE
      else process.env.WIRETRACE_PROXY_KEY_PASSPHRASE = saved
    }
  })
})
