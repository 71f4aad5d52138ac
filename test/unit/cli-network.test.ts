// `wiretrace record` proxy flags → NetworkProfile: every flag, every combination that cannot
// mean anything, and bad values rejected with a message that names the flag.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import crypto from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from '../../shared/node/cli/args.ts'
import { networkFromArgs, RECORD_HELP, RECORD_OPTIONS, specFromArgs } from '../../shared/node/cli/record.ts'
import { makeCa } from '../fixtures/certs.ts'
import type { NetworkProfile } from '../../shared/common/spec/index.ts'
import { ProfileStore } from '../../shared/node/hosts/profiles.ts'
import { PROFILES_HELP, run as profilesRun } from '../../shared/node/cli/profiles.ts'
import { main } from '../../shared/node/cli/main.ts'
import { describeNetwork } from '../../shared/common/protocol/profiles.ts'

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

const ENV_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'ws_proxy', 'wss_proxy', 'WS_PROXY', 'WSS_PROXY', 'WIRETRACE_PROXY_PASSWORD', 'WIRETRACE_PROXY_KEY_PASSPHRASE']
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

describe('record --profile: a network profile saved in the app', () => {
  let pdir = ''
  let file = ''
  const officePw = 'Office-Pw-4242'
  beforeAll(() => {
    pdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-cli-prof-'))
    file = path.join(pdir, 'profiles.json')
    const store = new ProfileStore(file)
    // Password not remembered: the store strips it, the user name stays.
    store.save({ name: 'Office', network: { mode: 'manual', proxy: { kind: 'http', host: 'proxy.corp.test', port: 3128, auth: { username: 'alice', password: officePw, schemes: ['ntlm', 'basic'], domain: 'CORP' } }, noProxy: 'localhost' } }, true)
    store.save({ name: 'Remembered', rememberPassword: true, network: { mode: 'manual', proxy: { kind: 'http', host: 'p.test', port: 8080, auth: { username: 'bob', password: 'kept-Pw-1' } } } }, true)
    store.save({ name: 'Wpad', network: { mode: 'pac', pacUrl: 'http://wpad.test/proxy.pac', onPacError: 'fail' } }, true)
    store.save({ name: 'Home', network: { mode: 'direct' } }, true)
    store.save({ name: 'Tls', network: { mode: 'manual', proxy: { kind: 'https', host: 'tls.test', port: 443 }, proxyTls: { caFiles: [caPath], certFile: '/nonexistent/client.pem', keyFile: '/nonexistent/client.key' } } }, true)
  })
  const prof = (...argv: string[]): NetworkProfile | undefined => net('--profiles', file, ...argv)
  const profFailure = (...argv: string[]): string => failure('--profiles', file, ...argv)

  it('reads the profile (names match case-insensitively), names it, and takes the password it did not keep from WIRETRACE_PROXY_PASSWORD', () => {
    setEnv({ WIRETRACE_PROXY_PASSWORD: officePw })
    const n = prof('--profile', 'office')
    expect(n).toEqual({ mode: 'manual', name: 'Office', proxy: { kind: 'http', host: 'proxy.corp.test', port: 3128, auth: { username: 'alice', password: officePw, schemes: ['ntlm', 'basic'], domain: 'CORP' } }, noProxy: 'localhost' })
    // The file itself never held it.
    expect(fs.readFileSync(file, 'utf8')).not.toContain(officePw)
    // Through specFromArgs too: the spec's network is the profile, named.
    expect(specFromArgs('ws://127.0.0.1:9/', parseArgs(['--profiles', file, '--profile', 'OFFICE'], RECORD_OPTIONS).values).network).toMatchObject({ name: 'Office', mode: 'manual' })
  })

  it('no password kept and none given: says so and how to give it', () => {
    setEnv({})
    const m = profFailure('--profile', 'Office')
    expect(m).toMatch(/^WT_USAGE: profile "Office" did not keep its password \(Remember password was off\) for alice: set WIRETRACE_PROXY_PASSWORD .* or give --proxy-user alice:PASS/)
  })

  it('--proxy-user gives the credentials (the profile\'s schemes and domain stay); a remembered password is used as saved', () => {
    setEnv({})
    expect(prof('--profile', 'Office', '--proxy-user', 'carol:pw2')).toMatchObject({ proxy: { auth: { username: 'carol', password: 'pw2', schemes: ['ntlm', 'basic'], domain: 'CORP' } } })
    setEnv({ WIRETRACE_PROXY_PASSWORD: 'env-pw' })
    expect(prof('--profile', 'Office', '--proxy-user', 'alice')).toMatchObject({ proxy: { auth: { username: 'alice', password: 'env-pw' } } })
    expect(prof('--profile', 'remembered')).toMatchObject({ name: 'Remembered', proxy: { auth: { username: 'bob', password: 'kept-Pw-1' } } })
    // A PAC profile without credentials gets them from --proxy-user.
    expect(prof('--profile', 'Wpad', '--proxy-user', 'dave:pw3')).toEqual({ mode: 'pac', name: 'Wpad', pacUrl: 'http://wpad.test/proxy.pac', onPacError: 'fail', auth: { username: 'dave', password: 'pw3' } })
  })

  it('an unknown name names the file and lists the saved names (bounded); a missing file says so', () => {
    const m = profFailure('--profile', 'Nope')
    expect(m).toContain('WT_PROFILE_NOT_FOUND: no saved profile is named "Nope" in ' + file)
    expect(m).toMatch(/saved: Home, Office, Remembered, Tls, Wpad$/)
    const many = path.join(pdir, 'many.json')
    const store = new ProfileStore(many)
    for (let i = 0; i < 30; i++) store.save({ name: `p${String(i).padStart(2, '0')}`, network: { mode: 'direct' } }, true)
    const m2 = failure('--profiles', many, '--profile', 'x')
    expect(m2).toMatch(/saved: p00, p01, .*p19 and 10 more$/)
    expect(m2).not.toContain('p20')
    const none = path.join(pdir, 'absent', 'profiles.json')
    expect(failure('--profiles', none, '--profile', 'Office')).toMatch(/^WT_PROFILE_NOT_FOUND: no saved profile is named "Office": .*absent\/profiles\.json does not exist/)
  })

  it('refuses --proxy, --pac, --proxy-env, --proxy-mode and --no-proxy with it, naming them', () => {
    setEnv({ WIRETRACE_PROXY_PASSWORD: 'x' })
    expect(profFailure('--profile', 'Office', '--proxy', 'http://h:1')).toMatch(/^WT_USAGE: --profile Office already says how to reach the network: drop --proxy/)
    expect(profFailure('--profile', 'Office', '--pac', pacPath, '--proxy-env', '--proxy-mode', 'forward', '--no-proxy', 'x')).toMatch(/drop --pac, --proxy-env, --proxy-mode, --no-proxy/)
    expect(failure('--profiles', file)).toMatch(/^WT_USAGE: --profiles needs --profile NAME/)
  })

  it('a Direct profile takes no proxy credentials or proxy TLS', () => {
    expect(prof('--profile', 'home')).toEqual({ mode: 'direct', name: 'Home' })
    expect(profFailure('--profile', 'Home', '--proxy-user', 'a:b')).toMatch(/^WT_USAGE: --proxy-user does not apply to profile "Home": it goes direct/)
    expect(profFailure('--profile', 'Home', '--proxy-insecure')).toMatch(/^WT_USAGE: --proxy-insecure does not apply to profile "Home": it goes direct/)
  })

  it('reads the profile\'s proxy CA, certificate and key files as the app does; --proxy-ca adds, --proxy-insecure adds, --proxy-cert/--proxy-key replace', () => {
    // The profile names a client cert that does not exist: read as the app reads it, the error names the field and the profile.
    expect(profFailure('--profile', 'Tls')).toMatch(/^WT_FILE_UNREADABLE: profile "Tls": proxyTls\.certFile: cannot read \/nonexistent\/client\.pem \(ENOENT\)/)
    const n = prof('--profile', 'Tls', '--proxy-ca', caPath, '--proxy-insecure', '--proxy-cert', leaf.certPath, '--proxy-key', leaf.keyPath)
    expect(n).toEqual({ mode: 'manual', name: 'Tls', proxy: { kind: 'https', host: 'tls.test', port: 443 }, proxyTls: { caFiles: [caPath], ca: [caPem, caPem], insecure: true, cert: leaf.cert, key: leaf.key } })
  })

  it('an encrypted proxy client key takes its passphrase from WIRETRACE_PROXY_KEY_PASSPHRASE; without one it is refused, naming the variable', () => {
    // Profiles of their own (the other tests count the shared file's): an encrypted client key,
    // its passphrase not remembered (stripped on save), or remembered.
    const encFile = path.join(pdir, 'enc-profiles.json')
    const encKeyPath = path.join(pdir, 'client-enc.key')
    fs.writeFileSync(encKeyPath, crypto.createPrivateKey(leaf.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'Enc-Pp-1' }))
    const encTls = { certFile: leaf.certPath, keyFile: encKeyPath, passphrase: 'Enc-Pp-1' }
    const store = new ProfileStore(encFile)
    store.save({ name: 'EncKey', network: { mode: 'manual', proxy: { kind: 'https', host: 'tls.test', port: 443 }, proxyTls: encTls } }, true)
    store.save({ name: 'EncKeyKept', rememberPassword: true, network: { mode: 'manual', proxy: { kind: 'https', host: 'tls.test', port: 443 }, proxyTls: encTls } }, true)
    const prof = (...argv: string[]): NetworkProfile | undefined => net('--profiles', encFile, ...argv)
    const profFailure = (...argv: string[]): string => failure('--profiles', encFile, ...argv)
    const tlsOf = (n: NetworkProfile | undefined): Record<string, unknown> | undefined => (n as { proxyTls?: Record<string, unknown> } | undefined)?.proxyTls
    expect(profFailure('--profile', 'EncKey')).toBe('WT_USAGE: the client key for TLS to the proxy (profile "EncKey") is encrypted and no passphrase was given: set WIRETRACE_PROXY_KEY_PASSPHRASE (kept out of shell history)')
    // Remembered with the profile: used as saved.
    expect(tlsOf(prof('--profile', 'EncKeyKept'))).toMatchObject({ passphrase: 'Enc-Pp-1' })
    // --proxy-key given: the message names the flag and the file.
    expect(failure('--proxy', 'https://h:1', '--proxy-cert', leaf.certPath, '--proxy-key', encKeyPath)).toBe(`WT_USAGE: the client key for TLS to the proxy (--proxy-key ${encKeyPath}) is encrypted and no passphrase was given: set WIRETRACE_PROXY_KEY_PASSPHRASE (kept out of shell history)`)
    // Empty is not a passphrase.
    setEnv({ WIRETRACE_PROXY_KEY_PASSPHRASE: '' })
    expect(profFailure('--profile', 'EncKey')).toMatch(/^WT_USAGE: the client key for TLS to the proxy \(profile "EncKey"\) is encrypted/)
    setEnv({ WIRETRACE_PROXY_KEY_PASSPHRASE: 'Enc-Pp-1' })
    expect(tlsOf(prof('--profile', 'EncKey'))).toMatchObject({ passphrase: 'Enc-Pp-1', cert: leaf.cert })
    // A passphrase the profile remembered is its own: the variable (meant for another key) does not replace it.
    setEnv({ WIRETRACE_PROXY_KEY_PASSPHRASE: 'for-another-key' })
    expect(tlsOf(prof('--profile', 'EncKeyKept'))).toMatchObject({ passphrase: 'Enc-Pp-1' })
    setEnv({ WIRETRACE_PROXY_KEY_PASSPHRASE: 'Enc-Pp-1' })
    expect(tlsOf(net('--proxy', 'https://h:1', '--proxy-cert', leaf.certPath, '--proxy-key', encKeyPath))).toMatchObject({ passphrase: 'Enc-Pp-1' })
    // An unencrypted key needs none.
    setEnv({})
    expect(tlsOf(net('--proxy', 'https://h:1', '--proxy-cert', leaf.certPath, '--proxy-key', leaf.keyPath))?.passphrase).toBeUndefined()
    expect(RECORD_HELP).toMatch(/--proxy-key FILE +.*WIRETRACE_PROXY_KEY_PASSPHRASE/)
  })

  it('--help documents --profile, --profiles and what the proxy flags do with it', () => {
    expect(RECORD_HELP).toMatch(/--profile NAME +.*profiles\.json.*case/)
    expect(RECORD_HELP).toMatch(/--profiles FILE +.*profiles\.json/)
    expect(RECORD_HELP).toMatch(/--proxy-ca FILE +.*with --profile: added to its CAs/)
    expect(RECORD_HELP).toMatch(/--proxy-cert FILE +.*with --profile: replaces its client certificate/)
  })

  describe('wiretrace profiles', () => {
    const io = (): { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; out: () => string; err: () => string } => {
      let o = ''
      let e = ''
      return {
        stdout: { write: (s: string) => ((o += s), true) } as unknown as NodeJS.WritableStream,
        stderr: { write: (s: string) => ((e += s), true) } as unknown as NodeJS.WritableStream,
        out: () => o,
        err: () => e,
      }
    }

    it('lists name, mode and a one-line description without secrets, and the file', async () => {
      const x = io()
      expect(await profilesRun(['--profiles', file], x)).toBe(0)
      const lines = x.out().trim().split('\n')
      expect(lines[0]).toBe(`5 network profiles in ${file}:`)
      expect(lines.find((l) => l.startsWith('  Office'))).toMatch(/^ {2}Office +manual +HTTP proxy alice@proxy\.corp\.test:3128 · CONNECT tunnel · auth ntlm > basic · no proxy for localhost · password not kept$/)
      expect(lines.find((l) => l.startsWith('  Remembered'))).toMatch(/manual +HTTP proxy bob@p\.test:8080 · CONNECT tunnel$/)
      expect(lines.find((l) => l.startsWith('  Wpad'))).toMatch(/pac +PAC http:\/\/wpad\.test\/proxy\.pac · on PAC error fail$/)
      expect(x.out()).not.toContain('kept-Pw-1')
      expect(x.err()).toBe('')
    })

    it('--json: the list, the file and each profile without secrets', async () => {
      const x = io()
      expect(await profilesRun(['--profiles', file, '--json'], x)).toBe(0)
      const j = JSON.parse(x.out()) as { file: string; exists: boolean; limit: number; problems: unknown[]; profiles: Array<Record<string, unknown>> }
      expect(j).toMatchObject({ file, exists: true, limit: 100, problems: [] })
      expect(j.profiles.map((p) => p.name)).toEqual(['Home', 'Office', 'Remembered', 'Tls', 'Wpad'])
      expect(j.profiles.find((p) => p.name === 'Remembered')).toMatchObject({ mode: 'manual', user: 'bob', passwordKept: true, needsPassword: false, network: { proxy: { auth: { username: 'bob', password: '[redacted]' } } } })
      expect(j.profiles.find((p) => p.name === 'Office')).toMatchObject({ user: 'alice', passwordKept: false, needsPassword: true, description: expect.stringContaining('alice@proxy.corp.test') })
      expect(x.out()).not.toContain('kept-Pw-1')
    })

    it('a PAC URL with a password is described without it', async () => {
      expect(describeNetwork({ mode: 'pac', pacUrl: 'http://u:Pac-Url-Pw@wpad.test/p.pac' })).toBe('PAC http://u:***@wpad.test/p.pac · on PAC error go DIRECT')
    })

    it('a damaged file is reported and what loaded is still listed; no file is not an error', async () => {
      const bad = path.join(pdir, 'partly.json')
      fs.writeFileSync(bad, JSON.stringify({ version: 1, profiles: [{ name: 'Good', network: { mode: 'direct' } }, { name: 'Bad', network: { mode: 'manual', proxy: { kind: 'http', host: 'p', port: 0 } } }] }))
      const x = io()
      expect(await profilesRun(['--profiles', bad], x)).toBe(0)
      expect(x.out()).toMatch(/^1 network profile in .*partly\.json:\n {2}Good +direct +Direct: no proxy\n$/)
      expect(x.err()).toMatch(/^wiretrace: WT_CONFIG_DAMAGED: partly\.json: /)
      const y = io()
      expect(await profilesRun(['--profiles', path.join(pdir, 'none.json'), '--json'], y)).toBe(0)
      expect(JSON.parse(y.out())).toMatchObject({ exists: false, profiles: [] })
      const z = io()
      expect(await profilesRun(['--profiles', path.join(pdir, 'none.json')], z)).toBe(0)
      expect(z.out()).toMatch(/^No network profiles: .*none\.json does not exist/)
    })

    it('is a wiretrace command with its own help', async () => {
      const x = io()
      expect(await main(['profiles', '--help'], x)).toBe(0)
      expect(x.out()).toBe(PROFILES_HELP)
      expect(PROFILES_HELP).toMatch(/--json/)
      const h = io()
      await main(['--help'], h)
      expect(h.out()).toMatch(/\n {2}profiles +list the network profiles saved in the app/)
    })
  })
})

describe('record: reconnect and cursor flags reach the spec, or are refused naming the flag', () => {
  const spec = (url: string, ...argv: string[]): ReturnType<typeof specFromArgs> => specFromArgs(url, parseArgs([url, ...argv], RECORD_OPTIONS).values)
  const refused = (url: string, ...argv: string[]): string => {
    try {
      spec(url, ...argv)
    } catch (e) {
      return `${(e as { code: string }).code}: ${(e as Error).message}`
    }
    throw new Error(`expected ${argv.join(' ')} to be rejected`)
  }
  const HTTP = 'http://127.0.0.1:9/x'
  const WS = 'ws://127.0.0.1:9/x'

  it('--reconnect-delay and --reconnect-max-delay apply on their own (poll: the backoff after failed cycles)', () => {
    expect(spec(HTTP, '-t', 'poll', '--reconnect-delay', '100', '--reconnect-max-delay', '200').reconnect).toEqual({ initialDelayMs: 100, maxDelayMs: 200 })
    expect(spec(HTTP, '-t', 'poll', '--reconnect-max-delay', '700').reconnect).toEqual({ maxDelayMs: 700 })
    expect(spec(HTTP, '-t', 'poll').reconnect).toBeUndefined()
  })

  it('WebSocket: a reconnect delay turns reconnect on, as --reconnect-max does; with --reconnect as before', () => {
    expect(spec(WS, '--reconnect-delay', '100', '--reconnect-max-delay', '2000').reconnect).toEqual({ enabled: true, initialDelayMs: 100, maxDelayMs: 2000 })
    expect(spec(WS, '--reconnect-max-delay', '2000').reconnect).toEqual({ enabled: true, maxDelayMs: 2000 })
    expect(spec(WS, '--reconnect', '--reconnect-delay', '50', '--reconnect-max', '3').reconnect).toEqual({ enabled: true, initialDelayMs: 50, maxAttempts: 3 })
    expect(spec(WS, '--reconnect-max', '3').reconnect).toEqual({ enabled: true, maxAttempts: 3 })
    expect(spec(WS, '--no-reconnect').reconnect).toEqual({ enabled: false })
    expect(spec(WS).reconnect).toBeUndefined()
  })

  it('SSE: --reconnect-max-delay caps the backoff and turns it on; --reconnect-delay is refused, pointing at --retry', () => {
    const s = spec(HTTP, '-t', 'sse', '--reconnect-max-delay', '5000')
    expect(s.reconnect).toEqual({ enabled: true, maxDelayMs: 5000 })
    expect(s.sse).toEqual({ backoff: true })
    expect(spec(HTTP, '-t', 'sse', '--reconnect', '--reconnect-max-delay', '5000', '--reconnect-max', '4')).toMatchObject({ reconnect: { enabled: true, maxDelayMs: 5000, maxAttempts: 4 }, sse: { backoff: true } })
    expect(refused(HTTP, '-t', 'sse', '--reconnect-delay', '100')).toMatch(/^WT_USAGE: --reconnect-delay does not apply to sse: .*--retry MS/)
    // http:// defaults to sse: same rule without -t.
    expect(refused(HTTP, '--reconnect-delay', '100')).toMatch(/^WT_USAGE: --reconnect-delay does not apply to sse/)
  })

  it('--no-reconnect with a reconnect setting is refused, naming both', () => {
    for (const flag of ['--reconnect-delay', '--reconnect-max-delay', '--reconnect-max']) {
      expect(refused(WS, '--no-reconnect', flag, '100')).toMatch(new RegExp(`^WT_USAGE: ${flag} .*--no-reconnect`))
      // (--reconnect-delay is refused for sse whatever else is given.)
      if (flag !== '--reconnect-delay') expect(refused(HTTP, '-t', 'sse', '--no-reconnect', flag, '100')).toMatch(new RegExp(`^WT_USAGE: ${flag} .*--no-reconnect`))
    }
    expect(spec(HTTP, '-t', 'sse', '--no-reconnect')).toMatchObject({ reconnect: { enabled: false }, sse: { reconnect: false } })
  })

  it('h2 and stream never reconnect: every reconnect flag is refused, naming it', () => {
    for (const t of ['h2', 'stream']) {
      for (const argv of [['--reconnect-delay', '100'], ['--reconnect-max-delay', '100'], ['--reconnect-max', '2'], ['--reconnect']]) {
        expect(refused(HTTP, '-t', t, ...argv)).toMatch(new RegExp(`^WT_USAGE: ${argv[0]} does not apply to ${t}: `))
      }
      // --no-reconnect says what they do anyway: accepted, so one script can pass it to every transport.
      expect(spec(HTTP, '-t', t, '--no-reconnect').reconnect).toBeUndefined()
    }
  })

  it('poll: --reconnect, --no-reconnect and --reconnect-max are refused, naming the poll flags that do that', () => {
    for (const argv of [['--reconnect'], ['--no-reconnect'], ['--reconnect-max', '3']]) {
      expect(refused(HTTP, '-t', 'poll', ...argv)).toMatch(new RegExp(`^WT_USAGE: ${argv[0]} does not apply to poll: .*--max-errors`))
    }
  })

  it('--cursor-json with --cursor-header: both reach the spec (the header first, the JSON path when it is missing)', () => {
    const s = spec(HTTP, '-t', 'poll', '--cursor-json', '$.next', '--cursor-header', 'X-Cursor', '--cursor-query', 'after')
    expect(s.poll?.cursorFrom).toEqual({ json: '$.next', header: 'X-Cursor' })
    expect(spec(HTTP, '-t', 'poll', '--cursor-json', '$.next', '--cursor-query', 'after').poll?.cursorFrom).toEqual({ json: '$.next' })
    expect(spec(HTTP, '-t', 'poll', '--cursor-header', 'X-Cursor', '--cursor-query', 'after').poll?.cursorFrom).toEqual({ header: 'X-Cursor' })
  })

  it('--cursor-query with --cursor-to-header: the cursor goes into both', () => {
    expect(spec(HTTP, '-t', 'poll', '--cursor-json', 'c', '--cursor-query', 'after', '--cursor-to-header', 'X-After').poll?.cursorTo).toEqual({ query: 'after', header: 'X-After' })
    expect(spec(HTTP, '-t', 'poll', '--cursor-json', 'c', '--cursor-to-header', 'X-After').poll?.cursorTo).toEqual({ header: 'X-After' })
  })

  it('a flag of another transport is refused, naming the flag and where it applies (it used to be dropped silently)', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['sse', ['--cursor-json', '$.c'], /^WT_USAGE: --cursor-json is for poll, not sse$/],
      ['h2', ['--lines'], /^WT_USAGE: --lines is for stream, not h2$/],
      ['poll', ['--send', 'hi'], /^WT_USAGE: --send is for ws, not poll$/],
      ['sse', ['--no-deflate'], /^WT_USAGE: --no-deflate is for ws, not sse$/],
      ['poll', ['--no-backoff'], /^$/],
      ['sse', ['--concurrency', '2'], /^WT_USAGE: --concurrency is for h2, not sse$/],
      ['stream', ['--retry', '100'], /^WT_USAGE: --retry is for sse, not stream$/],
    ]
    for (const [t, argv, re] of cases) {
      if (re.source === '^$') expect(() => spec(HTTP, '-t', t, ...argv)).not.toThrow()
      else expect(refused(HTTP, '-t', t, ...argv)).toMatch(re)
    }
    expect(refused('ws://127.0.0.1:9/', '--method', 'POST')).toBe('WT_USAGE: --method is for sse, poll, h2 or stream, not ws')
    // Where they belong, they apply.
    expect(spec(HTTP, '-t', 'h2', '--concurrency', '2', '--prior-knowledge').h2).toMatchObject({ concurrency: 2 })
    expect(spec('ws://127.0.0.1:9/', '--no-deflate', '--send', 'x').ws).toMatchObject({ deflate: false })
  })

  it('--help says which transports the reconnect flags apply to, and that both cursor sources may be given', () => {
    expect(RECORD_HELP).toMatch(/--reconnect-delay MS +.*ws and poll.*--retry/)
    expect(RECORD_HELP).toMatch(/--reconnect-max-delay MS +.*SSE/)
    expect(RECORD_HELP).toMatch(/--cursor-header NAME +.*--cursor-json/)
  })
})
