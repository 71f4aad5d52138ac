// Diagnoses are pure: events and errors in, plain-words drafts out.
import { describe, expect, it } from 'vitest'
import { DIAGNOSIS_CODES, Diagnoser, diagnoseError, diagnoseForwardedAnswer, diagnoseIdleClose, diagnoseTls, diagnoseUpgradeResponse, errorHeaderWords, offeredSchemes, proxyErrorHeader } from '../../shared/common/diagnose/index.ts'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'
import { isErrorCode } from '../../shared/common/errors/index.ts'

describe('diagnoses', () => {
  it('every code it can produce is documented, and is a stable code in the ERRORS table', () => {
    const codes = new Set(Object.keys(DIAGNOSIS_CODES))
    for (const c of codes) expect(isErrorCode(c), c).toBe(true)
    const errs = ['WT_PROXY_AUTH_REQUIRED', 'WT_PROXY_AUTH_REJECTED', 'WT_PROXY_AUTH_UNSUPPORTED', 'WT_PROXY_CONNECT_REFUSED', 'WT_PROXY_ORIGIN_UNREACHABLE', 'WT_PROXY_UNREACHABLE', 'WT_PROXY_CLOSED', 'WT_PROXY_BAD_RESPONSE', 'WT_SOCKS_FAILED', 'WT_SOCKS_AUTH', 'WT_PAC_ERROR', 'WT_PAC_TIMEOUT']
    for (const c of errs) {
      const d = diagnoseError('c', { code: c, message: 'm', detail: {} })!
      expect(codes.has(d.code), c).toBe(true)
      expect(d.title.length).toBeGreaterThan(10)
      expect(d.suggestions.length).toBeGreaterThan(0)
    }
  })
  it('407: names what is offered and what we can do', () => {
    const d = diagnoseError('c', { code: 'WT_PROXY_AUTH_REQUIRED', message: '', detail: { proxy: 'http://p:3128', offered: ['Negotiate', 'NTLM'] } })!
    expect(d.explanation).toContain('Negotiate, NTLM')
    expect(d.explanation).toContain('Wiretrace can answer with NTLM')
    const none = diagnoseError('c', { code: 'WT_PROXY_AUTH_REQUIRED', message: '', detail: { offered: ['Negotiate'] } })!
    expect(none.explanation).toContain('cannot answer any')
  })
  it('502/503/504 explains the X-Squid-Error value', () => {
    const d = diagnoseError('c', { code: 'WT_PROXY_ORIGIN_UNREACHABLE', message: '', detail: { statusLine: 'HTTP/1.1 503 Service Unavailable', squidError: 'ERR_DNS_FAIL 0' } })!
    expect(d.explanation).toContain("could not resolve the origin's name")
  })
  it('TLS errors only become interception diagnoses through a proxy', () => {
    const err = { code: 'WT_TLS_UNTRUSTED', message: 'x', detail: { issuer: 'CN=Zscaler Root CA' } }
    expect(diagnoseError('c', err)).toBeNull()
    expect(diagnoseError('c', err, { viaProxy: true })!.title).toContain('Zscaler')
    const host = diagnoseError('c', { code: 'WT_TLS_HOSTNAME', message: 'does not name api.x', detail: { issuer: 'CN=Corp' } }, { viaProxy: true })!
    expect(host.code).toBe('WT_PROXY_TLS_HOSTNAME')
  })
  it('interception on a successful handshake: by marker, and ALPN h2 dropped', () => {
    const tls = { hop: 'origin', chain: [{ subject: 'CN=api', issuer: 'CN=Netskope CA', validFrom: '', validTo: '', fingerprint256: 'a' }], alpn: 'http/1.1', alpnOffered: ['h2', 'http/1.1'], authorized: true }
    expect(diagnoseTls('c', tls, { viaProxy: true }).map((d) => d.code)).toEqual(['WT_TLS_INTERCEPTED', 'WT_H2_ALPN'])
    expect(diagnoseTls('c', tls, { viaProxy: false })).toEqual([])
    expect(diagnoseTls('c', { ...tls, chain: [{ ...tls.chain[0]!, issuer: "CN=Let's Encrypt R3" }] }, { viaProxy: true })).toEqual([])
  })
  it('upgrade stripped and idle cut, fed as events', () => {
    const ev = (e: Record<string, unknown>): WiretraceEvent => ({ seq: 0, ts: 0, conn: 'c', ...e }) as unknown as WiretraceEvent
    const d = new Diagnoser('c')
    expect(d.observe(ev({ type: 'proxy.rule', source: 'manual', rule: '', chosen: 'http://p:1', fallbacks: [], detail: 'forward mode' }))).toBeNull()
    d.observe(ev({ type: 'http.request', method: 'GET', url: 'ws://x/', headers: [['Upgrade', 'websocket']] }))
    const up = d.observe(ev({ type: 'http.response', status: 200, statusText: 'OK', httpVersion: '1.1', headers: [['Via', '1.1 corp']], durationMs: 1 }))!
    expect(up.code).toBe('WT_UPGRADE_STRIPPED')
    expect(up.explanation).toContain('forward mode')
    expect(up.explanation).toContain('Via: 1.1 corp')
    const idle = d.observe(ev({ type: 'ws.close', code: 1006, reason: '', initiator: 'network', wasClean: false, meaning: '', sinceLastInMs: 60_100, sinceLastOutMs: 60_050 }))!
    expect(idle.code).toBe('WT_IDLE_CUT')
    expect(idle.title).toContain('60.0 s')
    expect(idle.suggestions[0]).toContain('30.0 s')
    expect(diagnoseIdleClose('c', { code: 1000, initiator: 'remote', wasClean: true, sinceLastInMs: 90_000 }, {})).toBeNull()
    expect(diagnoseUpgradeResponse('c', { status: 101, headers: [] }, { viaProxy: true })).toBeNull()
  })
  it('never titles "the proxy the proxy": a proxy is named when known, and only once', () => {
    for (const code of ['WT_PROXY_AUTH_REQUIRED', 'WT_PROXY_AUTH_REJECTED', 'WT_PROXY_AUTH_UNSUPPORTED', 'WT_PROXY_CONNECT_REFUSED', 'WT_PROXY_ORIGIN_UNREACHABLE', 'WT_PROXY_UNREACHABLE', 'WT_PROXY_CLOSED', 'WT_PROXY_BAD_RESPONSE', 'WT_SOCKS_FAILED', 'WT_SOCKS_AUTH']) {
      const bare = diagnoseError('c', { code, message: 'm', detail: {} })!
      expect(bare.title, code).not.toMatch(/the proxy the proxy| {2}/i)
      expect(diagnoseError('c', { code, message: 'm', detail: { proxy: 'http://p:3128' } })!.title, code).toContain('http://p:3128')
    }
    const t = diagnoseError('c', { code: 'WT_CONNECT_TIMEOUT', message: 'm', detail: { phase: 'proxy' } })!
    expect(t.title).toBe('The proxy did not answer in time')
    expect(diagnoseError('c', { code: 'WT_CONNECT_TIMEOUT', message: 'm', detail: { phase: 'proxy' } }, { route: 'socks5://s:1080', viaProxy: true })!.title).toBe('The proxy socks5://s:1080 did not answer in time')
  })
  it('reads the schemes offered in Proxy-Authenticate, one or several per header', () => {
    expect(offeredSchemes(['NTLM, Basic realm="a, b"'])).toEqual(['NTLM', 'Basic'])
    expect(offeredSchemes(['Digest realm="x", nonce="y", qop="auth,auth-int"', 'Basic realm="z"'])).toEqual(['Digest', 'Basic'])
    expect(offeredSchemes(['Negotiate'])).toEqual(['Negotiate'])
    expect(offeredSchemes(['NTLM TlRMTVNTUAACAAAA=='])).toEqual(['NTLM'])
    expect(offeredSchemes([])).toEqual([])
  })
  it('reads the proxy\'s error header generically and explains known values', () => {
    expect(proxyErrorHeader([['X-Cache', 'MISS from p'], ['X-Lab-Error', 'ECONNREFUSED'], ['X-Squid-Error', 'ERR_READ_TIMEOUT 0']])).toEqual({ name: 'X-Squid-Error', value: 'ERR_READ_TIMEOUT 0' })
    expect(proxyErrorHeader([['x-proxy-error', 'blocked']])).toEqual({ name: 'x-proxy-error', value: 'blocked' })
    expect(proxyErrorHeader([['X-Corp-Gateway-Error', 'upstream down']])).toEqual({ name: 'X-Corp-Gateway-Error', value: 'upstream down' })
    expect(proxyErrorHeader([['X-Cache', 'MISS'], ['X-Cache-Lookup', 'MISS'], ['X-Error', 'x'], ['Via', '1.1 p']])).toBeUndefined()
    expect(errorHeaderWords('ERR_READ_ERROR 104')).toBe('reading from the origin failed; errno 104: the connection was reset')
    expect(errorHeaderWords('ERR_CONNECT_FAIL 111')).toBe('the proxy could not open a TCP connection to the origin; errno 111: connection refused')
    expect(errorHeaderWords('ECONNREFUSED')).toBe('the origin refused the connection: nothing listens on that port')
    expect(errorHeaderWords('port-policy')).toBeUndefined()
    const d = diagnoseError('c', { code: 'WT_PROXY_ORIGIN_UNREACHABLE', message: '', detail: { proxy: 'http://lab:1', statusLine: 'HTTP/1.1 502 Bad Gateway', errorHeader: { name: 'X-Lab-Error', value: 'ECONNREFUSED' } } })!
    expect(d.explanation).toContain('It answered HTTP/1.1 502 Bad Gateway with X-Lab-Error: ECONNREFUSED (the origin refused the connection: nothing listens on that port).')
  })
  it('forward mode: the proxy\'s own 407 and 502/503/504, and answers that are the origin\'s', () => {
    const route = 'http://p:3128'
    const c407 = (h: string[]): { status: number; statusText: string; headers: Array<[string, string]> } => ({ status: 407, statusText: 'Proxy Authentication Required', headers: h.map((v) => ['Proxy-Authenticate', v] as [string, string]) })
    const req = diagnoseForwardedAnswer('c', c407(['Basic realm="x"', 'NTLM']), { route, sentBasic: false, hasCredentials: false })!
    expect(req.code).toBe('WT_PROXY_AUTH_REQUIRED')
    expect(req.explanation).toContain('It offers Basic, NTLM. In forward mode Wiretrace can send only Basic, with each request; over a CONNECT tunnel it can answer with NTLM.')
    expect(req.suggestions[1]).toContain('--proxy-mode connect')
    const rej = diagnoseForwardedAnswer('c', c407(['Basic realm="x"']), { route, sentBasic: true, hasCredentials: true })!
    expect([rej.code, rej.title]).toEqual(['WT_PROXY_AUTH_REJECTED', 'The proxy http://p:3128 rejected the credentials'])
    const ntlm = diagnoseForwardedAnswer('c', c407(['NTLM']), { route, sentBasic: true, hasCredentials: true })!
    expect([ntlm.code, ntlm.title]).toEqual(['WT_PROXY_AUTH_UNSUPPORTED', 'The proxy http://p:3128 wants NTLM, which forward mode cannot send'])
    const neg = diagnoseForwardedAnswer('c', c407(['Negotiate']), { route, sentBasic: true, hasCredentials: true })!
    expect(neg.explanation).toContain('Wiretrace cannot do any of the offered schemes in either mode (Negotiate/Kerberos).')
    const gw = (status: number, headers: Array<[string, string]>): ReturnType<typeof diagnoseForwardedAnswer> => diagnoseForwardedAnswer('c', { status, statusText: 'X', headers }, { route, sentBasic: false, hasCredentials: false })
    // The origin's own 5xx (no Via, no proxy error header) and other statuses are not the proxy's.
    expect(gw(502, [['Server', 'app']])).toBeNull()
    expect(gw(500, [['Via', '1.1 p'], ['X-Squid-Error', 'ERR_X']])).toBeNull()
    expect(gw(200, [['Via', '1.1 p']])).toBeNull()
    const viaOnly = gw(503, [['Via', '1.1 corp-proxy']])!
    expect(viaOnly.code).toBe('WT_PROXY_ORIGIN_UNREACHABLE')
    expect(viaOnly.explanation).toContain('most likely the proxy\'s own answer, though a gateway in front of the origin answering 503 through the proxy looks the same')
    const sure = gw(504, [['X-Squid-Error', 'ERR_READ_TIMEOUT 0']])!
    expect(sure.explanation).toContain('The proxy is reachable and took the request')
    expect(sure.suggestions.join(' ')).toContain('read timeout')
  })
  it('idle cut of SSE, long-poll, streams and HTTP/2: from the closing error\'s figures, once per silence', () => {
    const ev = (e: Record<string, unknown>): WiretraceEvent => ({ seq: 0, ts: 0, conn: 'c', ...e }) as unknown as WiretraceEvent
    const d = new Diagnoser('c')
    d.observe(ev({ type: 'conn.start', spec: { url: 'http://x/', transport: 'sse' } }))
    d.observe(ev({ type: 'proxy.rule', source: 'manual', rule: '', chosen: 'http://p:1', fallbacks: [], detail: 'CONNECT tunnel' }))
    const closed = { type: 'error', code: 'WT_CONNECTION_CLOSED', phase: 'open', message: 'the connection closed during the response body (other side closed)', fatal: false }
    expect(d.observe(ev({ ...closed }))).toBeNull()
    expect(d.observe(ev({ ...closed, sinceLastInMs: 800, sinceLastOutMs: 5000 }))).toBeNull()
    const cut = d.observe(ev({ ...closed, sinceLastInMs: 30_050, sinceLastOutMs: 31_200 }))!
    expect(cut.code).toBe('WT_IDLE_CUT')
    expect(cut.title).toBe('The connection was cut after about 30.1 s of silence')
    expect(cut.explanation).toBe('Nothing was received for 30.1 s and nothing sent for 31.2 s before the connection was closed (WT_CONNECTION_CLOSED: the connection closed during the response body (other side closed)). The proxy http://p:1 on the path probably closes idle connections after about 30.1 s.')
    expect(cut.suggestions[0]).toBe('Send something more often than the cut: a server comment line (":\\n") every 15.0 s or less.')
    // The same cut after a reconnect is the same finding; a different silence is a new one.
    expect(d.observe(ev({ ...closed, sinceLastInMs: 30_400, sinceLastOutMs: 31_000 }))).toBeNull()
    expect(d.observe(ev({ ...closed, code: 'WT_CONNECTION_RESET', sinceLastInMs: 60_000, sinceLastOutMs: 60_000 }))!.explanation).toContain('before the connection was reset (WT_CONNECTION_RESET')
  })
  it('an intercepting proxy\'s CA is trusted for the origin with --ca, not --proxy-ca', () => {
    const err = diagnoseError('c', { code: 'WT_TLS_UNTRUSTED', message: 'x', detail: { issuer: 'CN=Corp Inspection CA' } }, { viaProxy: true, route: 'http://p:1' })!
    expect(err.suggestions[0]).toContain('--ca FILE')
    const tls = { hop: 'origin', chain: [{ subject: 'CN=api', issuer: 'CN=Zscaler Root CA', validFrom: '', validTo: '', fingerprint256: 'a' }], alpn: 'http/1.1', alpnOffered: ['http/1.1'], authorized: true }
    const warn = diagnoseTls('c', tls, { viaProxy: true })[0]!
    expect(warn.suggestions[0]).toContain('--ca FILE')
    for (const d of [err, warn]) expect(d.suggestions.join(' ')).not.toContain('--proxy-ca')
  })
})
