// What "Remember password" off keeps out of profiles.json and targets.json: a password in a
// URL's userinfo found as redactUserinfo finds it (no scheme needed; the last "@" before the
// path ends the userinfo), token query parameters of a PAC URL, a target's inline private key
// and PKCS#12 bundle, and secret header values (the header name stays, empty, to be filled in).
import { describe, expect, it } from 'vitest'
import { hasSecrets, stripSecrets, urlWithoutPassword } from '../../shared/common/protocol/profiles.ts'
import { specHasSecrets, stripSpecSecrets } from '../../shared/node/hosts/profiles.ts'
import { emptySecretParams } from '../../shared/common/protocol/profiles.ts'
import { MASK, redactUserinfo } from '../../shared/common/redact.ts'
import type { ConnectionSpec, NetworkProfile } from '../../shared/common/spec/index.ts'

const env = (value: string): NetworkProfile => ({ mode: 'env', env: { ALL_PROXY: value } })
const envOf = (n: NetworkProfile): string => (n as Extract<NetworkProfile, { mode: 'env' }>).env!.ALL_PROXY!
const pac = (pacUrl: string): NetworkProfile => ({ mode: 'pac', pacUrl })
const pacOf = (n: NetworkProfile): string => (n as Extract<NetworkProfile, { mode: 'pac' }>).pacUrl!

describe('a password in a proxy variable or a URL', () => {
  it.each([
    // Schemeless, as the engine accepts (http:// assumed).
    ['u:EnvPw@h:1080', 'u@h:1080'],
    // An unencoded "@" in the password: all of it goes, not only what comes before the "@".
    ['http://u:p@ss@h:3128', 'http://u@h:3128'],
    ['socks5h://u:p@s@s@h:1080', 'socks5h://u@h:1080'],
    // A "/" in the password (the URL does not parse): still found.
    ['http://u:pa/ss@h:3128', 'http://u@h:3128'],
    ['u:pa/ss@h:3128', 'u@h:3128'],
    ['socks5://u:pa\\ss@h:1080', 'socks5://u@h:1080'],
    ['  http://u:pw@h:3128', '  http://u@h:3128'],
  ])('%s → %s, and it counts as a secret', (value, stripped) => {
    expect(urlWithoutPassword(value)).toBe(stripped)
    expect(hasSecrets(env(value))).toBe(true)
    expect(envOf(stripSecrets(env(value)))).toBe(stripped)
    expect(hasSecrets(stripSecrets(env(value)))).toBe(false)
  })

  it.each(['http://h:3128', 'h:3128', 'http://u@h:3128', 'http://u:@h:3128', 'localhost,.corp', 'http://h:3128/p?x=a:b@c', ''])('%j has no password and stays as written', (value) => {
    expect(urlWithoutPassword(value)).toBe(value)
    expect(hasSecrets(env(value))).toBe(false)
  })

  it('finds a password exactly where redactUserinfo masks one', () => {
    for (const v of ['u:pw@h:1080', 'http://u:p@ss@h:3128', 'http://u:pa/ss@h:3128', 'https://a:b@c@d/e', 'http://h:1', 'u@h', 'x:y@z/@w']) {
      expect(hasSecrets(env(v)), v).toBe(redactUserinfo(v, MASK).includes(`:${MASK}@`))
    }
  })
})

describe('a PAC URL', () => {
  it.each([
    ['http://wpad/p.pac?token=PacTok', 'http://wpad/p.pac'],
    ['https://u:pw@wpad:8080/p.pac?v=2&access_token=a&SIG=b#frag', 'https://u@wpad:8080/p.pac?v=2#frag'],
    ['http://wpad/p.pac?a=1;key=z;b=2', 'http://wpad/p.pac?a=1;b=2'],
    ['http://wpad/p.pac?access%5Ftoken=enc&x=1', 'http://wpad/p.pac?x=1'],
    ['http://u:p@ss@wpad/p.pac', 'http://u@wpad/p.pac'],
  ])('%s is stored as %s', (url, stored) => {
    expect(hasSecrets(pac(url))).toBe(true)
    expect(pacOf(stripSecrets(pac(url)))).toBe(stored)
    expect(hasSecrets(stripSecrets(pac(url)))).toBe(false)
  })

  it.each(['http://wpad/p.pac', 'http://wpad:8080/p.pac?owner=me@corp.example&v=2', 'http://wpad/p.pac?token', 'http://wpad/p.pac?tokens=1'])('%s has no secret and stays as written', (url) => {
    expect(hasSecrets(pac(url))).toBe(false)
    expect(pacOf(stripSecrets(pac(url)))).toBe(url)
  })
})

describe('a saved target', () => {
  const spec: ConnectionSpec = {
    url: 'wss://bob:p@ss@example.test/s',
    transport: 'ws',
    headers: [
      ['Authorization', 'Bearer HdrTok'],
      ['X-Trace', '1'],
      ['cookie', 'sid=CookieVal'],
      ['Proxy-Authorization', 'Basic PxTok'],
      ['X-Api-Key', 'ApiKey'],
    ],
    tls: { ca: ['CA PEM'], insecure: true, cert: 'CERT PEM', key: 'KEY PEM', pfx: 'UEZY', passphrase: 'pp' },
    network: env('u:EnvPw@h:1080'),
  }

  it('loses every secret, keeps the header names (empty, to be filled in) and what is not secret', () => {
    const s = stripSpecSecrets(spec)
    expect(s.url).toBe('wss://bob@example.test/s')
    expect(s.headers).toEqual([
      ['Authorization', ''],
      ['X-Trace', '1'],
      ['cookie', ''],
      ['Proxy-Authorization', ''],
      ['X-Api-Key', ''],
    ])
    // The inline key and the PKCS#12 bundle go; the certificate goes with its key (useless alone).
    expect(s.tls).toEqual({ ca: ['CA PEM'], insecure: true })
    expect(envOf(s.network!)).toBe('u@h:1080')
    for (const secret of ['p@ss', 'HdrTok', 'CookieVal', 'PxTok', 'ApiKey', 'KEY PEM', 'UEZY', 'EnvPw']) expect(JSON.stringify(s), secret).not.toContain(secret)
    expect(specHasSecrets(s)).toBe(false)
    // The original is untouched.
    expect(spec.headers![0]).toEqual(['Authorization', 'Bearer HdrTok'])
  })

  it('says it holds a secret for each of them, so the UI offers "Remember password"', () => {
    const base: ConnectionSpec = { url: 'wss://example.test/s', transport: 'ws' }
    expect(specHasSecrets(base)).toBe(false)
    for (const extra of [
      { url: 'wss://bob:p@ss@example.test/s' },
      { headers: [['authorization', 'Bearer x']] },
      { headers: [['Cookie', 'a=b']] },
      { tls: { key: 'KEY PEM' } },
      { tls: { pfx: 'UEZY' } },
      { tls: { passphrase: 'pp' } },
      { network: env('u:pw@h:1080') },
      { network: pac('http://wpad/p.pac?token=t') },
    ] as Partial<ConnectionSpec>[]) {
      expect(specHasSecrets({ ...base, ...extra }), JSON.stringify(extra)).toBe(true)
    }
    expect(specHasSecrets({ ...base, headers: [['Authorization', ''], ['X-Trace', 'abc']] })).toBe(false)
    // A key without an inline certificate: only the key goes.
    expect(stripSpecSecrets({ ...base, tls: { key: 'K', servername: 'x' } }).tls).toEqual({ servername: 'x' })
  })
  it('keeps no token query value: the parameter stays, empty, and is named as the one to fill in', () => {
    const url = 'wss://example.test/feed?room=r1&access_token=Tok1;sig=S%2Bg&Token=T2#frag'
    const base: ConnectionSpec = { url, transport: 'ws' }
    expect(specHasSecrets(base)).toBe(true)
    const s = stripSpecSecrets(base)
    // Values emptied where they stand; names, order, separators, the fragment and the rest as written.
    expect(s.url).toBe('wss://example.test/feed?room=r1&access_token=;sig=&Token=#frag')
    for (const secret of ['Tok1', 'S%2Bg', 'T2']) expect(s.url).not.toContain(secret)
    expect(specHasSecrets(s)).toBe(false)
    expect(emptySecretParams(s.url)).toEqual(['access_token', 'sig', 'Token'])
    expect(emptySecretParams(url)).toEqual([])
    // Nothing to strip: the URL stays byte for byte (no re-serialising).
    for (const u of ['wss://example.test/feed?room=r1&tokens=1&x=%41', 'wss://example.test/feed?token', 'wss://example.test/a?b#token=x', 'wss://bob@example.test/?=v']) {
      expect(stripSpecSecrets({ url: u, transport: 'ws' }).url, u).toBe(u)
      expect(specHasSecrets({ url: u, transport: 'ws' }), u).toBe(false)
    }
    // A token that ends in "=" (base64 padding) is a value, not a missing one.
    expect(emptySecretParams('wss://h/?token=YWJjZA==&sig==')).toEqual([])
    expect(stripSpecSecrets({ url: 'wss://h/?token=YWJjZA==', transport: 'ws' }).url).toBe('wss://h/?token=')
    // A "?" inside the fragment is not a query (a fragment is never sent): left as written.
    for (const u of ['wss://h/p#frag?token=abc', 'wss://h/p#/route?token=']) {
      expect(stripSpecSecrets({ url: u, transport: 'ws' }).url, u).toBe(u)
      expect(specHasSecrets({ url: u, transport: 'ws' }), u).toBe(false)
      expect(emptySecretParams(u), u).toEqual([])
    }
    expect(stripSpecSecrets({ url: 'wss://h/p?token=abc#x?token=def', transport: 'ws' }).url).toBe('wss://h/p?token=#x?token=def')
    // With a password too, and a query that holds an "@".
    expect(stripSpecSecrets({ url: 'wss://bob:pw@example.test/s?owner=me@x&key=K9', transport: 'ws' }).url).toBe('wss://bob@example.test/s?owner=me@x&key=')
  })
})
