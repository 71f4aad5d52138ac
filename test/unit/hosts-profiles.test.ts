// The hosts' saved network profiles (profiles.json) and saved targets (targets.json): atomic
// writes with mode 0600, passwords kept only when remembered, bounded counts, stable error
// codes, and a damaged file kept aside (never overwritten) with a clear problem.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ProfileStore, TargetStore, MAX_TARGETS } from '../../shared/node/hosts/profiles.ts'
import { loadList, writeList, MAX_CONFIG_FILE_BYTES } from '../../shared/node/hosts/store.ts'
import { HostAdapter } from '../../shared/node/hosts/adapter.ts'
import { Engine } from '../../shared/node/engine/engine.ts'
import { WiretraceError } from '../../shared/common/errors/index.ts'
import { MAX_PROFILES, type SavedProfile } from '../../shared/common/protocol/profiles.ts'
import type { NetworkProfile } from '../../shared/common/spec/index.ts'

let dir: string
let file: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-profiles-'))
  file = path.join(dir, 'profiles.json')
})
afterEach(() => {
  vi.restoreAllMocks()
  fs.rmSync(dir, { recursive: true, force: true })
})

const manual = (password = 'S3cret!'): NetworkProfile => ({
  mode: 'manual',
  proxy: { kind: 'http', host: '127.0.0.1', port: 3128, auth: { username: 'alice', password, schemes: ['ntlm', 'basic'], domain: 'CORP' } },
  httpMode: 'forward',
  noProxy: 'localhost, .internal',
})
const profile = (name: string, extra: Partial<SavedProfile> = {}): SavedProfile => ({ name, network: manual(), ...extra })
const mode = (f: string): number => fs.statSync(f).mode & 0o777
const temps = (): string[] => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))

function codeOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(WiretraceError)
    return (e as WiretraceError).code
  }
  throw new Error('expected a throw')
}

describe('profiles.json', () => {
  it('writes atomically (a new file renamed over the old), mode 0600, no temp left', () => {
    const s = new ProfileStore(file)
    s.save(profile('Office'), true)
    expect(mode(file)).toBe(0o600)
    const ino = fs.statSync(file).ino
    s.save(profile('Home'), true)
    // Replaced by a rename, never rewritten in place: a crash leaves the old or the new file whole.
    expect(fs.statSync(file).ino).not.toBe(ino)
    expect(mode(file)).toBe(0o600)
    expect(temps()).toEqual([])
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; profiles: SavedProfile[] }
    expect(raw.version).toBe(1)
    expect(raw.profiles.map((p) => p.name)).toEqual(['Home', 'Office'])
    // Read back by a new store (a restart), every field as saved.
    const again = new ProfileStore(file).list()
    expect(again.profiles[1]).toMatchObject({ name: 'Office', network: { ...manual(''), name: 'Office' } })
    expect(again.file).toBe(file)
    expect(again.limit).toBe(MAX_PROFILES)
  })

  it('creates the directory private to the user', () => {
    const nested = path.join(dir, 'a', 'b', 'profiles.json')
    new ProfileStore(nested).save(profile('x'), true)
    expect(mode(path.dirname(nested))).toBe(0o700)
    expect(mode(nested)).toBe(0o600)
  })

  it('a failed write leaves the old file and the list as they were (WT_CONFIG_WRITE)', () => {
    const s = new ProfileStore(file)
    s.save(profile('Office'), true)
    const before = fs.readFileSync(file)
    vi.spyOn(fs, 'renameSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })
    })
    expect(codeOf(() => s.save(profile('Home'), true))).toBe('WT_CONFIG_WRITE')
    expect(fs.readFileSync(file)).toEqual(before)
    expect(s.list().profiles.map((p) => p.name)).toEqual(['Office'])
    expect(temps()).toEqual([])
  })

  it('drops the password unless remembered; remembered ones stay in the 0600 file', () => {
    const s = new ProfileStore(file)
    s.save(profile('Forget'), true)
    s.save(profile('Keep', { rememberPassword: true }), true)
    const text = fs.readFileSync(file, 'utf8')
    expect(text.match(/S3cret!/g)?.length).toBe(1)
    const [forget, keep] = [s.list().profiles.find((p) => p.name === 'Forget')!, s.list().profiles.find((p) => p.name === 'Keep')!]
    expect(forget.network).toMatchObject({ proxy: { auth: { username: 'alice', password: '' } } })
    expect(forget.rememberPassword).toBeUndefined()
    expect(keep).toMatchObject({ rememberPassword: true, network: { proxy: { auth: { password: 'S3cret!' } } } })
    // A key passphrase is a password too; a key file path is not a secret and stays.
    s.save({ name: 'TLS', network: { mode: 'manual', proxy: { kind: 'https', host: 'p', port: 443 }, proxyTls: { keyFile: '/k.pem', certFile: '/c.pem', passphrase: 'pp' } } }, true)
    const tlsP = s.list().profiles.find((p) => p.name === 'TLS')!.network as Extract<NetworkProfile, { mode: 'manual' }>
    expect(tlsP.proxyTls).toEqual({ keyFile: '/k.pem', certFile: '/c.pem' })
  })

  it('drops a password inside a PAC URL or a proxy variable unless remembered', () => {
    const s = new ProfileStore(file)
    s.save({ name: 'PAC', network: { mode: 'pac', pacUrl: 'http://pacuser:PacPw-1@127.0.0.1:9/proxy.pac' } }, true)
    s.save({ name: 'Env', network: { mode: 'env', env: { https_proxy: 'http://envuser:EnvPw-2@127.0.0.1:3128', no_proxy: 'localhost' } } }, true)
    s.save({ name: 'Env kept', network: { mode: 'env', env: { https_proxy: 'http://envuser:EnvPw-3@127.0.0.1:3128' } }, rememberPassword: true }, true)
    const text = fs.readFileSync(file, 'utf8')
    expect(text).not.toContain('PacPw-1')
    expect(text).not.toContain('EnvPw-2')
    expect(text).toContain('EnvPw-3')
    expect(s.get('PAC')!.network).toMatchObject({ pacUrl: 'http://pacuser@127.0.0.1:9/proxy.pac' })
    expect(s.get('Env')!.network).toMatchObject({ env: { https_proxy: 'http://envuser@127.0.0.1:3128', no_proxy: 'localhost' } })
  })

  it('is bounded: the limit refuses a new name (WT_PROFILES_FULL), replacing one still works', () => {
    const s = new ProfileStore(file, { limit: 3 })
    for (const n of ['a', 'b', 'c']) s.save(profile(n), true)
    expect(codeOf(() => s.save(profile('d'), true))).toBe('WT_PROFILES_FULL')
    expect(() => s.save(profile('b', { network: { mode: 'system' } }), true)).not.toThrow()
    expect(s.list().profiles.find((p) => p.name === 'b')!.network).toEqual({ mode: 'system', name: 'b' })
    expect(MAX_PROFILES).toBe(100)
  })

  it('Save as never overwrites, rename checks both names, delete names the missing one', () => {
    const s = new ProfileStore(file)
    s.save(profile('Office'), true)
    expect(codeOf(() => s.save(profile('office'), false))).toBe('WT_PROFILE_EXISTS')
    s.save(profile('Home'), false)
    expect(codeOf(() => s.rename('Home', 'OFFICE'))).toBe('WT_PROFILE_EXISTS')
    expect(codeOf(() => s.rename('Nope', 'x'))).toBe('WT_PROFILE_NOT_FOUND')
    s.rename('Home', 'Home 2')
    expect(s.list().profiles.map((p) => [p.name, p.network.name])).toEqual([['Home 2', 'Home 2'], ['Office', 'Office']])
    // A case change of its own name is a rename, not a clash.
    s.rename('Office', 'OFFICE')
    expect(codeOf(() => s.delete('gone'))).toBe('WT_PROFILE_NOT_FOUND')
    s.delete('home 2')
    expect(new ProfileStore(file).list().profiles.map((p) => p.name)).toEqual(['OFFICE'])
  })

  it('a file that is not JSON is kept aside byte for byte, with a clear problem; saving starts a new one', () => {
    const garbage = '{"version":1,"profiles":[{"name":"Office",'
    fs.writeFileSync(file, garbage)
    const s = new ProfileStore(file, { now: () => new Date('2026-11-27T10:15:00Z') })
    expect(s.list().profiles).toEqual([])
    const [problem] = s.takeProblems()
    expect(problem).toMatchObject({ code: 'WT_CONFIG_DAMAGED' })
    expect(problem!.message).toMatch(/profiles\.json: not valid JSON .*kept as profiles\.json\.bad-20261127T101500Z; starting with no saved network profiles/)
    const aside = path.join(dir, 'profiles.json.bad-20261127T101500Z')
    expect(fs.readFileSync(aside, 'utf8')).toBe(garbage)
    expect(fs.existsSync(file)).toBe(false)
    expect(s.takeProblems()).toEqual([])
    s.save(profile('Fresh'), true)
    expect(fs.readFileSync(aside, 'utf8')).toBe(garbage)
    expect(new ProfileStore(file).list().profiles.map((p) => p.name)).toEqual(['Fresh'])
  })

  it('bad entries are skipped, the others load, and the whole file is copied aside first', () => {
    const good = { name: 'Good', network: { mode: 'env', name: 'Good' } }
    const bad = { name: 'Bad', network: { mode: 'manual', proxy: { kind: 'ftp', host: 'x', port: 1 } } }
    const original = JSON.stringify({ version: 1, profiles: [good, bad, { name: 'Port', network: { mode: 'manual', proxy: { kind: 'http', host: 'x', port: 70000 } } }] })
    fs.writeFileSync(file, original)
    const s = new ProfileStore(file, { now: () => new Date('2026-11-27T10:15:00Z') })
    expect(s.list().profiles.map((p) => p.name)).toEqual(['Good'])
    const [problem] = s.takeProblems()
    expect(problem!.code).toBe('WT_CONFIG_DAMAGED')
    expect(problem!.message).toContain('2 entries skipped (entry 2: profile.network.proxy.kind: must be one of')
    expect(problem!.message).toContain('entry 3: profile.network.proxy.port: must be an integer from 1 to 65535')
    expect(fs.readFileSync(path.join(dir, 'profiles.json.bad-20261127T101500Z'), 'utf8')).toBe(original)
    expect(mode(path.join(dir, 'profiles.json.bad-20261127T101500Z'))).toBe(0o600)
  })

  it('a second damaged file gets its own aside name; an oversized one is kept aside unread', () => {
    const now = new Date('2026-11-27T10:15:00Z')
    fs.writeFileSync(file, 'x')
    loadList(file, 'profiles', (e) => e, 10, 'profiles', now)
    fs.writeFileSync(file, 'y')
    loadList(file, 'profiles', (e) => e, 10, 'profiles', now)
    expect(fs.readdirSync(dir).sort()).toEqual(['profiles.json.bad-20261127T101500Z', 'profiles.json.bad-20261127T101500Z-2'])
    fs.writeFileSync(file, Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1, 0x20))
    const r = loadList(file, 'profiles', (e) => e, 10, 'profiles', now)
    expect(r.problem?.message).toMatch(/larger than/)
    expect(fs.existsSync(file)).toBe(false)
  })

  it('writeList refuses with WT_CONFIG_WRITE when the place is not a directory', () => {
    fs.writeFileSync(path.join(dir, 'file'), '')
    expect(codeOf(() => writeList(path.join(dir, 'file', 'profiles.json'), 'profiles', []))).toBe('WT_CONFIG_WRITE')
  })
})

describe('targets.json', () => {
  const spec = { url: 'wss://bob:UrlPw@example.test/s', transport: 'ws' as const, network: manual(), tls: { passphrase: 'KeyPw' } }

  it('an existing file (0644, passwords in it) still loads, is made 0600, and keeps what it had', () => {
    const tfile = path.join(dir, 'targets.json')
    fs.writeFileSync(tfile, JSON.stringify({ version: 1, targets: [{ name: 'old', spec }] }), { mode: 0o644 })
    fs.chmodSync(tfile, 0o644)
    const s = new TargetStore(tfile)
    const [t] = s.list()
    expect(mode(tfile)).toBe(0o600)
    // Saved before passwords were optional: it was kept, so it stays (marked remembered).
    expect(t).toMatchObject({ name: 'old', rememberPassword: true, spec: { network: { proxy: { auth: { password: 'S3cret!' } } } } })
    expect(s.takeProblems()).toEqual([])
  })

  it('an entry without the flag whose secret is a URL token keeps it, marked remembered: never deleted behind the user', () => {
    const tfile = path.join(dir, 'targets-tok.json')
    fs.writeFileSync(tfile, JSON.stringify({ version: 1, targets: [{ name: 'tok', spec: { url: 'wss://example.test/s?room=1&access_token=Tok-77', transport: 'ws' } }] }))
    const s = new TargetStore(tfile)
    expect(s.list()[0]).toMatchObject({ rememberPassword: true, spec: { url: 'wss://example.test/s?room=1&access_token=Tok-77' } })
    s.save({ name: 'other', spec: { url: 'wss://example.test/o', transport: 'ws' } })
    expect(fs.readFileSync(tfile, 'utf8')).toContain('Tok-77')
    // Saved again without Remember, the token goes.
    s.save({ name: 'tok', spec: { url: 'wss://example.test/s?room=1&access_token=Tok-77', transport: 'ws' } })
    expect(fs.readFileSync(tfile, 'utf8')).not.toContain('Tok-77')
  })

  it('strips passwords (proxy, URL, key passphrase) unless remembered; writes 0600 atomically', () => {
    const tfile = path.join(dir, 'targets.json')
    const s = new TargetStore(tfile)
    s.save({ name: 'forget', spec })
    s.save({ name: 'keep', spec, rememberPassword: true })
    expect(mode(tfile)).toBe(0o600)
    const text = fs.readFileSync(tfile, 'utf8')
    for (const secret of ['S3cret!', 'UrlPw', 'KeyPw']) expect(text.match(new RegExp(secret, 'g'))?.length).toBe(1)
    const forget = new TargetStore(tfile).list().find((t) => t.name === 'forget')!
    expect(forget.spec.url).toBe('wss://bob@example.test/s')
    expect(forget.spec.network).toMatchObject({ proxy: { auth: { username: 'alice', password: '' } } })
    expect(forget.spec.tls).toEqual({})
    expect(temps()).toEqual([])
    expect(MAX_TARGETS).toBe(500)
  })
})

describe('the adapter', () => {
  it('serves profiles.* with coded errors, keeps profiles.json next to targets.json, reports a damaged file once', async () => {
    fs.writeFileSync(file, 'not json')
    const engine = new Engine({ recordingsDir: null, host: 'test' })
    const a = new HostAdapter({ engine, host: 'test', targetsFile: path.join(dir, 'targets.json') })
    try {
      const info = await a.dispatch('host.info', {})
      expect(info).toMatchObject({ ok: true, result: { configProblems: [{ code: 'WT_CONFIG_DAMAGED' }] } })
      expect(await a.dispatch('host.info', {})).toMatchObject({ ok: true, result: { configProblems: [] } })
      const saved = await a.dispatch('profiles.save', { profile: profile('Office') })
      expect(saved).toMatchObject({ ok: true, result: { file, limit: MAX_PROFILES, profiles: [{ name: 'Office' }] } })
      expect(await a.dispatch('profiles.save', { profile: profile('Office'), replace: false })).toMatchObject({ ok: false, error: { code: 'WT_PROFILE_EXISTS' } })
      expect(await a.dispatch('profiles.rename', { from: 'x', to: 'y' })).toMatchObject({ ok: false, error: { code: 'WT_PROFILE_NOT_FOUND' } })
      expect(await a.dispatch('profiles.delete', { name: 'Office' })).toMatchObject({ ok: true, result: { profiles: [] } })
      const bad = await a.dispatch('profiles.save', { profile: { name: 'x', network: { mode: 'manual', proxy: { kind: 'http', host: 'p', port: 0 } } } })
      expect(bad).toMatchObject({ ok: false, error: { code: 'WT_USAGE', message: 'params.profile.network.proxy.port: must be an integer from 1 to 65535' } })
    } finally {
      await a.close()
      await engine.shutdown()
    }
  })

  it('reads the proxy CA, certificate and key files a profile names when the connection opens, naming a missing one', async () => {
    const { readProxyTlsFiles } = await import('../../shared/node/hosts/adapter.ts')
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'CA PEM')
    fs.writeFileSync(path.join(dir, 'c.pem'), 'CERT PEM')
    fs.writeFileSync(path.join(dir, 'k.pem'), 'KEY PEM')
    const n: NetworkProfile = { mode: 'manual', proxy: { kind: 'https', host: 'p', port: 443 }, proxyTls: { caFiles: [path.join(dir, 'ca.pem')], certFile: path.join(dir, 'c.pem'), keyFile: path.join(dir, 'k.pem') } }
    expect(readProxyTlsFiles(n)).toMatchObject({ proxyTls: { ca: ['CA PEM'], cert: 'CERT PEM', key: 'KEY PEM', caFiles: [path.join(dir, 'ca.pem')] } })
    const missing: NetworkProfile = { ...n, proxyTls: { caFiles: [path.join(dir, 'nope.pem')] } }
    let err: unknown
    try {
      readProxyTlsFiles(missing)
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({ code: 'WT_FILE_UNREADABLE', message: expect.stringMatching(/^proxyTls\.caFiles\[0\]: cannot read .*nope\.pem \(ENOENT\)/) })
    // TLS to the origin: its CA files too, in every mode (direct as well), added after inline CAs.
    fs.writeFileSync(path.join(dir, 'corp.pem'), 'CORP PEM')
    const office: NetworkProfile = { mode: 'direct', originTls: { ca: ['INLINE'], caFiles: [path.join(dir, 'corp.pem')], osCaStore: true } }
    expect(readProxyTlsFiles(office)).toEqual({ mode: 'direct', originTls: { ca: ['INLINE', 'CORP PEM'], caFiles: [path.join(dir, 'corp.pem')], osCaStore: true } })
    expect(readProxyTlsFiles({ ...n, originTls: { caFiles: [path.join(dir, 'corp.pem')] } })).toMatchObject({ proxyTls: { ca: ['CA PEM'] }, originTls: { ca: ['CORP PEM'] } })
    expect(() => readProxyTlsFiles({ mode: 'env', originTls: { caFiles: [path.join(dir, 'gone.pem')] } })).toThrow(/^originTls\.caFiles\[0\]: cannot read .*gone\.pem \(ENOENT\)/)
  })
})

describe('a damaged config file: what is quoted and what is kept', () => {
  const asides = (): string[] => fs.readdirSync(dir).filter((n) => n.startsWith('profiles.json.bad-')).sort()

  it('a JSON error is reported by position only, never quoting the file (a password)', () => {
    fs.writeFileSync(file, '{"version":1,"profiles":[{"name":"A","password":"Hunter2Secret"},x]}')
    const r = loadList(file, 'profiles', (e) => e, 10, 'profiles', new Date('2026-11-27T10:15:00Z'))
    expect(r.problem?.code).toBe('WT_CONFIG_DAMAGED')
    // V8 says "Unexpected token 'x', ..."2Secret"},x]}" is not valid JSON" here: no position to give.
    expect(r.problem?.message).toMatch(/^profiles\.json: not valid JSON; the file was kept as/)
    expect(JSON.stringify(r.problem)).not.toMatch(/Secret|Hunter2/)
    fs.writeFileSync(file, '{"version":1,"profiles":[{"name":"A","password":"Hunter2Secret" }')
    const r2 = loadList(file, 'profiles', (e) => e, 10, 'profiles', new Date('2026-11-27T10:15:00Z'))
    expect(r2.problem?.message).toMatch(/not valid JSON \(at position 65\)/)
    expect(JSON.stringify(r2.problem)).not.toMatch(/Secret|Hunter2/)
  })

  it('a partly damaged file is copied aside once, not on every load; at most 5 copies are kept, the oldest removed', () => {
    const good = { name: 'Good', network: { mode: 'env', name: 'Good' } }
    const write = (n: number): void => fs.writeFileSync(file, JSON.stringify({ version: 1, profiles: [good, { name: `Bad${n}`, network: { mode: 'nope' } }] }))
    write(0)
    for (let i = 0; i < 3; i++) {
      const s = new ProfileStore(file, { now: () => new Date(Date.UTC(2026, 10, 27, 10, 15, i)) })
      expect(s.list().profiles.map((p) => p.name)).toEqual(['Good'])
      const [problem] = s.takeProblems()
      // Every load still says what was skipped and where the copy is.
      expect(problem!.message).toContain('kept as profiles.json.bad-20261127T101500Z')
    }
    expect(asides()).toEqual(['profiles.json.bad-20261127T101500Z'])
    for (let n = 1; n <= 6; n++) {
      write(n)
      new ProfileStore(file, { now: () => new Date(Date.UTC(2026, 10, 27, 11, 0, 0)) }).list()
    }
    const kept = asides()
    expect(kept).toHaveLength(5)
    // The newest five versions (Bad2..Bad6): the first copy and Bad1 were removed.
    expect(kept.map((n) => /Bad\d/.exec(fs.readFileSync(path.join(dir, n), 'utf8'))![0]).sort()).toEqual(['Bad2', 'Bad3', 'Bad4', 'Bad5', 'Bad6'])
  })
})

describe('Remember password off: what reaches the files', () => {
  it('profiles.json: a schemeless proxy variable, a password with "@", a PAC URL token: none written', () => {
    const s = new ProfileStore(file)
    s.save({ name: 'Bare', network: { mode: 'env', env: { ALL_PROXY: 'u:EnvPw-4@127.0.0.1:1080' } } }, true)
    s.save({ name: 'At', network: { mode: 'env', env: { https_proxy: 'http://u:p@Pw-5@127.0.0.1:3128' } } }, true)
    s.save({ name: 'Tok', network: { mode: 'pac', pacUrl: 'http://127.0.0.1:9/proxy.pac?v=1&token=PacTok-6' } }, true)
    const text = fs.readFileSync(file, 'utf8')
    for (const secret of ['EnvPw-4', 'Pw-5', 'PacTok-6']) expect(text, secret).not.toContain(secret)
    const again = new ProfileStore(file)
    expect(again.get('Bare')!.network).toMatchObject({ env: { ALL_PROXY: 'u@127.0.0.1:1080' } })
    expect(again.get('At')!.network).toMatchObject({ env: { https_proxy: 'http://u@127.0.0.1:3128' } })
    expect(again.get('Tok')!.network).toMatchObject({ pacUrl: 'http://127.0.0.1:9/proxy.pac?v=1' })
    expect(again.takeProblems()).toEqual([])
  })

  it('profiles.json: an inline client key is dropped with its certificate, so the profile still loads', () => {
    const s = new ProfileStore(file)
    s.save({ name: 'Inline', network: { mode: 'manual', proxy: { kind: 'https', host: 'p', port: 443 }, proxyTls: { cert: 'CERT PEM', key: 'KEY-PEM-11', insecure: true } } }, true)
    expect(fs.readFileSync(file, 'utf8')).not.toContain('KEY-PEM-11')
    const again = new ProfileStore(file)
    expect(again.get('Inline')?.network).toMatchObject({ proxyTls: { insecure: true } })
    expect(again.takeProblems()).toEqual([])
  })

  it('targets.json: the inline key, the PKCS#12 bundle and secret header values are not written; the header names stay', () => {
    const tfile = path.join(dir, 'targets.json')
    const spec = {
      url: 'wss://bob:Url@Pw-12@example.test/s',
      transport: 'ws' as const,
      headers: [['Authorization', 'Bearer HdrTok-7'], ['Cookie', 'sid=Cookie-8'], ['X-Trace', 'keep-me']] as Array<[string, string]>,
      tls: { key: 'KEY-9', pfx: 'PFX-10', passphrase: 'KeyPw' },
      network: { mode: 'env', env: { ALL_PROXY: 'u:EnvPw-13@127.0.0.1:1080' } } as NetworkProfile,
    }
    const s = new TargetStore(tfile)
    s.save({ name: 'forget', spec })
    const text = fs.readFileSync(tfile, 'utf8')
    for (const secret of ['Pw-12', 'HdrTok-7', 'Cookie-8', 'KEY-9', 'PFX-10', 'KeyPw', 'EnvPw-13']) expect(text, secret).not.toContain(secret)
    const [t] = new TargetStore(tfile).list()
    expect(t!.spec.url).toBe('wss://bob@example.test/s')
    expect(t!.spec.headers).toEqual([['Authorization', ''], ['Cookie', ''], ['X-Trace', 'keep-me']])
    expect(t!.spec.tls).toEqual({})
    // Not marked remembered on the way back (nothing secret is left to remember).
    expect(t!.rememberPassword).toBeUndefined()
    s.save({ name: 'keep', spec, rememberPassword: true })
    expect(new TargetStore(tfile).list().find((x) => x.name === 'keep')!.spec).toEqual(spec)
  })
})

describe('files saved before the host file-name rules', () => {
  it('a profile and a target naming a non-PAC file stay listed and are saved again, not dropped', () => {
    const legacy = { version: 1, profiles: [{ name: 'Old PAC', network: { mode: 'pac', pacFile: '/etc/proxy.conf', name: 'Old PAC' } }] }
    fs.writeFileSync(file, JSON.stringify(legacy))
    const s = new ProfileStore(file)
    expect(s.get('Old PAC')?.network).toMatchObject({ pacFile: '/etc/proxy.conf' })
    expect(s.takeProblems()).toEqual([])
    s.save({ name: 'New', network: { mode: 'direct' } }, true)
    expect(new ProfileStore(file).list().profiles.map((p) => p.name)).toEqual(['New', 'Old PAC'])
    const tfile = path.join(dir, 'targets.json')
    fs.writeFileSync(tfile, JSON.stringify({ version: 1, targets: [{ name: 'Old', spec: { url: 'ws://127.0.0.1:1/', transport: 'ws', network: { mode: 'pac', pacFile: '/etc/proxy.conf' } } }] }))
    const t = new TargetStore(tfile)
    expect(t.list().map((x) => x.name)).toEqual(['Old'])
    expect(t.takeProblems()).toEqual([])
  })
})
