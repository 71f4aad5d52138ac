// The proxy response-head parser, fed bytes in every chunking.
import { describe, expect, it } from 'vitest'
import { ResponseHeadParser, HeadError } from '../../shared/node/net/proxy/http-head.ts'

function feed(bytes: Buffer, cut: number[]): ReturnType<ResponseHeadParser['push']> {
  const p = new ResponseHeadParser(4096)
  let last = 0
  for (const c of [...cut, bytes.length]) {
    const r = p.push(bytes.subarray(last, c))
    last = c
    // Bytes after the head stay with the caller: append what was not pushed yet.
    if (r) return { head: r.head, rest: Buffer.concat([r.rest, bytes.subarray(c)]) }
  }
  return null
}

describe('ResponseHeadParser', () => {
  const head = Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\nProxy-Authenticate: NTLM\r\nContent-Length: 3\r\n\r\nabcTLS')
  it('parses at every split point and keeps the bytes after the head', () => {
    for (let i = 0; i <= head.length; i++) {
      const r = feed(head, i < head.length ? [i] : [])!
      expect(r.head.status).toBe(407)
      expect(r.head.reason).toBe('Proxy Authentication Required')
      expect(r.head.headers.filter(([k]) => k === 'Proxy-Authenticate').map(([, v]) => v)).toEqual(['Basic realm="x"', 'NTLM'])
      expect(r.rest.toString()).toBe('abcTLS')
    }
  })
  it('reads old proxies: HTTP/1.0, bare LF, no reason, folded headers', () => {
    const r = feed(Buffer.from('HTTP/1.0 200\nVia: 1.0 old\n  proxy\n\n'), [3, 17])!
    expect(r.head).toMatchObject({ httpVersion: '1.0', status: 200, reason: '', headers: [['Via', '1.0 old proxy']] })
    expect(feed(Buffer.from('HTTP/1 200 OK\r\n\r\n'), [])!.head.httpVersion).toBe('1')
  })
  it('rejects a non-HTTP answer early (a SOCKS reply, TLS) and a head too large', () => {
    expect(() => new ResponseHeadParser(100).push(Buffer.from([5, 0]))).toThrow(HeadError)
    expect(() => new ResponseHeadParser(100).push(Buffer.from('\x16\x03\x01'))).toThrow(/not HTTP/)
    const p = new ResponseHeadParser(100)
    expect(() => p.push(Buffer.from('HTTP/1.1 200 OK\r\n' + 'X: y\r\n'.repeat(40)))).toThrow(/larger than 100/)
  })
})
