// `wiretrace record` with its proxy flags, as a user runs it: the real CLI process through the
// in-process proxy lab (and squid for NTLM), recording, diagnosing, and never leaking the password.
import { runCli } from '../fixtures/cli.ts'
import { afterEach, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import { makeCa } from '../fixtures/certs.ts'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { readBack, tmpFile } from '../fixtures/engine.ts'
import { peers, startSquid, type RunningProxy } from '../fixtures/proxies/index.ts'
import { runLab, type Lab } from '../../shared/node/lab/index.ts'
import { EXIT } from '../../shared/common/errors/index.ts'
import type { EventOf, EventType, WiretraceEvent } from '../../shared/common/events/index.ts'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c()))
})
async function lab(opts: Parameters<typeof runLab>[0] = {}): Promise<Lab> {
  const l = await runLab(opts)
  cleanup.push(() => l.close())
  return l
}
async function echo(): Promise<Running> {
  const s = await wsServer((ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })))
  cleanup.push(() => s.close())
  return s
}

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  out: string
  /** The recording's bytes as text, for leak checks. */
  text: string
  events: WiretraceEvent[]
  of<T extends EventType>(t: T): Array<EventOf<T>>
}

/**
 * Runs the CLI as a child process (asynchronously: the lab lives in this process and must keep
 * answering). The child's environment has none of this machine's proxy variables.
 */
async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const out = tmpFile()
  const r = await runCli(['record', ...args, '--out', out], env)
  const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : ''
  const events = text ? readBack(out).events : []
  return { ...r, out, text, events, of: <T extends EventType>(t: T) => events.filter((e) => e.type === t) as Array<EventOf<T>> }
}

function noLeak(r: CliRun, secret: string): void {
  expect(r.stdout).not.toContain(secret)
  expect(r.stderr).not.toContain(secret)
  expect(r.text.length).toBeGreaterThan(0)
  expect(r.text).not.toContain(secret)
  expect(r.text).not.toContain(Buffer.from(`:${secret}`).toString('base64').slice(4, -4))
}

const why = (r: CliRun, l?: Lab): string => `exit ${r.code}\n${r.stderr}\n${l ? JSON.stringify(l.log()) : ''}`

describe('wiretrace record through the proxy lab', () => {
  it('--proxy with user:pass@: 407, then the tunnel; records; the password appears nowhere', async () => {
    const o = await echo()
    const secret = 'Lab-Pw-7731'
    const l = await lab({ basicAuth: { user: 'u', pass: secret } })
    const r = await cli([o.url, '--proxy', `http://u:${secret}@127.0.0.1:${l.port}`, '--send', 'via proxy', '-n', '1'])
    expect(r.code, why(r, l)).toBe(EXIT.OK)
    expect(r.of('proxy.connect').map((c) => c.status)).toEqual([407, 200])
    expect(r.of('ws.message').find((m) => m.dir === 'in')!.text).toBe('via proxy')
    expect(l.log().map((e) => e.event)).toEqual(expect.arrayContaining(['407', 'tunnel']))
    expect(r.stderr).toMatch(/done: 1 in/)
    noLeak(r, secret)
  })

  it('--pac FILE with --proxy-user USER and the password from WIRETRACE_PROXY_PASSWORD', async () => {
    const o = await echo()
    const secret = 'Pac-Pw-5150'
    const l = await lab({ basicAuth: { user: 'pacuser', pass: secret } })
    const pac = path.join(path.dirname(tmpFile()), 'proxy.pac')
    fs.writeFileSync(pac, `function FindProxyForURL(url, host) { return "PROXY 127.0.0.1:${l.port}; DIRECT" }`)
    const r = await cli([o.url, '--pac', pac, '--proxy-user', 'pacuser', '--send', 'pac', '-n', '1'], { WIRETRACE_PROXY_PASSWORD: secret })
    expect(r.code, why(r, l)).toBe(EXIT.OK)
    const rule = r.of('proxy.rule')[0]!
    expect(rule.source).toBe('pac')
    expect(rule.rule).toContain(`PROXY 127.0.0.1:${l.port}; DIRECT`)
    expect(rule.chosen).toContain(`127.0.0.1:${l.port}`)
    expect(r.of('proxy.connect').at(-1)!.status).toBe(200)
    expect(l.log().some((e) => e.event === 'tunnel')).toBe(true)
    noLeak(r, secret)
  })

  it('--proxy-env reads ws_proxy, takes --proxy-user; --no-proxy then sends the host direct', async () => {
    const o = await echo()
    const secret = 'Env-Pw-2468'
    const l = await lab({ basicAuth: { user: 'envuser', pass: secret } })
    const env = { ws_proxy: `http://127.0.0.1:${l.port}`, WIRETRACE_PROXY_PASSWORD: secret }
    const r = await cli([o.url, '--proxy-env', '--proxy-user', 'envuser', '--send', 'env', '-n', '1'], env)
    expect(r.code, why(r, l)).toBe(EXIT.OK)
    expect(r.of('proxy.rule')[0]).toMatchObject({ source: 'env', rule: 'ws_proxy' })
    expect(r.of('proxy.connect').at(-1)!.status).toBe(200)
    noLeak(r, secret)
    const seen = l.log().length
    const d = await cli([o.url, '--proxy-env', '--no-proxy', '127.0.0.1', '--send', 'direct', '-n', '1'], { ...env, NO_PROXY: 'other.test', no_proxy: 'other.test' })
    expect(d.code, why(d, l)).toBe(EXIT.OK)
    expect(d.of('proxy.rule')[0]).toMatchObject({ source: 'env', chosen: 'DIRECT' })
    expect(d.of('proxy.rule')[0]!.detail).toContain('127.0.0.1')
    expect(d.of('proxy.connect')).toHaveLength(0)
    expect(l.log().length).toBe(seen)
  })

  it('--proxy-mode forward: an absolute-URI request, no CONNECT', async () => {
    const o = await echo()
    const l = await lab()
    const r = await cli([o.url, '--proxy', l.url, '--proxy-mode', 'forward', '--send', 'fwd', '-n', '1'])
    expect(r.code, why(r, l)).toBe(EXIT.OK)
    expect(r.of('ws.message').find((m) => m.dir === 'in')!.text).toBe('fwd')
    expect(r.of('proxy.connect')).toHaveLength(0)
    const events = l.log().map((e) => e.event)
    expect(events).toContain('forward')
    expect(events).not.toContain('tunnel')
    expect(l.log().find((e) => e.event === 'request')!.detail).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:${o.port}/`))
  })

  it('a failed run prints the diagnosis line with its code and exits with the proxy status', async () => {
    const o = await echo()
    const secret = 'Wrong-Pw-9090'
    const l = await lab({ basicAuth: { user: 'u', pass: 'the-right-one' } })
    const none = await cli([o.url, '--proxy', l.url])
    expect(none.code, why(none, l)).toBe(EXIT.PROXY)
    expect(none.stderr.trim().split('\n').at(-1)).toMatch(/^wiretrace: WT_PROXY_AUTH_REQUIRED: \S/)
    const wrong = await cli([o.url, '--proxy', l.url, '--proxy-user', `u:${secret}`])
    expect(wrong.code, why(wrong, l)).toBe(EXIT.PROXY)
    expect(wrong.stderr.trim().split('\n').at(-1)).toMatch(/^wiretrace: WT_PROXY_AUTH_REJECTED: \S/)
    noLeak(wrong, secret)
  })

  it('--pac choosing an HTTPS proxy, trusted with --proxy-ca', async () => {
    const o = await echo()
    const l = await lab()
    // An HTTPS proxy: TLS in front of the lab, with a CA only --proxy-ca knows.
    const ca = makeCa('CLI Proxy Hop CA')
    const cert = ca.issue(['127.0.0.1'])
    const front = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => {
      const up = net.connect(l.port, '127.0.0.1')
      s.pipe(up).pipe(s)
      s.on('error', () => up.destroy())
      up.on('error', () => s.destroy())
    })
    await new Promise<void>((res) => front.listen(0, '127.0.0.1', res))
    cleanup.push(() => new Promise((res) => front.close(() => res())))
    const port = (front.address() as net.AddressInfo).port
    const pac = path.join(path.dirname(tmpFile()), 'https.pac')
    fs.writeFileSync(pac, `function FindProxyForURL(url, host) { return "HTTPS 127.0.0.1:${port}" }`)
    const r = await cli([o.url, '--pac', pac, '--proxy-ca', ca.caCertPath, '--send', 'tls hop', '-n', '1'])
    expect(r.code, why(r, l)).toBe(EXIT.OK)
    expect(r.of('tls').map((t) => [t.hop, t.authorized])).toEqual([['proxy', true]])
    expect(r.of('ws.message').find((m) => m.dir === 'in')!.text).toBe('tls hop')
    // Without it the proxy hop is untrusted, and the run says so.
    const bad = await cli([o.url, '--pac', pac])
    expect(bad.code).not.toBe(EXIT.OK)
    expect(bad.of('tls').map((t) => [t.hop, t.authorized])).toEqual([['proxy', false]])
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(/^wiretrace: WT_\w+: /)
  })

  it('bad proxy flags exit 2 with a message naming the flag, before any connection', async () => {
    const l = await lab()
    const r = await cli(['ws://127.0.0.1:9/', '--pac', '/nonexistent/x.pac', '--no-proxy', 'localhost'])
    expect(r.code).toBe(EXIT.USAGE)
    expect(r.stderr).toMatch(/^wiretrace: WT_USAGE: --no-proxy does not apply to --pac/m)
    const u = await cli(['ws://127.0.0.1:9/', '--proxy', l.url, '--proxy-user', 'alice'])
    expect(u.code).toBe(EXIT.USAGE)
    expect(u.stderr).toMatch(/--proxy-user alice has no password: .*WIRETRACE_PROXY_PASSWORD/)
    expect(l.log()).toHaveLength(0)
  })
})

const squid = peers('squid', 'ntlmFakeAuth')
describe.skipIf(!squid.ok)('wiretrace record --proxy-user DOMAIN\\USER through squid NTLM', () => {
  it('sends the domain and the user apart in the NTLM type 3 (squid logs DOMAIN\\user)', async () => {
    const o = await echo()
    const s: RunningProxy = await startSquid({ auth: 'ntlm' })
    cleanup.push(() => s.stop())
    const r = await cli([o.url, '--proxy', s.url, '--proxy-user', 'CORPX\\dave', '--send', 'n', '-n', '1'], { WIRETRACE_PROXY_PASSWORD: 'Ntlm-Pw-4242' })
    expect(r.code, why(r) + s.log().slice(-1500)).toBe(EXIT.OK)
    expect(r.of('proxy.connect').map((c) => c.auth)).toEqual([null, 'ntlm', 'ntlm'])
    await new Promise((res) => setTimeout(res, 200))
    // ntlm_fake_auth reports the user as DOMAIN\user from the type 3 fields.
    expect(s.log()).toMatch(/ CORPX(\\)+dave /)
    noLeak(r, 'Ntlm-Pw-4242')
  })
})
