// The CLI as a user runs it with credentials in bad proxy settings: the password appears in
// neither stdout, stderr nor the recording, and the message still says what was wrong.
import { afterEach, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpFile } from '../fixtures/engine.ts'
import { runWeb } from '../../shared/node/hosts/web.ts'

const BIN = 'shared/node/cli/bin.mjs'
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'ws_proxy', 'wss_proxy', 'WS_PROXY', 'WSS_PROXY']

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of PROXY_VARS) delete env[k]
  return { ...env, ...extra }
}

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: cleanEnv(env) })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The same, without blocking this process (a server in it has to answer). */
function cliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: cleanEnv() })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

function fileText(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
}

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()))
})

describe('secrets in CLI output and recordings', () => {
  it.each([
    ['http://alice:S3cretPW@proxy.example:99999', 'S3cretPW', [/WT_PROXY_URL_INVALID/, /alice:\*\*\*@proxy\.example:99999/, /port 99999/]],
    ['alice:S3cretPW@proxy.example:99999', 'S3cretPW', [/WT_PROXY_URL_INVALID/, /proxy\.example:99999/, /port 99999/]],
    ['socks5h://alice:p@ssW0rd@[::1]:70000', 'ssW0rd', [/WT_PROXY_URL_INVALID/, /\[::1\]:70000/, /port 70000/]],
    ['http://alice:S3cretPW@bad host:3128', 'S3cretPW', [/WT_PROXY_URL_INVALID/, /host "bad host"/]],
  ])('record --proxy %s: exit 2, no password', (proxy, secret, names) => {
    const out = tmpFile()
    const r = cli(['record', 'ws://127.0.0.1:1/', '--proxy', proxy, '--out', out])
    expect(r.status).toBe(2)
    for (const text of [r.stdout, r.stderr, fileText(out)]) expect(text).not.toContain(secret)
    for (const n of names) expect(r.stderr).toMatch(n)
  })

  it('replay --proxy with a bad proxy URL: no password', () => {
    // A recording to replay: a refused connection still writes its header and conn.start.
    const rec = tmpFile()
    cli(['record', 'ws://127.0.0.1:1/', '--out', rec, '--quiet'])
    expect(fileText(rec)).toContain('"conn.start"')
    const out = tmpFile()
    const r = cli(['replay', rec, '--proxy', 'http://alice:S3cretPW@proxy.example:99999', '-o', out])
    expect(r.status).toBe(2)
    for (const text of [r.stdout, r.stderr, fileText(out)]) expect(text).not.toContain('S3cretPW')
    expect(r.stderr).toMatch(/WT_PROXY_URL_INVALID: .*alice:\*\*\*@proxy\.example:99999.*port 99999/)
  })

  it.each([
    ['ws_proxy', 'http://u:EnvPw-99@127.0.0.1:99999', 'EnvPw-99'],
    ['ws_proxy', 'u:Env@Pw-98@127.0.0.1:99999', 'Pw-98'],
    ['ALL_PROXY', 'socks5h://u:Env%40Pw-97@[::1]:99999', 'Pw-97'],
  ])('--proxy-env with %s=%s that does not parse: no password in output or recording', (name, value, secret) => {
    const out = tmpFile()
    const r = cli(['record', 'ws://127.0.0.1:1/', '--proxy-env', '--out', out], { [name]: value })
    expect(r.status).not.toBe(0)
    const rec = fileText(out)
    expect(rec).toContain('"conn.start"')
    for (const text of [r.stdout, r.stderr, rec]) expect(text).not.toContain(secret)
    expect(r.stderr).toMatch(new RegExp(`WT_PROXY_ENV_INVALID: the ${name} variable .*:99999.*port 99999`))
    // The header still says which variable was set and where it pointed.
    expect(rec).toMatch(new RegExp(`"${name}":"[^"]*:\\[redacted\\]@[^"]*:99999"`))
  })

  it('--pac with credentials and a token in the URL: neither in output or recording', async () => {
    const srv = http.createServer((_req, res) => res.writeHead(404).end('no'))
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise((r) => srv.close(() => r())))
    const port = (srv.address() as AddressInfo).port
    for (const [pac, secrets, names] of [
      [`http://u:PacPw-1@127.0.0.1:${port}/p.pac?token=PacTok-1`, ['PacPw-1', 'PacTok-1'], [/127\.0\.0\.1/, /credentials/]],
      [`http://127.0.0.1:${port}/p.pac?access_token=PacTok-2`, ['PacTok-2'], [/answered 404/, /p\.pac/]],
      [`http://u:PacPw-3@127.0.0.1:99999/p.pac`, ['PacPw-3'], [/127\.0\.0\.1:99999/]],
    ] as Array<[string, string[], RegExp[]]>) {
      const out = tmpFile()
      const r = await cliAsync(['record', 'ws://127.0.0.1:1/', '--pac', pac, '--out', out])
      const rec = fileText(out)
      expect(rec, pac).toContain('"conn.start"')
      for (const text of [r.stdout, r.stderr, rec]) for (const s of secrets) expect(text, pac).not.toContain(s)
      expect(r.stderr, pac).toMatch(/WT_PAC_ERROR/)
      for (const n of names) expect(r.stderr, pac).toMatch(n)
    }
  })

  it('an origin URL with a password that does not parse is quoted without it', () => {
    const r = cli(['record', 'ws://u:OrigPw-1@h:99999/'])
    expect(r.status).toBe(2)
    expect(r.stderr).not.toContain('OrigPw-1')
    expect(r.stderr).toMatch(/WT_URL_INVALID: .*h:99999/)
  })

  it('web mode: a start URL that fails is named without its password', async () => {
    const written: string[] = []
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk))
      return write(chunk, ...rest)
    }) as typeof process.stderr.write
    try {
      const web = await runWeb({ connect: ['ws://u:WebPw-1@h:99999/?token=WebTok-1'], demo: false, quiet: true, targetsFile: null, recordingsDir: tmpFile('dir') })
      await web.close()
    } finally {
      process.stderr.write = write
    }
    const text = written.join('')
    expect(text).toMatch(/cannot connect to ws:\/\/u:\*\*\*@h:99999\//)
    expect(text).not.toMatch(/WebPw-1|WebTok-1/)
  })
})
