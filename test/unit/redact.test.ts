// Secrets never reach a recording header unless the user asks.
import { describe, expect, it } from 'vitest'
import { redactSpec, redactProxyValue, redactUrl, redactHeaders } from '../../shared/common/redact.ts'

describe('redactSpec', () => {
  it('removes passwords from env proxy variables, with or without a scheme', () => {
    const spec = redactSpec({ url: 'ws://h/', transport: 'ws', network: { mode: 'env', env: { ws_proxy: 'http://u:PASS@p:3128', HTTPS_PROXY: 'u2:PASS2@p2:8080', NO_PROXY: 'localhost' } } })
    const text = JSON.stringify(spec)
    expect(text).not.toContain('PASS')
    expect(spec.network).toMatchObject({ env: { NO_PROXY: 'localhost' } })
    expect((spec.network as { env: Record<string, string> }).env.ws_proxy).toContain('p:3128')
    expect(redactProxyValue('p:3128')).toBe('p:3128')
  })
  it('redacts URL credentials, token parameters, auth headers, keys and proxy passwords', () => {
    const spec = redactSpec({
      url: 'wss://user:pw@h/x?access_token=SECRET1&room=1',
      transport: 'ws',
      headers: [['Authorization', 'Bearer SECRET2'], ['X-Other', 'keep']],
      tls: { key: 'SECRET3', passphrase: 'SECRET4' },
      network: { mode: 'manual', proxy: { kind: 'http', host: 'p', port: 1, auth: { username: 'u', password: 'SECRET5' } } },
    })
    const text = JSON.stringify(spec)
    for (const s of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4', 'SECRET5', ':pw@']) expect(text).not.toContain(s)
    expect(text).toContain('room=1')
    expect(spec.headers).toContainEqual(['Authorization', 'Bearer [redacted]'])
    expect(spec.headers).toContainEqual(['X-Other', 'keep'])
  })
  it('shows the profile\'s origin CAs as [pem] (as proxyTls), keeping their file names and the switches', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    for (const network of [
      { mode: 'direct' as const, originTls: { ca: [pem, pem], caFiles: ['/etc/ssl/corp.pem'], osCaStore: true, insecure: true } },
      { mode: 'manual' as const, proxy: { kind: 'http' as const, host: 'p', port: 3128 }, originTls: { ca: [pem, pem], caFiles: ['/etc/ssl/corp.pem'], osCaStore: true, insecure: true } },
    ]) {
      const spec = { url: 'wss://h/', transport: 'ws' as const, tls: { ca: [pem] }, network }
      const out = redactSpec(spec)
      expect(out.network!.originTls).toEqual({ ca: ['[pem]', '[pem]'], caFiles: ['/etc/ssl/corp.pem'], osCaStore: true, insecure: true })
      expect(out.tls!.ca).toEqual(['[pem]'])
      expect(JSON.stringify(out)).not.toContain('MIIB')
      // The input is not changed.
      expect(network.originTls.ca[0]).toBe(pem)
    }
  })

  it('keeps everything when the user asks', () => {
    const spec = { url: 'ws://u:pw@h/', transport: 'ws' as const, keepSecrets: true }
    expect(redactSpec(spec)).toBe(spec)
    expect(redactUrl('not a url')).toBe('not a url')
    const h: Array<[string, string]> = [['A', 'b']]
    expect(redactHeaders(h)).toBe(h)
  })
})
