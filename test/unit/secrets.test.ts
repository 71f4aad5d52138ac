// Credentials never reach an error message, a log line or a recording in clear: proxy URLs
// (parsed or not, with or without a scheme), PAC URLs, Authorization headers in free text.
import { describe, expect, it } from 'vitest'
import { MASK, REDACTED, redactProxyValue, redactSecretsInText, redactSpec, redactUrl, redactUrlText, redactUserinfo } from '../../shared/common/redact.ts'
import { parseProxyUrl } from '../../shared/common/proxy-url.ts'
import { parseProxyUrl as parseRuleProxyUrl } from '../../shared/node/net/proxy/rules.ts'
import { parsePacResult } from '../../shared/common/pac.ts'
import { parseTargetUrl, validateSpec } from '../../shared/node/engine/validate.ts'
import { evaluatePac } from '../../shared/node/net/pac/index.ts'
import { WiretraceError } from '../../shared/common/errors/index.ts'

function thrown(f: () => unknown): WiretraceError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(WiretraceError)
    return e as WiretraceError
  }
  throw new Error('expected a throw')
}

/** Everything a caller could print or record about an error. */
function everything(e: WiretraceError): string {
  return `${e.message} ${JSON.stringify(e.toJSON())}`
}

describe('redactUserinfo: a proxy value or URL, parsed or not', () => {
  it.each([
    ['http://alice:S3cretPW@proxy.example:99999', 'http://alice:***@proxy.example:99999'],
    ['alice:S3cretPW@proxy.example:3128', 'alice:***@proxy.example:3128'],
    ['http://u:p@ss@host:1', 'http://u:***@host:1'],
    ['socks5h://u:p@ss:w@rd@[::1]:99999', 'socks5h://u:***@[::1]:99999'],
    ['http://u%40corp:p%40ss%3A@h:1', 'http://u%40corp:***@h:1'],
    ['http://u:pa/ss@h:1', 'http://u:***@h:1'],
    ['http://u:pa#ss@h:1', 'http://u:***@h:1'],
    ['http://u:pa?ss@h:1/x', 'http://u:***@h:1/x'],
    ['http://u:pw@h:1/path', 'http://u:***@h:1/path'],
    ['HTTP://U:PW@H:1', 'HTTP://U:***@H:1'],
    ['http://TOKEN123@h:1', 'http://***@h:1'],
    ['TOKEN123@h:1', '***@h:1'],
    ['http://:pw@h:1', 'http://:***@h:1'],
    ['http://u:@h:1', 'http://u:@h:1'],
    ['socks5://u:p w@h:1', 'socks5://u:***@h:1'],
    ['http://h:3128', 'http://h:3128'],
    ['p:3128', 'p:3128'],
    ['[::1]:3128', '[::1]:3128'],
    ['', ''],
  ])('%s → %s', (input, out) => {
    expect(redactUserinfo(input, MASK)).toBe(out)
    expect(redactUserinfo(out, MASK)).toBe(out)
  })
  it('uses the recording marker by default', () => {
    expect(redactUserinfo('http://u:pw@h:1')).toBe(`http://u:${REDACTED}@h:1`)
    expect(redactProxyValue('u:p@ss@h:1')).toBe(`u:${REDACTED}@h:1`)
    expect(redactProxyValue('http://u:EnvPw-99@127.0.0.1:99999')).toBe(`http://u:${REDACTED}@127.0.0.1:99999`)
  })
})

describe('redactUrlText: a URL in a message (PAC URLs)', () => {
  it('hides userinfo and token parameters, keeps the rest as written', () => {
    const r = redactUrlText('http://u:PacPw@pac.corp/p.pac?token=TOK&x=1')
    expect(r).toBe('http://u:***@pac.corp/p.pac?token=***&x=1')
    expect(redactUrlText('https://pac.corp/wpad.dat?access_token=a%20b#frag')).toBe('https://pac.corp/wpad.dat?access_token=***#frag')
  })
  it('keeps an "@" that is in the query of a URL that parses', () => {
    expect(redactUrlText('http://pac.corp/p.pac?email=a@b.com')).toBe('http://pac.corp/p.pac?email=a@b.com')
    expect(redactUrlText('http://u:pw@pac.corp/p.pac?email=a@b.com')).toBe('http://u:***@pac.corp/p.pac?email=a@b.com')
  })
  it('redacts URLs that do not parse (bad port, IPv6, @ in the password)', () => {
    expect(redactUrlText('http://u:PacPw@pac.corp:99999/p.pac')).toBe('http://u:***@pac.corp:99999/p.pac')
    expect(redactUrlText('http://u:p@ss@[::1]:99999/x?sig=S1G')).toBe('http://u:***@[::1]:99999/x?sig=***')
    expect(redactUrlText('not a url')).toBe('not a url')
  })
  it('redactUrl (recordings) no longer leaves an unparsable URL with credentials alone', () => {
    const r = redactUrl('http://u:pw0rd@h:99999/')
    expect(r).not.toContain('pw0rd')
    expect(r).toContain('h:99999')
    expect(redactUrl('not a url')).toBe('not a url')
  })
})

describe('redactSecretsInText: free text from elsewhere', () => {
  it('hides URLs with credentials inside messages', () => {
    const m = 'Request cannot be constructed from a URL that includes credentials: http://u:PacPw@127.0.0.1:1/p.pac?token=TOK'
    const r = redactSecretsInText(m)
    expect(r).toBe('Request cannot be constructed from a URL that includes credentials: http://u:***@127.0.0.1:1/p.pac?token=***')
    expect(redactSecretsInText('a "socks5://u:p@ss@h:1" and http://x:y@z:2/ here')).toBe('a "socks5://u:***@h:1" and http://x:***@z:2/ here')
  })
  it('hides Authorization and Proxy-Authorization values, keeping the scheme', () => {
    expect(redactSecretsInText('sent Proxy-Authorization: Basic dTpwdw== to the proxy')).toBe('sent Proxy-Authorization: Basic *** to the proxy')
    expect(redactSecretsInText('authorization=Bearer eyJabc.def, then')).toBe('authorization=Bearer ***, then')
    expect(redactSecretsInText('Authorization: s3cr3t')).toBe('Authorization: ***')
    expect(redactSecretsInText('the proxy requires authorization (407)')).toBe('the proxy requires authorization (407)')
  })
  it('hides bare user:pass@host (PAC results), leaves ordinary text alone', () => {
    expect(redactSecretsInText('"PROXY u:PacPw@h:80; DIRECT"')).toBe('"PROXY u:***@h:80; DIRECT"')
    expect(redactSecretsInText('PROXY u:p@ss@h:80')).toBe('PROXY u:***@h:80')
    for (const t of ['connect to host:80 failed at 10:30', 'mail git@github.com', 'PROXY h:80; SOCKS5 [::1]:1080']) expect(redactSecretsInText(t)).toBe(t)
  })
})

describe('proxy URL errors name the problem, never the password', () => {
  const parsers: Array<[string, (s: string) => unknown]> = [
    ['common parseProxyUrl', (s) => parseProxyUrl(s)],
    ['engine parseProxyUrl', (s) => parseRuleProxyUrl(s, 'WT_PROXY_ENV_INVALID', 'the ws_proxy variable')],
  ]
  it.each(parsers)('%s: bad port, with and without a scheme, @ in the password, IPv6', (_name, parse) => {
    const cases: Array<[string, string, RegExp[]]> = [
      ['http://alice:S3cretPW@proxy.example:99999', 'S3cretPW', [/alice/, /proxy\.example:99999/, /port/]],
      ['alice:S3cretPW@proxy.example:99999', 'S3cretPW', [/proxy\.example:99999/, /port/]],
      ['http://u:EnvPw-99@127.0.0.1:99999', 'EnvPw-99', [/127\.0\.0\.1:99999/, /port/]],
      ['http://alice:p@ss@[::1]:99999', 'p@ss', [/\[::1\]:99999/, /port/]],
      ['socks5h://alice:p%40ss@[::1]:70000', 'p%40ss', [/\[::1\]:70000/, /port/]],
      ['http://alice:S3cret@h:12ab', 'S3cret', [/12ab/, /port/]],
      ['http://alice:S3cret@bad host:3128', 'S3cret', [/bad host/, /host/]],
      ['http://alice:S3cret@', 'S3cret', [/host/]],
    ]
    for (const [input, secret, names] of cases) {
      const e = thrown(() => parse(input))
      expect(everything(e), input).not.toContain(secret)
      expect(everything(e), input).not.toMatch(/ss@\[/)
      for (const n of names) expect(e.message, input).toMatch(n)
    }
  })
})

describe('recording headers', () => {
  it('redact env proxy values that do not parse, with any shape of userinfo', () => {
    const env = {
      ws_proxy: 'http://u:EnvPw-99@127.0.0.1:99999',
      wss_proxy: 'u:Pw@ss2@proxy:3128',
      https_proxy: 'socks5h://us%3Ar:P%40ss3@[::1]:1080',
      ALL_PROXY: 'socks5://u:Pw/ss4@h:99999',
      HTTP_PROXY: 'http://TokenOnly5@h:1',
      NO_PROXY: 'localhost,.corp',
    }
    const spec = redactSpec({ url: 'ws://h/', transport: 'ws', network: { mode: 'env', env } })
    const text = JSON.stringify(spec)
    for (const s of ['EnvPw-99', 'Pw@ss2', 'ss2', 'P%40ss3', 'Pw/ss4', 'TokenOnly5']) expect(text).not.toContain(s)
    const out = (spec.network as { env: Record<string, string> }).env
    expect(out.ws_proxy).toBe(`http://u:${REDACTED}@127.0.0.1:99999`)
    expect(out.wss_proxy).toBe(`u:${REDACTED}@proxy:3128`)
    expect(out.https_proxy).toBe(`socks5h://us%3Ar:${REDACTED}@[::1]:1080`)
    expect(out.NO_PROXY).toBe('localhost,.corp')
  })
  it('redact a PAC URL that does not parse', () => {
    const spec = redactSpec({ url: 'ws://h/', transport: 'ws', network: { mode: 'pac', pacUrl: 'http://u:PacPw@pac:99999/p.pac?token=TOK' } })
    const text = JSON.stringify(spec)
    expect(text).not.toContain('PacPw')
    expect(text).not.toContain('TOK')
    expect(text).toContain('pac:99999')
  })
})

describe('other engine messages', () => {
  it('PAC results with credentials are reported without them', () => {
    const r = parsePacResult('PROXY u:PacPw@h:80; DIRECT')
    expect(r.problems.join(' ')).not.toContain('PacPw')
    expect(r.problems.join(' ')).toContain('h:80')
  })
  it('an origin URL that does not parse is quoted without its password', () => {
    const e = thrown(() => parseTargetUrl('ws://u:OrigPw@h:99999/', 'ws'))
    expect(everything(e)).not.toContain('OrigPw')
    expect(e.message).toContain('h:99999')
    const e2 = thrown(() => parseTargetUrl('ws://u:OrigPw@/', 'ws'))
    expect(everything(e2)).not.toContain('OrigPw')
  })
  it('a malformed header is reported without its value', () => {
    const e = thrown(() => validateSpec({ url: 'ws://h/', transport: 'ws', headers: [['Authorization', 'Bearer HdrTok-1', 'extra']] as never }))
    expect(everything(e)).not.toContain('HdrTok-1')
    expect(e.message).toMatch(/Authorization/)
  })
  it('the PAC script never sees the userinfo of the URL, and what it throws is redacted', async () => {
    const url = new URL('ws://u:OrigPw-2@h.test:8080/x?token=OrigTok-2&room=1')
    const seen = await evaluatePac('function FindProxyForURL(url, host) { return "PROXY " + (url.indexOf("OrigPw-2") >= 0 || url.indexOf("@") >= 0 ? "leaked" : "clean") + ":1" }', url)
    expect(seen.routes).toEqual([{ kind: 'http', host: 'clean', port: 1 }])
    const err = await evaluatePac('function FindProxyForURL(url, host) { throw new Error("saw " + url + " Proxy-Authorization: Basic PacHdr-2") }', url).catch((e: WiretraceError) => e)
    expect(everything(err as WiretraceError)).not.toMatch(/OrigPw-2|OrigTok-2|PacHdr-2/)
    expect((err as Error).message).toMatch(/saw ws:\/\/h\.test:8080\/x\?token=\*\*\*&room=1/)
    const ret = await evaluatePac('function FindProxyForURL() { return "PROXY u:PacPw-2@h:80" }', url).catch((e: WiretraceError) => e)
    expect(everything(ret as WiretraceError)).not.toContain('PacPw-2')
  })
})

describe('bounded work on untrusted text', () => {
  it('stays fast on long adversarial input (a PAC script can return anything)', () => {
    const inputs = [
      `${'a:('.repeat(100_000)}@`,
      `${'a'.repeat(300_000)}://x`,
      `authorization: ${'a=b'.repeat(100_000)}`,
      `http://h/?${'&x'.repeat(100_000)}`,
      `${'u:'.repeat(100_000)}@`,
    ]
    for (const t of inputs) {
      const t0 = performance.now()
      redactSecretsInText(t)
      redactUserinfo(t)
      redactUrlText(t)
      expect(performance.now() - t0, t.slice(0, 20)).toBeLessThan(500)
    }
  })
})

describe('the system proxy answer (network.resolved) in what is shown and recorded', () => {
  it('redactSpec masks credentials in system mode\'s resolved and resolveError, keeping the rest', () => {
    const spec = { url: 'ws://h/', transport: 'ws' as const, network: { mode: 'system' as const, resolved: 'PROXY u:SysPw-1@h:80; DIRECT', resolveError: 'failed for http://u:SysPw-2@wpad/x.pac' } }
    const out = redactSpec(spec)
    expect(JSON.stringify(out)).not.toMatch(/SysPw-1|SysPw-2/)
    expect(out.network).toMatchObject({ resolved: `PROXY u:${REDACTED}@h:80; DIRECT` })
    // The spec itself (used for routing) is untouched.
    expect(spec.network.resolved).toBe('PROXY u:SysPw-1@h:80; DIRECT')
  })
})
