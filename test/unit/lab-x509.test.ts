import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { derInteger, makeCert } from '../../shared/node/lab/x509.ts'

describe('lab X.509 builder', () => {
  it('encodes INTEGERs minimally (DER): no redundant leading zero, a zero only before a high bit', () => {
    expect(derInteger(Buffer.from([0x00, 0x10, 0x20])).toString('hex')).toBe('02021020')
    expect(derInteger(Buffer.from([0x00, 0x00, 0x90])).toString('hex')).toBe('02020090')
    expect(derInteger(Buffer.from([0x90])).toString('hex')).toBe('02020090')
    expect(derInteger(Buffer.from([0x00])).toString('hex')).toBe('020100')
    expect(derInteger(Buffer.from([0x02])).toString('hex')).toBe('020102')
  })

  it('every certificate parses, whatever random serial it drew (a 1-in-256 serial used to be rejected as "illegal padding")', () => {
    // The serial that broke CI: first byte 0x00 after masking, second byte below 0x80.
    const ca = makeCert({ cn: 'Padding CA', ca: true, serial: Buffer.from('00107f0102030405060708090a0b0c0d', 'hex') })
    expect(() => new X509Certificate(ca.cert)).not.toThrow()
    const leaf = makeCert({ cn: 'localhost', names: ['localhost', '127.0.0.1'], issuer: ca, serial: Buffer.alloc(16) })
    const x = new X509Certificate(leaf.cert)
    expect(x.checkIssued(new X509Certificate(ca.cert))).toBe(true)
    expect(x.verify(new X509Certificate(ca.cert).publicKey)).toBe(true)
    for (let i = 0; i < 300; i++) expect(() => new X509Certificate(makeCert({ cn: `c${i}`, ca: true }).cert)).not.toThrow()
  })
})
