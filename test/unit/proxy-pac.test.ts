// PAC results parsed as browsers read them, and the sandbox that runs untrusted PAC files.
import { describe, expect, it } from 'vitest'
import { parsePacResult, parseHostPort, routeText, MAX_PAC_ROUTES } from '../../shared/common/pac.ts'
import { evaluatePac } from '../../shared/node/net/pac/index.ts'

describe('parsePacResult', () => {
  it('reads the usual forms in order, with default ports', () => {
    const r = parsePacResult('PROXY a.corp:8080; HTTPS secure.corp; SOCKS5 s:1081;SOCKS old; SOCKS4A s4a:9; DIRECT')
    expect(r.problems).toEqual([])
    expect(r.routes.map(routeText)).toEqual(['http://a.corp:8080', 'https://secure.corp:443', 'socks5h://s:1081', 'socks4://old:1080', 'socks4a://s4a:9', 'DIRECT'])
  })
  it('treats null, undefined and "" as DIRECT, and is case-insensitive', () => {
    for (const v of [null, undefined, '', '  ;  ']) expect(parsePacResult(v).routes).toEqual([{ kind: 'direct' }])
    expect(parsePacResult('proxy p:1; direct').routes.map(routeText)).toEqual(['http://p:1', 'DIRECT'])
  })
  it('reports unusable entries instead of dropping them silently', () => {
    const r = parsePacResult('QUIC q:1; PROXY; PROXY bad host:1; PROXY h:99999; PROXY [::1]:3128')
    expect(r.routes.map(routeText)).toEqual(['http://[::1]:3128'])
    expect(r.problems).toHaveLength(4)
    expect(r.problems[0]).toContain('unknown type QUIC')
    expect(r.problems[1]).toContain('needs host:port')
  })
  it('rejects non-strings and bounds the number of entries', () => {
    expect(parsePacResult(42).routes).toEqual([])
    expect(parsePacResult(42).problems[0]).toContain('number')
    const many = Array.from({ length: 100 }, (_, i) => `PROXY p${i}:1`).join(';')
    const r = parsePacResult(many)
    expect(r.routes).toHaveLength(MAX_PAC_ROUTES)
    expect(r.problems.join()).toContain('ignored')
  })
  it('parses host:port forms', () => {
    expect(parseHostPort('[fe80::1]:8080', 80)).toEqual({ host: 'fe80::1', port: 8080 })
    expect(parseHostPort('fe80::1', 80)).toEqual({ host: 'fe80::1', port: 80 })
    expect(parseHostPort('h', 3128)).toEqual({ host: 'h', port: 3128 })
    expect(parseHostPort('h:0', 1)).toBeNull()
    expect(parseHostPort('a/b:1', 1)).toBeNull()
  })
})

describe('the PAC sandbox', () => {
  const url = new URL('wss://app.example.test:8443/socket?token=abc')
  it('runs FindProxyForURL with the standard helpers, and strips path and query for secure URLs', async () => {
    const r = await evaluatePac(
      `function FindProxyForURL(url, host) {
        if (url !== "wss://app.example.test:8443/") return "PROXY wrong:1";
        if (dnsDomainIs(host, ".example.test") && shExpMatch(host, "app.*") && !isPlainHostName(host) && dnsDomainLevels(host) === 2
            && isInNet("127.0.0.1", "127.0.0.0", "255.0.0.0") && localHostOrDomainIs("app", "app.example.test") && typeof myIpAddress() === "string")
          return "PROXY ok:3128; DIRECT";
        return "DIRECT";
      }`,
      url,
    )
    expect(r.raw).toBe('PROXY ok:3128; DIRECT')
    expect(r.routes.map(routeText)).toEqual(['http://ok:3128', 'DIRECT'])
  })
  it('answers DNS helpers by re-running the script with resolved names', async () => {
    const r = await evaluatePac('function FindProxyForURL(u, h) { return isResolvable("localhost") && dnsResolve("localhost") === "127.0.0.1" ? "PROXY yes:1" : "PROXY no:1" }', url)
    expect(r.raw).toBe('PROXY yes:1')
  })
  it('kills an infinite loop within the time limit', async () => {
    const t0 = Date.now()
    await expect(evaluatePac('function FindProxyForURL() { while (true) {} }', url, { timeoutMs: 500 })).rejects.toMatchObject({ code: 'WT_PAC_TIMEOUT' })
    expect(Date.now() - t0).toBeLessThan(3000)
  })
  it('stops a memory bomb with a PAC error, not a crash', async () => {
    await expect(evaluatePac('function FindProxyForURL() { var a = []; for (;;) a.push(new Array(1e6).fill(1)) }', url, { timeoutMs: 5000, maxHeapMb: 32 })).rejects.toMatchObject({ code: 'WT_PAC_ERROR', detail: { reason: 'memory' } })
  })
  it('gives the script no way out: no eval, no Function, no process', async () => {
    await expect(evaluatePac('function FindProxyForURL() { return eval("1") }', url)).rejects.toMatchObject({ code: 'WT_PAC_ERROR' })
    await expect(evaluatePac('function FindProxyForURL() { return shExpMatch.constructor("return process")() }', url)).rejects.toMatchObject({ code: 'WT_PAC_ERROR' })
    await expect(evaluatePac('function FindProxyForURL() { return typeof process + typeof require + typeof globalThis.fetch }', url)).rejects.toThrow(/"undefinedundefinedundefined"/)
  })
  it('names the failure: throw, no function, bad result', async () => {
    await expect(evaluatePac('function FindProxyForURL() { throw new TypeError("nope") }', url)).rejects.toThrow(/TypeError: nope/)
    await expect(evaluatePac('var x = 1', url)).rejects.toThrow(/no FindProxyForURL/)
    await expect(evaluatePac('function FindProxyForURL() { return {} }', url)).rejects.toThrow(/returned a object/)
    await expect(evaluatePac('function FindProxyForURL() { return "BOGUS x" }', url)).rejects.toThrow(/unknown type BOGUS/)
  })
})
