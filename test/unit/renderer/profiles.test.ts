// Network profiles in the renderer and on the wire: the protocol's validation of profiles.*
// and proxy.resolve (naming the field), the editor's form ⇄ NetworkProfile mapping both ways,
// the composer's choice ⇄ spec mapping, the route/profile names on rows and the waterfall,
// and error messages that never repeat a password.
import { describe, expect, it } from 'vitest'
import { ParamError, validateCommand } from '../../../shared/common/protocol/index.ts'
import { describeNetwork, needsPassword, stripSecrets, withPassword, type SavedProfile } from '../../../shared/common/protocol/profiles.ts'
import type { NetworkProfile } from '../../../shared/common/spec/index.ts'
import type { WiretraceEvent } from '../../../shared/common/events/index.ts'
import { draftErrors, draftFromProxyUrl, draftToNetwork, EMPTY_DRAFT, maskUserinfo, networkToDraft, sameNetwork, type NetDraft } from '../../../renderer/src/lib/network-form.ts'
import { DEFAULT_FORM, formToSpec, networkToChoice, parseProxyUrl, profileState, specToForm } from '../../../renderer/src/lib/spec-form.ts'
import { toRow } from '../../../renderer/src/lib/rows.ts'
import { buildWaterfall } from '../../../renderer/src/lib/waterfall.ts'
import { routeText } from '../../../renderer/src/lib/route-text.ts'

function usage(cmd: string, params: unknown): string {
  try {
    validateCommand(cmd, params)
  } catch (e) {
    expect(e).toBeInstanceOf(ParamError)
    expect((e as ParamError).code).toBe('WT_USAGE')
    return (e as Error).message
  }
  throw new Error('expected WT_USAGE')
}

const corp: NetworkProfile = {
  mode: 'manual',
  name: 'Corp',
  proxy: { kind: 'https', host: 'proxy.corp', port: 8443, auth: { username: 'alice', password: 'pw', schemes: ['ntlm', 'basic'], domain: 'CORP', workstation: 'WS1' } },
  httpMode: 'forward',
  noProxy: 'localhost, .corp',
  proxyTls: { caFiles: ['/etc/ssl/corp.pem'], insecure: true, servername: 'proxy', certFile: '/c.pem', keyFile: '/k.pem', passphrase: 'pp' },
}

describe('protocol: profiles.* and proxy.resolve', () => {
  it('accepts every mode the engine supports', () => {
    const nets: NetworkProfile[] = [
      corp,
      { mode: 'direct' },
      { mode: 'system' },
      { mode: 'env', auth: { username: 'u', password: '' } },
      { mode: 'pac', pacUrl: 'http://wpad/proxy.pac', onPacError: 'fail', timeoutMs: 2000 },
      { mode: 'pac', pacFile: '/etc/proxy.pac' },
      { mode: 'manual', proxy: { kind: 'socks5h', host: '::1', port: 1080 } },
    ]
    for (const network of nets) {
      expect(() => validateCommand('profiles.save', { profile: { name: 'Corp', network: { ...network, name: 'Corp' }, rememberPassword: true } })).not.toThrow()
      expect(() => validateCommand('proxy.resolve', { url: 'wss://x.test/', network })).not.toThrow()
    }
    expect(() => validateCommand('profiles.rename', { from: 'a', to: 'b' })).not.toThrow()
    expect(() => validateCommand('profiles.delete', { name: 'a' })).not.toThrow()
    expect(() => validateCommand('profiles.list', {})).not.toThrow()
  })

  it.each([
    ['profiles.save', { profile: { name: '', network: { mode: 'direct' } } }, 'params.profile.name: must be a non-empty string'],
    ['profiles.save', { profile: { name: ' pad', network: { mode: 'direct' } } }, 'params.profile.name: must not start or end with a space'],
    ['profiles.save', { profile: { name: 'x'.repeat(81), network: { mode: 'direct' } } }, 'params.profile.name: longer than 80 characters'],
    ['profiles.save', { profile: { name: 'a\u0007', network: { mode: 'direct' } } }, 'params.profile.name: must not contain control characters'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'direct', name: 'b' } } }, 'params.profile.network.name: must be the profile name'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'magic' } } }, 'params.profile.network.mode: must be one of direct, manual, pac, env, system'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'ftp', host: 'h', port: 1 } } } }, 'params.profile.network.proxy.kind: must be one of http'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'http', host: 'h h', port: 1 } } } }, 'params.profile.network.proxy.host: must be a host name'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'http', host: 'h', port: 65536 } } } }, 'params.profile.network.proxy.port: must be an integer from 1 to 65535'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'http', host: 'h', port: 1, auth: { username: 'u', password: 'p', schemes: ['basic', 'basic'] } } } } }, 'params.profile.network.proxy.auth.schemes[1]: basic is listed twice'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'http', host: 'h', port: 1, auth: { username: 'u', password: 'p', schemes: ['kerberos'] } } } } }, 'params.profile.network.proxy.auth.schemes[0]: must be one of basic, digest, ntlm'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'http', host: 'h', port: 1 }, httpMode: 'tunnel' } } }, 'params.profile.network.httpMode: must be connect or forward'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'https', host: 'h', port: 1 }, proxyTls: { caFiles: ['ca.pem'] } } } }, 'params.profile.network.proxyTls.caFiles[0]: must be an absolute path'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'https', host: 'h', port: 1 }, proxyTls: { certFile: '/c.pem' } } } }, 'params.profile.network.proxyTls.keyFile: a client certificate needs its key'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'manual', proxy: { kind: 'http', host: 'h', port: 1 }, typo: 1 } } }, 'params.profile.network.typo: unknown parameter'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'pac' } } }, 'params.profile.network: a PAC profile needs pacUrl or pacFile'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'pac', pacUrl: 'ftp://x/p.pac' } } }, 'params.profile.network.pacUrl: must be an http:, https: or file: URL'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'pac', pacFile: 'rel.pac' } } }, 'params.profile.network.pacFile: must be an absolute path'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'pac', pacUrl: 'http://x/', onPacError: 'retry' } } }, 'params.profile.network.onPacError: must be direct or fail'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'env', env: { 'BAD NAME': 'x' } } } }, 'params.profile.network.env.BAD NAME: is not a variable name'],
    ['profiles.save', { profile: { name: 'a', network: { mode: 'direct' } }, replace: 'yes' }, 'params.replace: must be true or false'],
    ['profiles.rename', { from: 'a' }, 'params.to: must be a non-empty string'],
    ['profiles.delete', { name: 'a', extra: true }, 'params.extra: unknown parameter'],
    ['proxy.resolve', { url: 'ftp://x/', network: { mode: 'system' } }, 'params.url: must be a ws, wss, http or https URL'],
    ['proxy.resolve', { url: 'ws://x/' }, 'params.network: must be an object'],
    ['targets.save', { target: { name: 't', spec: { url: 'ws://x', transport: 'ws' }, rememberPassword: 1 } }, 'params.target.rememberPassword: must be true or false'],
  ])('%s %j → WT_USAGE naming the field', (cmd, params, message) => {
    expect(usage(cmd, params)).toContain(message)
  })

  it('strips secrets but keeps the user name and file paths; says when a password is needed', () => {
    const s = stripSecrets(corp) as Extract<NetworkProfile, { mode: 'manual' }>
    expect(s.proxy.auth).toEqual({ username: 'alice', password: '', schemes: ['ntlm', 'basic'], domain: 'CORP', workstation: 'WS1' })
    expect(s.proxyTls).toEqual({ caFiles: ['/etc/ssl/corp.pem'], insecure: true, servername: 'proxy', certFile: '/c.pem', keyFile: '/k.pem' })
    expect(needsPassword(s)).toBe(true)
    expect(needsPassword(withPassword(s, 'pw'))).toBe(false)
    expect(needsPassword({ mode: 'manual', proxy: { kind: 'socks4', host: 'h', port: 1, auth: { username: 'id', password: '' } } })).toBe(false)
    expect(describeNetwork(corp)).toBe('HTTPS proxy alice@proxy.corp:8443 · forward (absolute URI) for ws:// and http:// · auth ntlm > basic · no proxy for localhost, .corp · proxy certificate not checked')
    expect(describeNetwork(corp)).not.toContain('pw')
  })
})

describe('profile editor form ⇄ NetworkProfile', () => {
  it('maps every field both ways', () => {
    const d = networkToDraft(corp)
    expect(d).toMatchObject({ mode: 'manual', kind: 'https', host: 'proxy.corp', port: '8443', httpMode: 'forward', username: 'alice', schemes: 'ntlm, basic', domain: 'CORP', caFiles: '/etc/ssl/corp.pem', proxyInsecure: true })
    expect(draftToNetwork(d, 'Corp')).toEqual(corp)
    const pac: NetworkProfile = { mode: 'pac', pacFile: '/etc/proxy.pac', onPacError: 'fail', timeoutMs: 1500, auth: { username: 'u', password: 'p' } }
    expect(draftToNetwork(networkToDraft(pac))).toEqual(pac)
    expect(draftToNetwork(networkToDraft({ mode: 'pac', pacUrl: 'https://wpad.test/p.pac' }))).toEqual({ mode: 'pac', pacUrl: 'https://wpad.test/p.pac' })
    for (const n of [{ mode: 'env' }, { mode: 'system' }, { mode: 'direct' }] as NetworkProfile[]) expect(draftToNetwork(networkToDraft(n))).toEqual(n)
    // TLS to an HTTPS proxy that a PAC result, a variable or the system names.
    for (const mode of ['pac', 'env', 'system'] as const) {
      const n = { mode, ...(mode === 'pac' ? { pacUrl: 'http://wpad/p.pac' } : {}), proxyTls: { caFiles: ['/ca.pem'], insecure: true, certFile: '/c.pem', keyFile: '/k.pem', passphrase: 'pp' } } as NetworkProfile
      expect(draftToNetwork(networkToDraft(n))).toEqual(n)
      expect(stripSecrets(n)).toMatchObject({ proxyTls: { caFiles: ['/ca.pem'], certFile: '/c.pem', keyFile: '/k.pem' } })
      expect((stripSecrets(n) as { proxyTls: object }).proxyTls).not.toHaveProperty('passphrase')
    }
    // Fields of another mode do not leak into the profile (TLS to the proxy applies to every mode but direct).
    expect(draftToNetwork({ ...networkToDraft(corp), mode: 'system' })).toEqual({ mode: 'system', proxyTls: (corp as { proxyTls: object }).proxyTls })
    expect(draftToNetwork({ ...networkToDraft(corp), mode: 'direct' })).toEqual({ mode: 'direct' })
    // TLS to the proxy exists only for an HTTPS proxy.
    expect(draftToNetwork({ ...networkToDraft(corp), kind: 'http' })).not.toHaveProperty('proxyTls')
  })

  it('names the field of every problem', () => {
    const errs = (d: Partial<NetDraft>): string[] => draftErrors({ ...EMPTY_DRAFT, ...d }).map((e) => `${e.field}|${e.message}`)
    expect(errs({ host: '' })).toEqual(["host|Proxy host: enter the proxy's host name or address"])
    expect(errs({ host: 'http://p:1' })).toEqual([expect.stringMatching(/^host\|Proxy host: only the host name/)])
    expect(errs({ host: 'bad%20host' })).toEqual(['host|Proxy host: letters, digits, dots and hyphens, or an IP address'])
    expect(errs({ host: '::1' })).toEqual([])
    expect(errs({ host: 'p', port: '80a' })).toEqual(['port|Port: must be a whole number from 1 to 65535'])
    expect(errs({ host: 'p', port: '0' })).toEqual(['port|Port: must be from 1 to 65535'])
    expect(errs({ host: 'p', password: 'x' })).toEqual(['username|Username: needed with a password'])
    expect(errs({ host: 'p', username: 'u', schemes: 'ntlm kerberos ntlm' })).toEqual(['schemes|Authentication schemes: "kerberos" is not one of basic, digest, ntlm', 'schemes|Authentication schemes: ntlm is listed twice'])
    expect(errs({ host: 'p', kind: 'https', caFiles: 'ca.pem\n/ok.pem', certFile: '/c.pem' })).toEqual(['caFiles|Proxy CA files: "ca.pem" is not an absolute path', 'keyFile|Client key file: needed with the client certificate'])
    expect(errs({ mode: 'pac' })).toEqual(['pacSource|PAC file: enter a URL (http://wpad/proxy.pac) or an absolute file path'])
    expect(errs({ mode: 'pac', pacSource: 'ftp://x/p.pac' })).toEqual(['pacSource|PAC file: must be an http://, https:// or file:// URL, or an absolute file path'])
    expect(errs({ mode: 'pac', pacSource: 'proxy.pac' })).toEqual(['pacSource|PAC file: a file path must be absolute'])
    // The host reads only PAC- and PEM-named files: the form says so before the host refuses.
    expect(errs({ mode: 'pac', pacSource: '/home/u/.env' })).toEqual([expect.stringMatching(/^pacSource\|PAC file: the file must name a PAC file \(name ending in \.pac, \.js or \.dat/)])
    expect(errs({ host: 'p', kind: 'https', caFiles: '/home/u/.ssh/id_rsa', certFile: '/c.pem', keyFile: '/k' })).toEqual([
      expect.stringMatching(/^caFiles\|Proxy CA files: "\/home\/u\/\.ssh\/id_rsa" must name a PEM file/),
      expect.stringMatching(/^keyFile\|Client key file: must name a PEM file/),
    ])
    expect(errs({ mode: 'pac', pacSource: 'C:\\proxy.pac', pacTimeoutMs: '5' })).toEqual(['pacTimeoutMs|PAC timeout: must be a number of milliseconds from 100 to 60000'])
    expect(() => draftToNetwork({ ...EMPTY_DRAFT, host: 'p', port: '99999' })).toThrow(/^Port: must be from 1 to 65535$/)
  })

  it('TLS to the origin: every mode (direct too) round-trips, is checked like the proxy CA files, and is validated by the protocol', () => {
    const originTls = { caFiles: ['/etc/ssl/corp-root.pem', '/etc/ssl/corp-issuing.crt'], osCaStore: true, insecure: true }
    for (const n of [
      { ...corp, originTls },
      { mode: 'direct', originTls },
      { mode: 'pac', pacUrl: 'http://wpad/p.pac', originTls: { osCaStore: true } },
      { mode: 'env', originTls: { caFiles: ['/ca.pem'] } },
      { mode: 'system', originTls: { insecure: true } },
    ] as NetworkProfile[]) {
      expect(draftToNetwork(networkToDraft(n), n.name)).toEqual(n)
      expect(() => validateCommand('profiles.save', { profile: { name: 'Office', network: { ...n, name: 'Office' } } })).not.toThrow()
      // Nothing secret in it: kept as is without "Remember password".
      expect((stripSecrets(n) as { originTls?: object }).originTls).toEqual(n.originTls)
    }
    expect(networkToDraft({ mode: 'direct', originTls })).toMatchObject({ originCaFiles: '/etc/ssl/corp-root.pem\n/etc/ssl/corp-issuing.crt', originSystemCa: true, originInsecure: true })
    // An empty group adds nothing; switching mode keeps it (it applies to every mode).
    expect(draftToNetwork({ ...EMPTY_DRAFT, mode: 'direct' })).toEqual({ mode: 'direct' })
    expect(draftToNetwork({ ...networkToDraft({ ...corp, originTls }), mode: 'system' })).toMatchObject({ mode: 'system', originTls })
    expect(sameNetwork({ mode: 'direct' }, { mode: 'direct', originTls: { osCaStore: true } }, false)).toBe(false)
    const errs = (d: Partial<NetDraft>): string[] => draftErrors({ ...EMPTY_DRAFT, mode: 'direct', ...d }).map((e) => `${e.field}|${e.message}`)
    expect(errs({ originCaFiles: 'corp.pem\n/home/u/.ssh/id_rsa\n/ok.pem' })).toEqual([
      'originCaFiles|Origin CA files: "corp.pem" is not an absolute path',
      expect.stringMatching(/^originCaFiles\|Origin CA files: "\/home\/u\/\.ssh\/id_rsa" must name a PEM file/),
    ])
    expect(describeNetwork({ mode: 'direct', originTls: { caFiles: ['/ca.pem'], osCaStore: true } })).toBe('Direct: no proxy · own CA for the origin · system CA store')
    expect(describeNetwork({ ...corp, originTls: { insecure: true } })).toContain('proxy certificate not checked · origin certificate not checked')
  })

  it.each([
    [{ mode: 'direct', originTls: { caFiles: ['corp.pem'] } }, 'params.profile.network.originTls.caFiles[0]: must be an absolute path'],
    [{ mode: 'direct', originTls: { caFiles: ['/home/u/.env'] } }, 'params.profile.network.originTls.caFiles[0]: must name'],
    [{ mode: 'env', originTls: { osCaStore: 'yes' } }, 'params.profile.network.originTls.osCaStore: must be true or false'],
    [{ mode: 'system', originTls: { insecure: 1 } }, 'params.profile.network.originTls.insecure: must be true or false'],
    [{ mode: 'pac', pacUrl: 'http://w/p.pac', originTls: { ca: 'PEM' } }, 'params.profile.network.originTls.ca: must be a list of PEM texts'],
    // Client certificates for the origin stay with the connection's own TLS settings.
    [{ mode: 'manual', proxy: { kind: 'http', host: 'h', port: 1 }, originTls: { certFile: '/c.pem' } }, 'params.profile.network.originTls.certFile: unknown parameter'],
    [{ mode: 'direct', originTls: [] }, 'params.profile.network.originTls: must be an object'],
  ])('originTls %j → WT_USAGE naming the field', (network, message) => {
    expect(usage('profiles.save', { profile: { name: 'a', network } })).toContain(message)
  })

  it('fills the fields from a proxy URL; a bad URL is named without its password', () => {
    expect(draftFromProxyUrl('socks5h://u%40x:p%3Aw@127.0.0.1')).toMatchObject({ mode: 'manual', kind: 'socks5h', host: '127.0.0.1', port: '1080', username: 'u@x', password: 'p:w' })
    expect(draftFromProxyUrl('proxy.corp:3128')).toMatchObject({ kind: 'http', host: 'proxy.corp', port: '3128' })
    // The same default ports as the engine's proxy URLs: 80, 443, 1080.
    expect(draftFromProxyUrl('http://p').port).toBe('80')
    expect(draftToNetwork({ ...EMPTY_DRAFT, kind: 'https', host: 'p' })).toMatchObject({ proxy: { port: 443 } })
    expect(draftFromProxyUrl('http://[::1]:8080')).toMatchObject({ host: '::1', port: '8080' })
    for (const bad of ['http://alice:Sup3rSecret@proxy:99999', 'http://alice:Sup3r Secret@', 'alice:Sup3rSecret@bad host:1', 'http://al@ice:Sup3r@Secret@[::1', 'ftp://alice:Sup3rSecret@p']) {
      for (const parse of [draftFromProxyUrl, parseProxyUrl]) {
        let msg = ''
        try {
          parse(bad)
        } catch (e) {
          msg = (e as Error).message
        }
        expect(msg).toMatch(/^Proxy URL: /)
        expect(msg).not.toContain('Sup3r')
      }
    }
    // As redactUserinfo masks it: the user name stays, the whole password goes (an "@" or "/" in it too).
    expect(maskUserinfo('http://u:p@ss@h:1/x')).toBe('http://u:***@h:1/x')
    expect(maskUserinfo('u:pw@h:1')).toBe('u:***@h:1')
    expect(maskUserinfo('http://u:pa/ss@h:99999')).toBe('http://u:***@h:99999')
    expect(maskUserinfo('http://TOKEN@h:1')).toBe('http://***@h:1')
    expect(maskUserinfo('http://h:1')).toBe('http://h:1')
    let shown = ''
    try {
      draftFromProxyUrl('http://u:pa/ss@h:99999')
    } catch (e) {
      shown = (e as Error).message
    }
    expect(shown).toBe('Proxy URL: "http://u:***@h:99999" is not a URL (e.g. http://proxy:3128 or socks5h://127.0.0.1:1080)')
  })

  it('compares settings with or without the password', () => {
    expect(sameNetwork(corp, withPassword(corp, 'other'), false)).toBe(true)
    expect(sameNetwork(corp, withPassword(corp, 'other'), true)).toBe(false)
    expect(sameNetwork(corp, { ...corp, noProxy: '' }, false)).toBe(false)
    expect(sameNetwork(corp, { ...corp, name: 'Other name' }, true)).toBe(true)
  })
})

describe('composer: the network choice ⇄ spec', () => {
  const saved: SavedProfile[] = [{ name: 'Corp', network: stripSecrets(corp) }, { name: 'Lab', network: { mode: 'manual', name: 'Lab', proxy: { kind: 'http', host: '127.0.0.1', port: 3128 } }, rememberPassword: true }]
  const form = { ...DEFAULT_FORM, url: 'ws://127.0.0.1:9/x' }

  it('built-ins, a saved profile by name (with its name in the spec), a custom one (no name)', () => {
    expect(formToSpec({ ...form, network: 'direct' }, saved).network).toBeUndefined()
    expect(formToSpec({ ...form, network: 'system' }, saved).network).toEqual({ mode: 'system' })
    expect(formToSpec({ ...form, network: 'env' }, saved).network).toEqual({ mode: 'env' })
    expect(formToSpec({ ...form, network: 'profile', profile: 'Lab' }, saved).network).toEqual({ mode: 'manual', name: 'Lab', proxy: { kind: 'http', host: '127.0.0.1', port: 3128 } })
    const edited = { ...saved[1]!.network, noProxy: 'localhost' } as NetworkProfile
    expect(formToSpec({ ...form, network: 'profile', profile: 'Lab', draft: edited }, saved).network).toMatchObject({ name: 'Lab', noProxy: 'localhost' })
    expect(formToSpec({ ...form, network: 'custom', draft: { ...corp } }, saved).network).not.toHaveProperty('name')
    expect(() => formToSpec({ ...form, network: 'profile', profile: 'Gone' }, saved)).toThrow('Network: no saved profile is named "Gone" any more; choose another network')
  })

  it('marks a picked profile modified only when a setting changed (a session password is not a change)', () => {
    const pick = { ...form, network: 'profile' as const, profile: 'Corp' }
    expect(profileState({ ...pick, draft: null }, saved)).toEqual({ saved: saved[0], modified: false })
    expect(profileState({ ...pick, draft: withPassword(saved[0]!.network, 'typed') }, saved).modified).toBe(false)
    expect(profileState({ ...pick, draft: { ...saved[0]!.network, noProxy: '*' } as NetworkProfile }, saved).modified).toBe(true)
    expect(profileState({ ...form, network: 'custom', draft: corp }, saved).modified).toBe(false)
  })

  it('a spec maps back to the same choice', () => {
    for (const f of [
      { ...form, network: 'direct' as const },
      { ...form, network: 'system' as const },
      { ...form, network: 'env' as const },
      { ...form, network: 'profile' as const, profile: 'Lab' },
      { ...form, network: 'profile' as const, profile: 'Lab', draft: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: 3129 } } as NetworkProfile },
      { ...form, network: 'custom' as const, draft: { mode: 'pac', pacUrl: 'http://wpad/p.pac' } as NetworkProfile },
      { ...form, network: 'custom' as const, draft: { mode: 'env', auth: { username: 'u', password: 'p' } } as NetworkProfile },
    ]) {
      const spec = formToSpec(f, saved)
      const back = specToForm(spec, '', saved)
      expect({ network: back.network, profile: back.profile }).toEqual({ network: f.network, profile: f.profile })
      expect(formToSpec(back, saved)).toEqual(spec)
    }
    // A profile renamed or deleted since: its settings come back as a custom profile.
    expect(networkToChoice({ mode: 'manual', name: 'Old', proxy: { kind: 'http', host: 'h', port: 1 } }, saved)).toEqual({ network: 'custom', profile: '', draft: { mode: 'manual', proxy: { kind: 'http', host: 'h', port: 1 } } })
    // A saved target with the password the profile does not keep: the profile, with that password for the session.
    const typed = networkToChoice(withPassword({ ...saved[0]!.network }, 'typed'), saved)
    expect(typed.network).toBe('profile')
    expect(profileState({ ...form, ...typed }, saved).modified).toBe(false)
  })
})

describe('the route names the profile', () => {
  const ev = (e: object): WiretraceEvent => ({ conn: 'c1', ts: 1000, seq: 0, ...e }) as WiretraceEvent
  it('on the route row, the start row and the waterfall', () => {
    const rule = ev({ type: 'proxy.rule', seq: 2, source: 'manual', rule: 'manual proxy', chosen: 'http://127.0.0.1:3128', fallbacks: [] })
    expect(toRow(rule, 'Lab')!.preview).toBe('http://127.0.0.1:3128 · profile "Lab" (manual: manual proxy)')
    expect(toRow(rule)!.preview).toBe('http://127.0.0.1:3128 (manual: manual proxy)')
    const start = ev({ type: 'conn.start', spec: { url: 'ws://h/', transport: 'ws', network: { mode: 'manual', name: 'Lab', proxy: { kind: 'http', host: 'p', port: 1 } } } })
    expect(toRow(start)!.preview).toBe('ws ws://h/ · network profile "Lab" (manual)')
    const w = buildWaterfall([rule], null, 'Lab')
    expect(w.phases[0]).toMatchObject({ label: 'Route', detail: 'http://127.0.0.1:3128 · profile "Lab" (manual: manual proxy)' })
  })
  it('the answer before connecting reads as a route, a failure as a failure', () => {
    expect(routeText({ available: true, source: 'system', rule: 'PROXY p:3128; DIRECT', routes: ['http://p:3128', 'DIRECT'], ms: 3 })).toBe('http://p:3128, then DIRECT (system: PROXY p:3128; DIRECT)')
    expect(routeText({ available: true, source: 'system', rule: 'system proxy lookup failed: timeout', routes: ['DIRECT'], error: { code: 'WT_SYSTEM_PROXY_LOOKUP', message: 'the system proxy lookup failed: timeout' }, ms: 5000 })).toContain('(WT_SYSTEM_PROXY_LOOKUP)')
    expect(routeText({ available: false, why: 'desktop only', routes: ['DIRECT'], ms: 0 })).toBe('Not available here: desktop only')
  })
})
