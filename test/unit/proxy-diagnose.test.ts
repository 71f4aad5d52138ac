// Diagnoses are pure: events and errors in, plain-words drafts out.
import { describe, expect, it } from 'vitest'
import { DIAGNOSIS_CODES, Diagnoser, diagnoseError, diagnoseIdleClose, diagnoseTls, diagnoseUpgradeResponse } from '../../shared/common/diagnose/index.ts'
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
})
