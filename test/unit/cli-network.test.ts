// `wiretrace record` proxy flags → NetworkProfile: every flag, every combination that cannot
// mean anything, and bad values rejected with a message that names the flag.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from '../../shared/node/cli/args.ts'
import { networkFromArgs, RECORD_HELP, RECORD_OPTIONS, specFromArgs } from '../../shared/node/cli/record.ts'
import { makeCa } from '../fixtures/certs.ts'
import type { NetworkProfile } from '../../shared/common/spec/index.ts'

const net = (...argv: string[]): NetworkProfile | undefined => networkFromArgs(parseArgs(argv, RECORD_OPTIONS).values)
/** The thrown error as "CODE: message", so one regex checks both. */
function failure(...argv: string[]): string {
  try {
    net(...argv)
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`)
}

const ENV_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'ws_proxy', 'wss_proxy', 'WS_PROXY', 'WSS_PROXY', 'WIRETRACE_PROXY_PASSWORD']
const saved: Record<string, string | undefined> = {}
for (const k of ENV_KEYS) saved[k] = process.env[k]
function setEnv(vars: Record<string, string>): void {
  for (const k of ENV_KEYS) delete process.env[k]
  Object.assign(process.env, vars)
}
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k]
    else process.env[k] = saved[k]
  }
})

let dir = ''
let caPem = ''
let caPath = ''
let leaf: { certPath: string; keyPath: string; cert: string; key: string }
let pacPath = ''
const PAC = 'function FindProxyForURL(url, host) { return "PROXY 127.0.0.1:3128; DIRECT" }'
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-cli-net-'))
  const ca = makeCa('CLI Proxy CA')
  caPem = ca.caCert
  caPath = ca.caCertPath
  leaf = ca.issue(['client'], { client: true })
  pacPath = path.join(dir, 'proxy.pac')
  fs.writeFileSync(pacPath, PAC)
  fs.writeFileSync(path.join(dir, 'not-pem.txt'), 'hello')
})

describe('record: proxy flags → NetworkProfile', () => {
  it('no proxy flag: no network profile (direct)', () => {
    setEnv({ HTTP_PROXY: 'http://ignored:1' })
    expect(net()).toBeUndefined()
    expect(specFromArgs('ws://127.0.0.1:9/', {}).network).toBeUndefined()
  })

  it('--proxy: every scheme, credentials from the URL', () => {
    expect(net('--proxy', 'http://127.0.0.1:3128')).toEqual({ mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: 3128 } })
    expect(net('--proxy', 'https://u:p%40ss@proxy.test:8443')).toEqual({ mode: 'manual', proxy: { kind: 'https', host: 'proxy.test', port: 8443, auth: { username: 'u', password: 'p@ss' } } })
    for (const kind of ['socks4', 'socks4a', 'socks5', 'socks5h'] as const) {
      expect(net('--proxy', `${kind}://127.0.0.1:1080`)).toEqual({ mode: 'manual', proxy: { kind, host: '127.0.0.1', port: 1080 } })
    }
    expect(failure('--proxy', 'gopher://p:1')).toMatch(/^WT_PROXY_URL_INVALID: .*gopher.*--proxy/)
  })

  it('--proxy-mode connect|forward, and a bad value names the flag', () => {
    expect(net('--proxy', 'http://h:1', '--proxy-mode', 'forward')).toMatchObject({ mode: 'manual', httpMode: 'forward' })
    expect(net('--proxy', 'http://h:1', '--proxy-mode', 'connect')).toMatchObject({ mode: 'manual', httpMode: 'connect' })
    expect(failure('--proxy', 'http://h:1', '--proxy-mode', 'tunnel')).toMatch(/^WT_USAGE: --proxy-mode must be connect or forward, got "tunnel"/)
    expect(failure('--proxy-mode', 'forward')).toMatch(/^WT_USAGE: --proxy-mode .*needs --proxy/)
    // Forwarding is an HTTP proxy thing: with SOCKS it cannot mean anything.
    expect(failure('--proxy', 'socks5://h:1', '--proxy-mode', 'forward')).toMatch(/^WT_USAGE: --proxy-mode .*http:\/\/ or https:\/\/ proxy/)
  })

  it('--no-proxy with --proxy is the manual bypass list', () => {
    expect(net('--proxy', 'http://h:1', '--no-proxy', 'localhost,.corp.test')).toMatchObject({ mode: 'manual', noProxy: 'localhost,.corp.test' })
  })

  it('TLS to an HTTPS proxy: --proxy-ca, --proxy-insecure, --proxy-cert with --proxy-key', () => {
    const p = net('--proxy', 'https://h:1', '--proxy-ca', caPath, '--proxy-ca', caPath, '--proxy-insecure', '--proxy-cert', leaf.certPath, '--proxy-key', leaf.keyPath)
    expect(p).toEqual({ mode: 'manual', proxy: { kind: 'https', host: 'h', port: 1 }, proxyTls: { ca: [caPem, caPem], insecure: true, cert: leaf.cert, key: leaf.key } })
    expect(failure('--proxy', 'https://h:1', '--proxy-ca', '/nonexistent/ca.pem')).toMatch(/^WT_FILE_UNREADABLE: cannot read --proxy-ca \/nonexistent\/ca\.pem: no such file/)
    expect(failure('--proxy', 'https://h:1', '--proxy-ca', path.join(dir, 'not-pem.txt'))).toMatch(/^WT_TLS_CONFIG: --proxy-ca .*not a PEM file/)
    expect(failure('--proxy', 'https://h:1', '--proxy-cert', leaf.certPath)).toMatch(/^WT_USAGE: --proxy-cert needs --proxy-key/)
    expect(failure('--proxy', 'https://h:1', '--proxy-key', leaf.keyPath)).toMatch(/^WT_USAGE: --proxy-key needs --proxy-cert/)
    for (const flag of [['--proxy-ca', caPath], ['--proxy-insecure'], ['--proxy-cert', leaf.certPath, '--proxy-key', leaf.keyPath]]) {
      expect(failure(...flag)).toMatch(new RegExp(`^WT_USAGE: ${flag[0]} needs --proxy, --pac or --proxy-env`))
    }
  })

  it('the proxy-hop TLS flags also reach an HTTPS proxy that --pac or --proxy-env chooses', () => {
    const tlsFlags = ['--proxy-ca', caPath, '--proxy-insecure', '--proxy-cert', leaf.certPath, '--proxy-key', leaf.keyPath]
    const proxyTls = { ca: [caPem], insecure: true, cert: leaf.cert, key: leaf.key }
    expect(net('--pac', pacPath, ...tlsFlags)).toEqual({ mode: 'pac', pacFile: pacPath, pacScript: PAC, proxyTls })
    setEnv({ https_proxy: 'https://p.test:8443' })
    expect(net('--proxy-env', ...tlsFlags)).toEqual({ mode: 'env', env: { https_proxy: 'https://p.test:8443' }, proxyTls })
    expect(failure('--pac', pacPath, '--proxy-cert', leaf.certPath)).toMatch(/^WT_USAGE: --proxy-cert needs --proxy-key/)
  })

  it('--pac FILE reads the script; --pac URL is fetched at connect time; a missing file names the flag', () => {
    expect(net('--pac', pacPath)).toEqual({ mode: 'pac', pacFile: pacPath, pacScript: PAC })
    expect(net('--pac', 'http://127.0.0.1:8080/proxy.pac')).toEqual({ mode: 'pac', pacUrl: 'http://127.0.0.1:8080/proxy.pac' })
    expect(failure('--pac', '/nonexistent/x.pac')).toMatch(/^WT_FILE_UNREADABLE: cannot read --pac \/nonexistent\/x\.pac: no such file/)
    expect(failure('--pac', pacPath, '--proxy-mode', 'forward')).toMatch(/^WT_USAGE: --proxy-mode .*--proxy.*not.*--pac/)
  })

  it('--proxy-env snapshots the proxy variables, nothing else', () => {
    setEnv({ HTTPS_PROXY: 'http://a:1', ws_proxy: 'socks5h://b:2', no_proxy: 'localhost', PATH_LIKE: 'x' })
    expect(net('--proxy-env')).toEqual({ mode: 'env', env: { HTTPS_PROXY: 'http://a:1', ws_proxy: 'socks5h://b:2', no_proxy: 'localhost' } })
    expect(failure('--proxy-env', '--proxy-mode', 'forward')).toMatch(/^WT_USAGE: --proxy-mode .*--proxy.*not.*--proxy-env/)
  })

  it('--no-proxy with --proxy-env replaces NO_PROXY and no_proxy, as curl --noproxy does', () => {
    setEnv({ http_proxy: 'http://a:1', no_proxy: 'from-env.test', NO_PROXY: 'FROM-ENV.test' })
    expect(net('--proxy-env', '--no-proxy', '127.0.0.1,.corp.test')).toEqual({ mode: 'env', env: { http_proxy: 'http://a:1', no_proxy: '127.0.0.1,.corp.test', NO_PROXY: '127.0.0.1,.corp.test' } })
    // An empty list clears the variables' bypass list.
    expect(net('--proxy-env', '--no-proxy', '')).toMatchObject({ env: { no_proxy: '', NO_PROXY: '' } })
  })

  it('--no-proxy without a proxy, or with --pac, is rejected rather than ignored', () => {
    expect(failure('--no-proxy', 'localhost')).toMatch(/^WT_USAGE: --no-proxy needs --proxy or --proxy-env/)
    expect(failure('--pac', pacPath, '--no-proxy', 'localhost')).toMatch(/^WT_USAGE: --no-proxy does not apply to --pac: .*FindProxyForURL/)
  })

  it('one way to choose the proxy at a time', () => {
    expect(failure('--proxy', 'http://h:1', '--pac', pacPath)).toMatch(/^WT_USAGE: choose one of --proxy, --pac, --proxy-env \(got --proxy and --pac\)/)
    expect(failure('--pac', pacPath, '--proxy-env')).toMatch(/got --pac and --proxy-env/)
  })

  describe('--proxy-user: credentials for whichever proxy is chosen', () => {
    it('USER:PASS applies to --proxy, --pac and --proxy-env; the password may hold colons', () => {
      expect(net('--proxy', 'http://h:1', '--proxy-user', 'alice:s3:cret')).toMatchObject({ mode: 'manual', proxy: { auth: { username: 'alice', password: 's3:cret' } } })
      expect(net('--pac', pacPath, '--proxy-user', 'CORP\\alice:pw')).toMatchObject({ mode: 'pac', auth: { username: 'CORP\\alice', password: 'pw' } })
      setEnv({ http_proxy: 'http://a:1' })
      expect(net('--proxy-env', '--proxy-user', 'alice@corp.test:pw')).toMatchObject({ mode: 'env', auth: { username: 'alice@corp.test', password: 'pw' } })
      // An explicitly empty password is a password.
      expect(net('--proxy', 'http://h:1', '--proxy-user', 'alice:')).toMatchObject({ proxy: { auth: { username: 'alice', password: '' } } })
    })

    it('USER alone takes the password from WIRETRACE_PROXY_PASSWORD, so it stays out of shell history', () => {
      setEnv({ WIRETRACE_PROXY_PASSWORD: 'from-env-Pw1' })
      expect(net('--pac', pacPath, '--proxy-user', 'alice')).toMatchObject({ auth: { username: 'alice', password: 'from-env-Pw1' } })
      setEnv({})
      expect(failure('--pac', pacPath, '--proxy-user', 'alice')).toMatch(/^WT_USAGE: --proxy-user alice has no password: .*USER:PASS.*WIRETRACE_PROXY_PASSWORD/)
    })

    it('rejects an empty user, credentials given twice, and --proxy-user without a proxy', () => {
      expect(failure('--proxy', 'http://h:1', '--proxy-user', ':pw')).toMatch(/^WT_USAGE: --proxy-user needs a user name/)
      expect(failure('--proxy', 'http://u:p@h:1', '--proxy-user', 'alice:pw')).toMatch(/^WT_USAGE: credentials given twice: .*--proxy URL.*--proxy-user/)
      expect(failure('--proxy-user', 'alice:pw')).toMatch(/^WT_USAGE: --proxy-user needs --proxy, --pac or --proxy-env/)
      // The password never appears in a message.
      expect(failure('--proxy', 'http://u:p@h:1', '--proxy-user', 'alice:Sekr1t-x')).not.toContain('Sekr1t-x')
    })
  })

  it('--help documents every proxy flag, the password variable and the --no-proxy rules', () => {
    for (const f of ['--proxy URL', '--pac FILE|URL', '--proxy-env', '--proxy-user USER[:PASS]', '--proxy-ca FILE', '--proxy-insecure', '--proxy-cert FILE', '--proxy-key FILE', '--no-proxy LIST', '--proxy-mode connect|forward']) {
      expect(RECORD_HELP).toContain(f)
    }
    expect(RECORD_HELP).toContain('WIRETRACE_PROXY_PASSWORD')
    expect(RECORD_HELP).toMatch(/--no-proxy LIST +.*--proxy-env.*NO_PROXY/)
    expect(RECORD_HELP).toMatch(/DOMAIN\\USER/)
  })
})

describe('record: --header', () => {
  const headerFailure = (...headers: string[]): string => {
    try {
      specFromArgs('ws://127.0.0.1:9/', parseArgs(['ws://127.0.0.1:9/', ...headers.flatMap((h) => ['--header', h])], RECORD_OPTIONS).values)
    } catch (e) {
      return `${(e as { code: string }).code}: ${(e as Error).message}`
    }
    throw new Error(`expected ${headers.join(', ')} to be rejected`)
  }

  it('a header without a colon is named by its position, never echoed (it may be a token)', () => {
    const m = headerFailure('X-Ok: 1', 'Authorization Bearer tok-SECRET-9')
    expect(m).toBe('WT_USAGE: --header #2 has no colon: write it as "Name: value" (its text is not repeated here, as it may hold a secret)')
    expect(m).not.toContain('SECRET')
    expect(m).not.toContain('Bearer')
    const bare = headerFailure('eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ')
    expect(bare).toMatch(/^WT_USAGE: --header #1 has no colon/)
    expect(bare).not.toContain('eyJ')
    const empty = headerFailure(': tok-SECRET-8')
    expect(empty).toBe('WT_USAGE: --header #1 has an empty name: write it as "Name: value"')
  })

  it('well-formed headers still go into the spec as given', () => {
    const spec = specFromArgs('ws://127.0.0.1:9/', parseArgs(['ws://127.0.0.1:9/', '--header', 'X-A: 1', '--header', 'Authorization:  Bearer t:x '], RECORD_OPTIONS).values)
    expect(spec.headers).toEqual([['X-A', '1'], ['Authorization', 'Bearer t:x']])
  })
})
