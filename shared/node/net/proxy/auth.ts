/**
 * Proxy authentication: Proxy-Authenticate challenge parsing, Basic, Digest (RFC 7616, MD5 and
 * SHA-256, qop=auth) and NTLMv2 (MS-NLMP type 1/2/3 messages; MD4 is written here because
 * OpenSSL 3 ships it only in the legacy provider). Pure functions over bytes and strings;
 * credentials are never logged by anything here.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'

export interface Challenge {
  scheme: string
  /** Lower-cased scheme name. */
  name: string
  params: Record<string, string>
  /** Base64 token after the scheme (NTLM type 2, Negotiate). */
  token?: string
  raw: string
}

/** Splits at top-level commas, keeping quoted strings intact. */
function splitItems(value: string): string[] {
  const items: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!
    if (quoted) {
      cur += ch
      if (ch === '\\' && i + 1 < value.length) cur += value[++i]
      else if (ch === '"') quoted = false
    } else if (ch === '"') {
      quoted = true
      cur += ch
    } else if (ch === ',') {
      items.push(cur.trim())
      cur = ''
    } else cur += ch
  }
  items.push(cur.trim())
  return items.filter(Boolean)
}

function unquote(v: string): string {
  const t = v.trim()
  if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) return t.slice(1, -1).replace(/\\(.)/g, '$1')
  return t
}

const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/
const PARAM = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(.*)$/s

/** Parses every challenge in the Proxy-Authenticate values (several per header are allowed). */
export function parseChallenges(values: string[]): Challenge[] {
  const out: Challenge[] = []
  for (const value of values) {
    let current: Challenge | null = null
    for (const item of splitItems(value)) {
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+(.*))?$/s.exec(item)
      const startsChallenge = m && !/^[^\s=]+\s*=/.test(item)
      if (startsChallenge && m) {
        current = { scheme: m[1]!, name: m[1]!.toLowerCase(), params: {}, raw: value }
        out.push(current)
        const rest = (m[2] ?? '').trim()
        if (!rest) continue
        if (TOKEN68.test(rest) && !PARAM.test(rest.replace(/=+$/, ''))) {
          current.token = rest
          continue
        }
        const pm = PARAM.exec(rest)
        if (pm) current.params[pm[1]!.toLowerCase()] = unquote(pm[2]!)
        else current.token = rest
        continue
      }
      const pm = PARAM.exec(item)
      if (pm && current) current.params[pm[1]!.toLowerCase()] = unquote(pm[2]!)
    }
  }
  return out
}

export type AuthScheme = 'basic' | 'digest' | 'ntlm'
export const SUPPORTED_SCHEMES: readonly AuthScheme[] = ['ntlm', 'digest', 'basic']

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`
}

let digestNc = 0

export function digestHeader(
  ch: Challenge,
  username: string,
  password: string,
  method: string,
  uri: string,
  cnonce = randomBytes(8).toString('hex'),
): string {
  const p = ch.params
  const algo = (p.algorithm ?? 'MD5').toUpperCase()
  const hashName = algo.startsWith('SHA-256') ? 'sha256' : 'md5'
  const H = (x: string): string => createHash(hashName).update(x, 'utf8').digest('hex')
  const realm = p.realm ?? ''
  const nonce = p.nonce ?? ''
  let ha1 = H(`${username}:${realm}:${password}`)
  if (algo.endsWith('-SESS')) ha1 = H(`${ha1}:${nonce}:${cnonce}`)
  const ha2 = H(`${method}:${uri}`)
  const qops = (p.qop ?? '').split(',').map((q) => q.trim())
  const nc = (++digestNc % 0xffffffff).toString(16).padStart(8, '0')
  const q = (v: string): string => `"${v.replace(/["\\]/g, '\\$&')}"`
  const parts = [`username=${q(username)}`, `realm=${q(realm)}`, `nonce=${q(nonce)}`, `uri=${q(uri)}`]
  if (qops.includes('auth')) {
    const response = H(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)
    parts.push(`qop=auth`, `nc=${nc}`, `cnonce=${q(cnonce)}`, `response=${q(response)}`)
  } else {
    parts.push(`response=${q(H(`${ha1}:${nonce}:${ha2}`))}`)
  }
  if (p.algorithm) parts.push(`algorithm=${p.algorithm}`)
  if (p.opaque !== undefined) parts.push(`opaque=${q(p.opaque)}`)
  return `Digest ${parts.join(', ')}`
}

// ---------------------------------------------------------------- MD4 (RFC 1320)

export function md4(input: Buffer): Buffer {
  const len = input.length
  const padLen = ((len + 8) >> 6) * 64 + 64
  const msg = Buffer.alloc(padLen)
  input.copy(msg)
  msg[len] = 0x80
  const bits = len * 8
  msg.writeUInt32LE(bits >>> 0, padLen - 8)
  msg.writeUInt32LE(Math.floor(bits / 0x100000000) >>> 0, padLen - 4)
  let a = 0x67452301
  let b = 0xefcdab89
  let c = 0x98badcfe
  let d = 0x10325476
  const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n))
  const X = new Array<number>(16)
  for (let off = 0; off < padLen; off += 64) {
    for (let i = 0; i < 16; i++) X[i] = msg.readUInt32LE(off + i * 4)
    const aa = a, bb = b, cc = c, dd = d
    const F = (x: number, y: number, z: number): number => (x & y) | (~x & z)
    const G = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z)
    const Hh = (x: number, y: number, z: number): number => x ^ y ^ z
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + F(b, c, d) + X[i]!) | 0, 3)
      d = rotl((d + F(a, b, c) + X[i + 1]!) | 0, 7)
      c = rotl((c + F(d, a, b) + X[i + 2]!) | 0, 11)
      b = rotl((b + F(c, d, a) + X[i + 3]!) | 0, 19)
    }
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + G(b, c, d) + X[i]! + 0x5a827999) | 0, 3)
      d = rotl((d + G(a, b, c) + X[i + 4]! + 0x5a827999) | 0, 5)
      c = rotl((c + G(d, a, b) + X[i + 8]! + 0x5a827999) | 0, 9)
      b = rotl((b + G(c, d, a) + X[i + 12]! + 0x5a827999) | 0, 13)
    }
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + Hh(b, c, d) + X[i]! + 0x6ed9eba1) | 0, 3)
      d = rotl((d + Hh(a, b, c) + X[i + 8]! + 0x6ed9eba1) | 0, 9)
      c = rotl((c + Hh(d, a, b) + X[i + 4]! + 0x6ed9eba1) | 0, 11)
      b = rotl((b + Hh(c, d, a) + X[i + 12]! + 0x6ed9eba1) | 0, 15)
    }
    a = (a + aa) | 0
    b = (b + bb) | 0
    c = (c + cc) | 0
    d = (d + dd) | 0
  }
  const out = Buffer.alloc(16)
  out.writeInt32LE(a, 0)
  out.writeInt32LE(b, 4)
  out.writeInt32LE(c, 8)
  out.writeInt32LE(d, 12)
  return out
}

// ---------------------------------------------------------------- NTLM (MS-NLMP)

const SIG = Buffer.from('NTLMSSP\0', 'latin1')
export const NTLM_FLAGS = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  N56: 0x80000000,
} as const

export function ntlmType1(): Buffer {
  const f = NTLM_FLAGS
  const flags = f.UNICODE | f.OEM | f.REQUEST_TARGET | f.NTLM | f.ALWAYS_SIGN | f.EXTENDED_SESSIONSECURITY | f.N128 | f.N56
  const b = Buffer.alloc(32)
  SIG.copy(b, 0)
  b.writeUInt32LE(1, 8)
  b.writeUInt32LE(flags >>> 0, 12)
  // Empty domain and workstation security buffers, offset past the header.
  b.writeUInt32LE(32, 20)
  b.writeUInt32LE(32, 28)
  return b
}

export interface NtlmType2 {
  flags: number
  challenge: Buffer
  targetName: string
  targetInfo: Buffer
}

export function parseNtlmType2(buf: Buffer): NtlmType2 {
  if (buf.length < 32 || !buf.subarray(0, 8).equals(SIG) || buf.readUInt32LE(8) !== 2) {
    throw new Error('the proxy sent an NTLM message that is not a type 2 challenge')
  }
  const flags = buf.readUInt32LE(20)
  const challenge = Buffer.from(buf.subarray(24, 32))
  const sec = (off: number): Buffer => {
    if (buf.length < off + 8) return Buffer.alloc(0)
    const len = buf.readUInt16LE(off)
    const at = buf.readUInt32LE(off + 4)
    // Some servers (squid's ntlm_fake_auth) send garbage offsets for fields they leave empty.
    if (len === 0 || at + len > buf.length || at < 32) return Buffer.alloc(0)
    return Buffer.from(buf.subarray(at, at + len))
  }
  const tn = sec(12)
  const targetName = flags & NTLM_FLAGS.UNICODE ? tn.toString('utf16le') : tn.toString('latin1')
  const targetInfo = buf.length >= 48 ? sec(40) : Buffer.alloc(0)
  return { flags, challenge, targetName, targetInfo }
}

export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'))
}

export function ntlmV2Hash(username: string, domain: string, password: string): Buffer {
  return createHmac('md5', ntHash(password)).update(Buffer.from(username.toUpperCase() + domain, 'utf16le')).digest()
}

function avTimestamp(targetInfo: Buffer): Buffer | null {
  let i = 0
  while (i + 4 <= targetInfo.length) {
    const id = targetInfo.readUInt16LE(i)
    const len = targetInfo.readUInt16LE(i + 2)
    if (id === 0) break
    if (id === 7 && len === 8) return Buffer.from(targetInfo.subarray(i + 4, i + 12))
    i += 4 + len
  }
  return null
}

function fileTimeNow(): Buffer {
  const t = (BigInt(Date.now()) + 11644473600000n) * 10000n
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(t)
  return b
}

/** NTLMv2 responses for a type 2 challenge. `clientChallenge` and `timestamp` are for tests. */
export function ntlmV2Responses(
  t2: Pick<NtlmType2, 'challenge' | 'targetInfo'>,
  username: string,
  domain: string,
  password: string,
  clientChallenge: Buffer = randomBytes(8),
  timestamp?: Buffer,
): { nt: Buffer; lm: Buffer; ntProof: Buffer } {
  const v2 = ntlmV2Hash(username, domain, password)
  const ts = timestamp ?? avTimestamp(t2.targetInfo) ?? fileTimeNow()
  const blob = Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), ts, clientChallenge, Buffer.alloc(4), t2.targetInfo, Buffer.alloc(4)])
  const ntProof = createHmac('md5', v2).update(Buffer.concat([t2.challenge, blob])).digest()
  const lm = Buffer.concat([createHmac('md5', v2).update(Buffer.concat([t2.challenge, clientChallenge])).digest(), clientChallenge])
  return { nt: Buffer.concat([ntProof, blob]), lm, ntProof }
}

/**
 * The NTLM user and domain from a user name as people type it: "DOMAIN\user" (or "DOMAIN/user":
 * neither character may appear in a Windows account name) gives both; "user@domain" is a UPN,
 * sent whole with an empty domain as Windows does; otherwise `domain` (default empty) applies.
 * A domain in the name wins over `domain`. Basic and Digest send the name as typed.
 */
export function ntlmIdentity(username: string, domain = ''): { user: string; domain: string } {
  const m = /^([^\\/]+)[\\/](.+)$/.exec(username)
  if (m) return { user: m[2]!, domain: m[1]! }
  return { user: username, domain }
}

/**
 * An NTLM type 3 (AUTHENTICATE) message answering `t2`. `username` may carry the domain (see
 * ntlmIdentity). `fixed` pins the client challenge and timestamp, for known-answer tests.
 */
export function ntlmType3(
  t2: NtlmType2,
  username: string,
  password: string,
  domain = '',
  workstation = '',
  fixed?: { clientChallenge: Buffer; timestamp?: Buffer },
): Buffer {
  const unicode = (t2.flags & NTLM_FLAGS.UNICODE) !== 0
  const enc = (s: string): Buffer => Buffer.from(s, unicode ? 'utf16le' : 'latin1')
  const id = ntlmIdentity(username, domain)
  const { nt, lm } = ntlmV2Responses(t2, id.user, id.domain, password, fixed?.clientChallenge, fixed?.timestamp)
  const dom = enc(id.domain)
  const user = enc(id.user)
  const ws = enc(workstation)
  const f = NTLM_FLAGS
  const flags = ((unicode ? f.UNICODE : f.OEM) | f.NTLM | f.ALWAYS_SIGN | (t2.flags & (f.EXTENDED_SESSIONSECURITY | f.TARGET_INFO | f.N128 | f.N56))) >>> 0
  const header = 64
  const fields = [lm, nt, dom, user, ws, Buffer.alloc(0)]
  const out = Buffer.alloc(header + fields.reduce((n, b) => n + b.length, 0))
  SIG.copy(out, 0)
  out.writeUInt32LE(3, 8)
  let at = header
  // Order of security buffers in the header: LM, NT, domain, user, workstation, session key.
  fields.forEach((b, i) => {
    const off = 12 + i * 8
    out.writeUInt16LE(b.length, off)
    out.writeUInt16LE(b.length, off + 2)
    out.writeUInt32LE(at, off + 4)
    b.copy(out, at)
    at += b.length
  })
  out.writeUInt32LE(flags, 60)
  return out
}

/** Picks the scheme to answer with: the user's preference order, else NTLM > Digest > Basic. */
export function chooseScheme(offered: Challenge[], preferred?: AuthScheme[]): AuthScheme | null {
  const names = new Set(offered.map((c) => c.name))
  for (const s of preferred ?? SUPPORTED_SCHEMES) if (names.has(s)) return s
  return null
}
