/**
 * SOCKS4, 4a, 5 and 5h client handshakes over a connected socket, each step recorded as a
 * `proxy.socks` event with the reply code in words. 4a and 5h let the proxy resolve the name.
 */
import net, { type Socket } from 'node:net'
import type { EventDraft } from '../../../common/events/index.ts'
import type { ProxyAuth, ProxyKind } from '../../../common/spec/index.ts'
import { WiretraceError } from '../../../common/errors/index.ts'
import { mono, ms } from '../../engine/clock.ts'
import { SocketReader } from './reader.ts'

export const SOCKS4_REPLIES: Record<number, string> = {
  0x5a: 'request granted',
  0x5b: 'request rejected or failed',
  0x5c: 'request rejected: the proxy cannot reach our identd',
  0x5d: 'request rejected: identd reported a different user id',
}

export const SOCKS5_REPLIES: Record<number, string> = {
  0: 'succeeded',
  1: 'general SOCKS server failure',
  2: 'connection not allowed by the proxy rules',
  3: 'network unreachable (from the proxy)',
  4: 'host unreachable (from the proxy)',
  5: 'connection refused by the destination',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
}

export const SOCKS5_METHODS: Record<number, string> = {
  0: 'no authentication',
  1: 'GSSAPI',
  2: 'username/password',
  0xff: 'no acceptable methods',
}

export interface SocksOptions {
  conn: string
  emit: (d: EventDraft) => unknown
  proxyLabel: string
  kind: Extract<ProxyKind, 'socks4' | 'socks4a' | 'socks5' | 'socks5h'>
  host: string
  port: number
  auth?: ProxyAuth
  signal: AbortSignal
  /** Resolves the origin locally (socks4, socks5); must emit its own dns event. */
  resolve: (host: string) => Promise<{ address: string; family: number }[]>
}

function fail(code: 'WT_SOCKS_FAILED' | 'WT_SOCKS_AUTH' | 'WT_PROXY_BAD_RESPONSE', message: string, detail: Record<string, unknown>): never {
  throw new WiretraceError(code, message, { phase: 'proxy', ...detail })
}

function remoteDns(o: SocksOptions): void {
  o.emit({ type: 'dns', conn: o.conn, host: o.host, addresses: [], durationMs: 0, via: 'proxy', target: 'origin' })
}

/** Runs the handshake; returns the socket ready for the origin's bytes. */
export async function socksHandshake(socket: Socket, o: SocksOptions): Promise<{ durationMs: number }> {
  const t0 = mono()
  const reader = new SocketReader(socket, o.signal, 'the SOCKS handshake')
  try {
    if (o.kind === 'socks4' || o.kind === 'socks4a') await socks4(reader, o)
    else await socks5(reader, o)
  } catch (e) {
    reader.release()
    socket.destroy()
    if (e instanceof WiretraceError && e.code === 'WT_PROXY_CLOSED') {
      throw new WiretraceError('WT_PROXY_CLOSED', `the SOCKS proxy ${o.proxyLabel} closed the connection during the handshake (is it a SOCKS${o.kind.startsWith('socks4') ? '4' : '5'} proxy?)`, { phase: 'proxy', proxy: o.proxyLabel })
    }
    if (e instanceof WiretraceError) throw e
    const err = e as NodeJS.ErrnoException
    throw new WiretraceError('WT_PROXY_CLOSED', `the SOCKS proxy ${o.proxyLabel} failed during the handshake: ${err.code ?? err.message}`, { phase: 'proxy', proxy: o.proxyLabel, errno: err.code })
  }
  reader.release()
  return { durationMs: ms(mono() - t0) }
}

async function socks4(reader: SocketReader, o: SocksOptions): Promise<void> {
  const s = reader.socket
  const user = Buffer.from(o.auth?.username ?? '', 'utf8')
  let ipBytes: Buffer
  let hostBytes = Buffer.alloc(0)
  if (net.isIPv4(o.host)) {
    ipBytes = Buffer.from(o.host.split('.').map(Number))
  } else if (o.kind === 'socks4a') {
    remoteDns(o)
    ipBytes = Buffer.from([0, 0, 0, 1])
    hostBytes = Buffer.concat([Buffer.from(o.host, 'utf8'), Buffer.from([0])])
  } else {
    const addrs = (await o.resolve(o.host)).filter((a) => a.family === 4)
    const a = addrs[0]
    if (!a) fail('WT_SOCKS_FAILED', `SOCKS4 needs an IPv4 address and ${o.host} has none; use socks4a:// or socks5h:// to let the proxy resolve it`, { proxy: o.proxyLabel })
    ipBytes = Buffer.from(a.address.split('.').map(Number))
  }
  const req = Buffer.concat([Buffer.from([4, 1, (o.port >> 8) & 0xff, o.port & 0xff]), ipBytes, user, Buffer.from([0]), hostBytes])
  const t = mono()
  s.write(req)
  const rep = await reader.read(8)
  const code = rep[1]!
  const text = SOCKS4_REPLIES[code] ?? `unknown reply code 0x${code.toString(16)}`
  o.emit({
    type: 'proxy.socks',
    conn: o.conn,
    proxy: o.proxyLabel,
    version: 4,
    step: 'connect',
    ...(user.length ? { method: 'userid' } : {}),
    replyCode: code,
    replyText: text,
    boundAddress: `${rep[4]}.${rep[5]}.${rep[6]}.${rep[7]}:${rep.readUInt16BE(2)}`,
    durationMs: ms(mono() - t),
  })
  if (rep[0] !== 0 && rep[0] !== 4) fail('WT_PROXY_BAD_RESPONSE', `the SOCKS4 proxy ${o.proxyLabel} sent a malformed reply (version byte ${rep[0]})`, { proxy: o.proxyLabel })
  if (code !== 0x5a) fail('WT_SOCKS_FAILED', `the SOCKS4 proxy ${o.proxyLabel} refused ${o.host}:${o.port}: ${text} (0x${code.toString(16)})`, { proxy: o.proxyLabel, version: 4, replyCode: code, replyText: text })
}

async function socks5(reader: SocketReader, o: SocksOptions): Promise<void> {
  const s = reader.socket
  const methods = o.auth ? [0, 2] : [0]
  let t = mono()
  s.write(Buffer.from([5, methods.length, ...methods]))
  const g = await reader.read(2)
  if (g[0] !== 5) fail('WT_PROXY_BAD_RESPONSE', `the proxy ${o.proxyLabel} did not answer as a SOCKS5 proxy (version byte ${g[0]})`, { proxy: o.proxyLabel })
  const method = g[1]!
  const mText = SOCKS5_METHODS[method] ?? `method 0x${method.toString(16)}`
  o.emit({ type: 'proxy.socks', conn: o.conn, proxy: o.proxyLabel, version: 5, step: 'greeting', method: mText, replyCode: method, replyText: method === 0xff ? 'no acceptable authentication method' : `chose ${mText}`, durationMs: ms(mono() - t) })
  if (method === 0xff) {
    fail('WT_SOCKS_AUTH', o.auth ? `the SOCKS5 proxy ${o.proxyLabel} accepts none of our methods (${methods.map((m) => SOCKS5_METHODS[m]).join(', ')})` : `the SOCKS5 proxy ${o.proxyLabel} requires authentication and no credentials are configured`, { proxy: o.proxyLabel, version: 5, replyCode: method, offered: methods })
  }
  if (method === 2) {
    if (!o.auth) fail('WT_SOCKS_AUTH', `the SOCKS5 proxy ${o.proxyLabel} asks for a username and password and none are configured`, { proxy: o.proxyLabel })
    const u = Buffer.from(o.auth.username, 'utf8')
    const p = Buffer.from(o.auth.password, 'utf8')
    if (u.length > 255 || p.length > 255) fail('WT_SOCKS_AUTH', 'SOCKS5 usernames and passwords are limited to 255 bytes', { proxy: o.proxyLabel })
    t = mono()
    s.write(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]))
    const a = await reader.read(2)
    const ok = a[1] === 0
    o.emit({ type: 'proxy.socks', conn: o.conn, proxy: o.proxyLabel, version: 5, step: 'auth', method: 'username/password', replyCode: a[1]!, replyText: ok ? 'credentials accepted' : 'credentials rejected', durationMs: ms(mono() - t) })
    if (!ok) fail('WT_SOCKS_AUTH', `the SOCKS5 proxy ${o.proxyLabel} rejected the credentials for user "${o.auth.username}"`, { proxy: o.proxyLabel, version: 5, replyCode: a[1] })
  } else if (method !== 0) {
    fail('WT_SOCKS_AUTH', `the SOCKS5 proxy ${o.proxyLabel} chose ${mText}, which we do not support`, { proxy: o.proxyLabel, replyCode: method })
  }
  let addr: Buffer
  if (net.isIPv4(o.host)) addr = Buffer.from([1, ...o.host.split('.').map(Number)])
  else if (net.isIPv6(o.host)) addr = Buffer.concat([Buffer.from([4]), ipv6Bytes(o.host)])
  else if (o.kind === 'socks5h') {
    remoteDns(o)
    const h = Buffer.from(o.host, 'utf8')
    if (h.length > 255) fail('WT_SOCKS_FAILED', 'the host name is longer than SOCKS5 allows (255 bytes)', { proxy: o.proxyLabel })
    addr = Buffer.concat([Buffer.from([3, h.length]), h])
  } else {
    const a = (await o.resolve(o.host))[0]
    if (!a) fail('WT_SOCKS_FAILED', `${o.host} did not resolve`, { proxy: o.proxyLabel })
    addr = a.family === 6 ? Buffer.concat([Buffer.from([4]), ipv6Bytes(a.address)]) : Buffer.from([1, ...a.address.split('.').map(Number)])
  }
  t = mono()
  s.write(Buffer.concat([Buffer.from([5, 1, 0]), addr, Buffer.from([(o.port >> 8) & 0xff, o.port & 0xff])]))
  const head = await reader.read(4)
  const rep = head[1]!
  let bound = ''
  const atyp = head[3]
  if (atyp === 1) {
    const b = await reader.read(6)
    bound = `${b[0]}.${b[1]}.${b[2]}.${b[3]}:${b.readUInt16BE(4)}`
  } else if (atyp === 4) {
    const b = await reader.read(18)
    bound = `[${Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':')}]:${b.readUInt16BE(16)}`
  } else if (atyp === 3) {
    const l = (await reader.read(1))[0]!
    const b = await reader.read(l + 2)
    bound = `${b.subarray(0, l).toString('utf8')}:${b.readUInt16BE(l)}`
  }
  const text = SOCKS5_REPLIES[rep] ?? `unknown reply code ${rep}`
  o.emit({ type: 'proxy.socks', conn: o.conn, proxy: o.proxyLabel, version: 5, step: 'connect', replyCode: rep, replyText: text, ...(bound ? { boundAddress: bound } : {}), durationMs: ms(mono() - t) })
  if (head[0] !== 5) fail('WT_PROXY_BAD_RESPONSE', `the SOCKS5 proxy ${o.proxyLabel} sent a malformed reply`, { proxy: o.proxyLabel })
  if (rep !== 0) fail('WT_SOCKS_FAILED', `the SOCKS5 proxy ${o.proxyLabel} could not connect to ${o.host}:${o.port}: ${text} (reply ${rep})`, { proxy: o.proxyLabel, version: 5, replyCode: rep, replyText: text })
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail = ''] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : []
  const parts = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  const b = Buffer.alloc(16)
  parts.forEach((p, i) => b.writeUInt16BE(parseInt(p || '0', 16), i * 2))
  return b
}
