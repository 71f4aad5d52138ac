// Proxy authentication against published vectors: MD4 (RFC 1320), NTLMv2 (MS-NLMP 4.2.4),
// Digest (RFC 7616), and challenge parsing as proxies send it.
import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { basicHeader, chooseScheme, digestHeader, md4, ntHash, ntlmIdentity, ntlmType1, ntlmType3, ntlmV2Hash, ntlmV2Responses, parseChallenges, parseNtlmType2 } from '../../shared/node/net/proxy/auth.ts'

describe('MD4 and NTLMv2', () => {
  it('matches RFC 1320', () => {
    expect(md4(Buffer.from('')).toString('hex')).toBe('31d6cfe0d16ae931b73c59d7e0c089c0')
    expect(md4(Buffer.from('abc')).toString('hex')).toBe('a448017aaf21d8525fc10ae87aa6729d')
    expect(md4(Buffer.from('message digest')).toString('hex')).toBe('d9130a8164549fe818874806e1c7014b')
    expect(md4(Buffer.from('1234567890'.repeat(8))).toString('hex')).toBe('e33b4ddc9c38f2199c3e7b164fcc0536')
  })
  it('matches MS-NLMP 4.2.4 (NTLMv2 hash, NTProofStr, LMv2)', () => {
    expect(ntHash('Password').toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852')
    expect(ntlmV2Hash('User', 'Domain', 'Password').toString('hex')).toBe('0c868a403bfd7a93a3001ef22ef02e3f')
    const targetInfo = Buffer.from('02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000', 'hex')
    const r = ntlmV2Responses({ challenge: Buffer.from('0123456789abcdef', 'hex'), targetInfo }, 'User', 'Domain', 'Password', Buffer.from('aaaaaaaaaaaaaaaa', 'hex'), Buffer.alloc(8))
    expect(r.ntProof.toString('hex')).toBe('68cd0ab851e51c96aabc927bebef6a1c')
    expect(r.lm.toString('hex')).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa')
  })
  it('builds type 1 and type 3 messages that parse back', () => {
    const t1 = ntlmType1()
    expect(t1.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0')
    expect(t1.readUInt32LE(8)).toBe(1)
    // A type 2 as a server sends it: unicode, target name "DOM", target info with a timestamp.
    const name = Buffer.from('DOM', 'utf16le')
    const ti = Buffer.concat([Buffer.from([7, 0, 8, 0]), Buffer.alloc(8, 1), Buffer.from([0, 0, 0, 0])])
    const t2 = Buffer.alloc(48 + name.length + ti.length)
    t2.write('NTLMSSP\0', 0, 'latin1')
    t2.writeUInt32LE(2, 8)
    t2.writeUInt16LE(name.length, 12); t2.writeUInt16LE(name.length, 14); t2.writeUInt32LE(48, 16)
    t2.writeUInt32LE(0x00828201, 20)
    Buffer.from('0123456789abcdef', 'hex').copy(t2, 24)
    t2.writeUInt16LE(ti.length, 40); t2.writeUInt16LE(ti.length, 42); t2.writeUInt32LE(48 + name.length, 44)
    name.copy(t2, 48); ti.copy(t2, 48 + name.length)
    const parsed = parseNtlmType2(t2)
    expect(parsed.targetName).toBe('DOM')
    expect(parsed.targetInfo.equals(ti)).toBe(true)
    const t3 = ntlmType3(parsed, 'bob', 'pw', 'DOM', 'WS')
    expect(t3.readUInt32LE(8)).toBe(3)
    const field = (i: number): Buffer => t3.subarray(t3.readUInt32LE(12 + i * 8 + 4), t3.readUInt32LE(12 + i * 8 + 4) + t3.readUInt16LE(12 + i * 8))
    expect(field(3).toString('utf16le')).toBe('bob')
    expect(field(2).toString('utf16le')).toBe('DOM')
    // The NT response carries the server's timestamp in its blob.
    expect(field(1).subarray(24, 32).equals(Buffer.alloc(8, 1))).toBe(true)
    expect(() => parseNtlmType2(Buffer.from('nope'))).toThrow(/type 2/)
  })
})

describe('NTLM user and domain', () => {
  // MS-NLMP 4.2.4: user "User", domain "Domain", password "Password", server challenge
  // 0123456789abcdef, client challenge aa*8, time 0, the target info below.
  const targetInfo = Buffer.from('02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000', 'hex')
  const t2 = { flags: 0xe28a8233, challenge: Buffer.from('0123456789abcdef', 'hex'), targetName: 'Domain', targetInfo }
  const fixed = { clientChallenge: Buffer.from('aaaaaaaaaaaaaaaa', 'hex'), timestamp: Buffer.alloc(8) }
  const field = (t3: Buffer, i: number): Buffer => t3.subarray(t3.readUInt32LE(12 + i * 8 + 4), t3.readUInt32LE(12 + i * 8 + 4) + t3.readUInt16LE(12 + i * 8))

  it('splits DOMAIN\\user and DOMAIN/user; keeps a UPN whole with an empty domain; an explicit domain is used when the name has none', () => {
    expect(ntlmIdentity('CORP\\alice')).toEqual({ user: 'alice', domain: 'CORP' })
    expect(ntlmIdentity('CORP/alice')).toEqual({ user: 'alice', domain: 'CORP' })
    expect(ntlmIdentity('alice@corp.example')).toEqual({ user: 'alice@corp.example', domain: '' })
    expect(ntlmIdentity('alice', 'CORP')).toEqual({ user: 'alice', domain: 'CORP' })
    expect(ntlmIdentity('CORP\\alice', 'OTHER')).toEqual({ user: 'alice', domain: 'CORP' })
    expect(ntlmIdentity('alice')).toEqual({ user: 'alice', domain: '' })
    // A leading or trailing separator is not a domain.
    expect(ntlmIdentity('\\alice')).toEqual({ user: '\\alice', domain: '' })
  })

  it('a type 3 for "Domain\\User" carries the MS-NLMP 4.2.4 NTProofStr and LMv2, with the domain and user fields split', () => {
    for (const name of ['Domain\\User', 'Domain/User']) {
      const t3 = ntlmType3(t2, name, 'Password', '', 'COMPUTER', fixed)
      expect(field(t3, 1).subarray(0, 16).toString('hex')).toBe('68cd0ab851e51c96aabc927bebef6a1c')
      expect(field(t3, 0).toString('hex')).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa')
      expect(field(t3, 2).toString('utf16le')).toBe('Domain')
      expect(field(t3, 3).toString('utf16le')).toBe('User')
      expect(field(t3, 4).toString('utf16le')).toBe('COMPUTER')
    }
    // The same identity given as user + domain gives the same answer.
    expect(field(ntlmType3(t2, 'User', 'Password', 'Domain', '', fixed), 1).subarray(0, 16).toString('hex')).toBe('68cd0ab851e51c96aabc927bebef6a1c')
  })

  it('a UPN goes whole in the user field with an empty domain (as Windows sends it)', () => {
    const t3 = ntlmType3(t2, 'User@Domain', 'Password', '', '', fixed)
    expect(field(t3, 2).length).toBe(0)
    expect(field(t3, 3).toString('utf16le')).toBe('User@Domain')
    const expected = ntlmV2Responses(t2, 'User@Domain', '', 'Password', fixed.clientChallenge, fixed.timestamp).ntProof
    expect(field(t3, 1).subarray(0, 16).equals(expected)).toBe(true)
    expect(expected.toString('hex')).not.toBe('68cd0ab851e51c96aabc927bebef6a1c')
  })
})

describe('challenges, Basic and Digest', () => {
  it('parses several challenges per header, quoted commas and token68', () => {
    const c = parseChallenges(['Negotiate, NTLM', 'Basic realm="a, b", charset="UTF-8"', 'Digest realm="r", nonce="n==", qop="auth,auth-int", algorithm=SHA-256', 'NTLM TlRMTVNTUAACAAAA'])
    expect(c.map((x) => x.name)).toEqual(['negotiate', 'ntlm', 'basic', 'digest', 'ntlm'])
    expect(c[2]!.params).toEqual({ realm: 'a, b', charset: 'UTF-8' })
    expect(c[3]!.params.nonce).toBe('n==')
    expect(c[4]!.token).toBe('TlRMTVNTUAACAAAA')
    expect(chooseScheme(c)).toBe('ntlm')
    expect(chooseScheme(c, ['basic'])).toBe('basic')
    expect(chooseScheme(parseChallenges(['Negotiate']))).toBeNull()
  })
  it('Basic encodes UTF-8', () => {
    expect(basicHeader('Aladdin', 'open sesame')).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')
  })
  it('Digest computes the RFC 7616 response (MD5 and SHA-256)', () => {
    const [ch] = parseChallenges(['Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'])
    const h = digestHeader(ch!, 'Mufasa', 'Circle of Life', 'GET', '/dir/index.html', 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ')
    // RFC 7616 3.9.1 uses nc=00000001; recompute with the nc we sent.
    const nc = /nc=([0-9a-f]{8})/.exec(h)![1]!
    const H = (s: string): string => createHash('md5').update(s).digest('hex')
    const expected = H(`${H('Mufasa:http-auth@example.org:Circle of Life')}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:${nc}:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:${H('GET:/dir/index.html')}`)
    expect(h).toContain(`response="${expected}"`)
    expect(h).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    if (nc === '00000001') expect(expected).toBe('8ca523f5e9506fed4657c9700eebdbec')
    const [sha] = parseChallenges(['Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256'])
    expect(digestHeader(sha!, 'u', 'p', 'CONNECT', 'h:443', 'c')).toMatch(/response="[0-9a-f]{64}"/)
  })
})
