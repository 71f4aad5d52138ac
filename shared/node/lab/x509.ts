/**
 * Minimal X.509 v3 certificate builder (DER by hand, ECDSA P-256 with SHA-256 via node:crypto),
 * so the lab can make its interception CA and per-host leaves without the openssl CLI.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import net from 'node:net'

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  while (n > 0) {
    bytes.unshift(n & 0xff)
    n = Math.floor(n / 256)
  }
  return Buffer.from([0x80 | bytes.length, ...bytes])
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body])
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))
const ctx = (n: number, body: Buffer, constructed = true): Buffer => tlv((constructed ? 0xa0 : 0x80) | n, body)
/**
 * A non-negative DER INTEGER from big-endian magnitude bytes. DER wants the shortest form:
 * redundant leading zeros are stripped (OpenSSL rejects them as "illegal padding"), and one
 * zero is put back only when the top bit would otherwise read as a sign.
 */
export function derInteger(magnitude: Buffer): Buffer {
  let i = 0
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++
  const b = magnitude.subarray(i)
  return tlv(0x02, b.length === 0 ? Buffer.from([0]) : b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b)
}
const int = derInteger
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]))
const octets = (b: Buffer): Buffer => tlv(0x04, b)
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]))
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'))

function oid(text: string): Buffer {
  const parts = text.split('.').map(Number)
  const out: number[] = [40 * parts[0]! + parts[1]!]
  for (const p of parts.slice(2)) {
    const stack: number[] = [p & 0x7f]
    let v = Math.floor(p / 128)
    while (v > 0) {
      stack.unshift((v & 0x7f) | 0x80)
      v = Math.floor(v / 128)
    }
    out.push(...stack)
  }
  return tlv(0x06, Buffer.from(out))
}

function time(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'
  // UTCTime for years before 2050, GeneralizedTime after (RFC 5280).
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2), 'latin1')) : tlv(0x18, Buffer.from(s, 'latin1'))
}

function name(cn: string, o?: string): Buffer {
  const rdns = [set(seq(oid('2.5.4.3'), utf8(cn)))]
  if (o) rdns.push(set(seq(oid('2.5.4.10'), utf8(o))))
  return seq(...rdns)
}

const ext = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value))

function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n')
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`
}

export interface KeyAndCert {
  cert: string
  key: string
  keyObject: KeyObject
  spkiDer: Buffer
  subjectCn: string
}

function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number))
  const [h = '', t = ''] = ip.split('::')
  const hp = h ? h.split(':') : []
  const tp = ip.includes('::') ? (t ? t.split(':') : []) : []
  const all = ip.includes('::') ? [...hp, ...Array(8 - hp.length - tp.length).fill('0'), ...tp] : hp
  const b = Buffer.alloc(16)
  all.forEach((p, i) => b.writeUInt16BE(parseInt(p || '0', 16), i * 2))
  return b
}

/** Makes a certificate. Without `issuer` it is a self-signed CA. */
export function makeCert(o: { cn: string; org?: string; names?: string[]; ca?: boolean; days?: number; issuer?: KeyAndCert & { org?: string }; serial?: Buffer }): KeyAndCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const signer = o.issuer?.keyObject ?? privateKey
  const issuerSpki = o.issuer?.spkiDer ?? spki
  const ski = createHash('sha1').update(spki).digest()
  const aki = createHash('sha1').update(issuerSpki).digest()
  const now = Date.now()
  const notBefore = new Date(now - 60 * 60 * 1000)
  const notAfter = new Date(now + (o.days ?? 30) * 24 * 3600 * 1000)
  const algo = seq(oid('1.2.840.10045.4.3.2'))
  const exts: Buffer[] = [
    ext('2.5.29.19', true, o.ca ? seq(bool(true)) : seq()),
    ext('2.5.29.15', true, o.ca ? bits(Buffer.from([0x06]), 1) : bits(Buffer.from([0x80]), 7)),
    ext('2.5.29.14', false, octets(ski)),
    ext('2.5.29.35', false, seq(ctx(0, aki, false))),
  ]
  if (!o.ca) {
    exts.push(ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))))
    const sans = (o.names ?? [o.cn]).map((n) => (net.isIP(n) ? ctx(7, ipBytes(n), false) : ctx(2, Buffer.from(n, 'latin1'), false)))
    exts.push(ext('2.5.29.17', false, seq(...sans)))
  }
  // 16 random bytes read as a positive number; derInteger keeps the encoding minimal whatever was drawn.
  const serial = o.serial ?? randomBytes(16)
  const issuerName = o.issuer ? name(o.issuer.subjectCn, o.issuer.org) : name(o.cn, o.org)
  const tbs = seq(ctx(0, int(Buffer.from([2]))), int(serial), algo, issuerName, seq(time(notBefore), time(notAfter)), name(o.cn, o.org), spki, ctx(3, seq(...exts)))
  const sig = sign('sha256', tbs, signer)
  const der = seq(tbs, algo, bits(sig))
  return {
    cert: toPem(der, 'CERTIFICATE'),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    keyObject: privateKey,
    spkiDer: spki,
    subjectCn: o.cn,
  }
}

/** Loads a CA made earlier (PEM cert + key) for issuing leaves. */
export function loadCa(certPem: string, keyPem: string, cn: string): KeyAndCert {
  const keyObject = createPublicKey(certPem)
  const spkiDer = keyObject.export({ type: 'spki', format: 'der' })
  return { cert: certPem, key: keyPem, keyObject: createPrivateKey(keyPem), spkiDer, subjectCn: cn }
}
