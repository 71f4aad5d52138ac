// Proxy URLs, NO_PROXY as curl matches it, and which environment variable applies.
import { describe, expect, it } from 'vitest'
import { envVarsFor, noProxyMatch, parseProxyUrl, pickEnvProxy, proxyLabel } from '../../shared/node/net/proxy/rules.ts'

describe('proxy rules', () => {
  it('parses proxy URLs with credentials and default ports, and never labels the credentials', () => {
    const p = parseProxyUrl('socks5h://us%40er:p%3Ass@[::1]')
    expect(p).toEqual({ kind: 'socks5h', host: '::1', port: 1080, auth: { username: 'us@er', password: 'p:ss' } })
    expect(proxyLabel(p)).toBe('socks5h://[::1]:1080')
    expect(parseProxyUrl('proxy.corp:3128')).toEqual({ kind: 'http', host: 'proxy.corp', port: 3128 })
    expect(parseProxyUrl('https://p').port).toBe(443)
    expect(() => parseProxyUrl('ftp://p:21')).toThrow(/unsupported scheme ftp/)
    expect(() => parseProxyUrl('http://u:secret@')).toThrow(/cannot be parsed|no host/)
    try {
      parseProxyUrl('http://u:secret@ bad')
    } catch (e) {
      expect((e as Error).message).not.toContain('secret')
    }
  })
  it('matches NO_PROXY like curl: suffixes, *, IPs, CIDR, ports', () => {
    expect(noProxyMatch('example.com', 'api.example.com', 443)).toBe('example.com')
    expect(noProxyMatch('.example.com', 'example.com', 443)).toBe('.example.com')
    expect(noProxyMatch('example.com', 'badexample.com', 443)).toBeNull()
    expect(noProxyMatch('*', 'anything', 1)).toBe('*')
    expect(noProxyMatch('10.0.0.0/8, 127.0.0.1', '10.2.3.4', 80)).toBe('10.0.0.0/8')
    expect(noProxyMatch('10.0.0.0/8', '11.0.0.1', 80)).toBeNull()
    expect(noProxyMatch('localhost:8080', 'localhost', 8080)).toBe('localhost:8080')
    expect(noProxyMatch('localhost:8080', 'localhost', 9090)).toBeNull()
    expect(noProxyMatch('::1', '[::1]', 80)).toBe('::1')
    expect(noProxyMatch('', 'x', 1)).toBeNull()
  })
  it('picks the variable curl would, ignoring upper-case HTTP_PROXY', () => {
    expect(envVarsFor('wss:')[0]).toBe('wss_proxy')
    expect(pickEnvProxy({ HTTP_PROXY: 'http://evil:1' }, new URL('http://x/'))).toBeNull()
    expect(pickEnvProxy({ https_proxy: 'http://a:1', ALL_PROXY: 'socks5://b:2' }, new URL('wss://x/'))).toEqual({ name: 'https_proxy', value: 'http://a:1' })
    expect(pickEnvProxy({ ALL_PROXY: 'socks5://b:2' }, new URL('ws://x/'))).toEqual({ name: 'ALL_PROXY', value: 'socks5://b:2' })
  })
})
