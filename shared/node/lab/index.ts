/**
 * The proxy lab: a misbehaving HTTP proxy on 127.0.0.1 that reproduces what corporate proxies
 * do to long-lived connections, behaviour by behaviour, and logs what it did to each
 * connection. A product feature (`wiretrace lab`) and our own test fixture.
 *
 * Behaviours (all switchable at run time with `lab.set()`): require Basic auth; refuse CONNECT
 * to ports outside a list (403); strip Upgrade on forwarded requests; cut connections idle for
 * N ms; cap a connection's lifetime; buffer downstream bytes until N bytes or the end; add
 * latency and limit bandwidth; reset after the first N downstream bytes; intercept TLS with a
 * generated CA (written out so the user can choose to trust it), optionally dropping ALPN h2;
 * in forward mode, give up on a silent origin after N ms (504).
 * The same port also speaks SOCKS4, 4a and 5 (detected from the first byte), with the same
 * port policy, credentials and relay behaviours.
 *
 * Like a real proxy, its own answers, CONNECT answers and forwarded responses carry
 * `Via: 1.1 wiretrace-lab`, and in forward mode an origin that closes or resets before
 * answering gets `502 Bad Gateway` with `X-Lab-Error` naming why. Forward mode takes one request
 * per client connection (asks the origin and tells the client `Connection: close`), so every
 * request of a kept-alive client goes through the behaviours; a pipelined request is dropped
 * and logged, never forwarded. The log never shows a password, a token query parameter or a
 * Proxy-Authorization value beyond its scheme, and never a control character (escaped as \xHH,
 * so a client cannot forge a log line or send terminal escapes to the CLI's output).
 *
 * What a client sends is checked before anything is forwarded: a request head with a bare LF,
 * a bare CR or another control character (a tab is allowed in header lines), a request line
 * that is not `METHOD target HTTP/x.y` or a header line without a name gets 400; a head over
 * 64 KiB gets 431. A client that has not sent a whole request head (or SOCKS handshake) within
 * `headTimeoutMs` (30 s by default) is disconnected, so idle clients cannot hold every slot.
 */
import net from 'node:net'
import tls from 'node:tls'
import fs from 'node:fs'
import path from 'node:path'
import { makeCert, type KeyAndCert } from './x509.ts'
import { SocketReader } from '../net/proxy/reader.ts'
import { redactSecretsInText, redactUrlText } from '../../common/redact.ts'

export interface LabBehaviours {
  /** Require Proxy-Authorization: Basic for these credentials (407 otherwise). */
  basicAuth?: { user: string; pass: string } | null
  /** CONNECT only to these ports (403 otherwise), e.g. [443]. */
  connectPorts?: number[] | null
  /** Remove Upgrade and Connection from forwarded (absolute-URI) requests. */
  stripUpgrade?: boolean
  /** Cut a connection after this long without a byte either way (no close frame: the client sees 1006). */
  idleCutMs?: number
  /** Cut every connection after this long, busy or not. */
  lifetimeMs?: number
  /** Hold downstream bytes until this many are waiting or the origin ends (breaks SSE). */
  bufferBytes?: number
  /** Delay each chunk, both ways. */
  latencyMs?: number
  /** Limit each direction to this many bytes per second, paced in writes of at most 4 KiB. */
  bandwidthBps?: number
  /** Reset (TCP RST) after this many downstream bytes (after any bytes still queued for latency or bandwidth). */
  resetAfterBytes?: number
  /** Intercept TLS in CONNECT tunnels with the lab CA. */
  interceptTls?: boolean
  /** When intercepting, never negotiate h2 (offer http/1.1 only). */
  dropAlpnH2?: boolean
  /**
   * Forward mode: how long the origin may stay silent, counted from the request sent or its
   * last byte. Before its answer starts, the client gets 504 Gateway Timeout
   * (X-Lab-Error: upstream timeout); after, the connection is closed. 0 or unset: no limit.
   */
  upstreamTimeoutMs?: number
}

export interface LabLogEntry {
  /** ms since the lab started. */
  t: number
  /** Connection number (1, 2, ...). */
  conn: number
  client: string
  event: string
  detail?: string
}

export interface LabOptions extends LabBehaviours {
  /** Port on 127.0.0.1 (0 = any free port). */
  port?: number
  /** Where the interception CA is written (ca.pem, ca.key); a temp dir by default. */
  caDir?: string
  /** Called for every log entry (the CLI prints them); details are already scrubbed of credentials. */
  onLog?: (e: LabLogEntry) => void
  /** Log entries kept in memory (oldest dropped). Default 2000. */
  maxLogEntries?: number
  /** Most concurrent client connections. Default 256. */
  maxConnections?: number
  /**
   * How long a client has to send a whole request head (each one, on a kept-alive connection)
   * or SOCKS handshake before it is disconnected (logged as `timeout`). Default 30000 ms.
   */
  headTimeoutMs?: number
}

/** Default `headTimeoutMs`. */
export const LAB_HEAD_TIMEOUT_MS = 30_000

export interface Lab {
  port: number
  /** http://127.0.0.1:PORT */
  url: string
  /** The interception CA (PEM) and where it was written. */
  caCert: string
  caCertPath: string
  readonly behaviours: Readonly<LabBehaviours>
  /** Recent log entries (bounded). */
  log(): LabLogEntry[]
  set(b: Partial<LabBehaviours>): void
  close(): Promise<void>
}

const MAX_HEAD = 64 * 1024
/** Bytes queued per direction (latency, bandwidth, a slow reader) before the source is paused. */
const MAX_QUEUED = 1024 * 1024
/** Bandwidth pacing: a bucket of BUCKET_SECONDS of the rate (at least BUCKET_MIN bytes), spent in writes of at most SLICE bytes. */
const SLICE = 4096
const BUCKET_SECONDS = 0.02
const BUCKET_MIN = 2048
/** Proxy-Authorization schemes the log may name; anything else is masked whole (it could be the secret). */
const AUTH_SCHEMES = new Set(['basic', 'digest', 'ntlm', 'negotiate', 'bearer', 'kerberos'])

/**
 * Log text with credentials hidden: the password of any URL or user:pass@host, token query
 * parameters (in absolute and origin-form targets), Authorization values but their scheme.
 */
export function scrubLabText(text: string): string {
  return redactSecretsInText(text).replace(/(^|\s)(\/[^\s?]*\?\S+)/g, (_all, sp: string, target: string) => sp + redactUrlText(target))
}

/**
 * Control characters (C0, DEL and C1) as `\xHH`: a log line stays one line and carries no
 * terminal escape sequence, whatever a client sent.
 */
export function escapeControls(text: string): string {
  let out = ''
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      out += `${text.slice(from, i)}\\x${c.toString(16).padStart(2, '0')}`
      from = i + 1
    }
  }
  return from ? out + text.slice(from) : text
}

/**
 * Log text as the lab records it: credentials hidden (before and after escaping, so that
 * neither a line break nor an escaped control character between a name and its secret lets
 * the secret through), then control characters escaped.
 */
function logText(text: string): string {
  return scrubLabText(escapeControls(scrubLabText(text)))
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * Why a request head cannot be taken as it is (the lab answers 400), or null. The head is the
 * text before the blank line, lines ended by CRLF; `bareEnd`: the blank line itself was ended
 * by a bare LF. Refused: a bare LF or CR, any other control character but a tab in a header
 * line, a request line that is not "METHOD target HTTP/x.y", a header line without a name.
 */
export function requestHeadProblem(head: string, bareEnd = false): string | null {
  let line = 0
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i)
    if (c === 0x0d) {
      if (head.charCodeAt(i + 1) !== 0x0a) return `bare CR at byte ${i}`
      i++
      line++
    } else if (c === 0x0a) return `bare LF at byte ${i}`
    else if ((c < 0x20 && !(c === 0x09 && line > 0)) || c === 0x7f) return `control character 0x${c.toString(16).padStart(2, '0')} at byte ${i}`
  }
  if (bareEnd) return `bare LF at byte ${head.length}`
  const [first = '', ...lines] = head.split('\r\n')
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ ]+ HTTP\/\d\.\d$/.test(first)) return 'not an HTTP/1.x request line (METHOD target HTTP/x.y)'
  for (let n = 0; n < lines.length; n++) {
    const c = lines[n]!.indexOf(':')
    if (c <= 0 || !TOKEN.test(lines[n]!.slice(0, c))) return `header line ${n + 1} is not "Name: value"`
  }
  return null
}

/** What the log says about a Proxy-Authorization value: its scheme when it is a known one, never the rest. */
function authSchemeText(value: string): string {
  const m = /^\s*([A-Za-z][A-Za-z0-9-]{0,31})\s+\S/.exec(value)
  return m && AUTH_SCHEMES.has(m[1]!.toLowerCase()) ? m[1]! : 'not named (value hidden)'
}

/**
 * Adds `Via: <version> wiretrace-lab` to the origin's response heads, after its own headers:
 * each 1xx interim head and the final one (or a 101); the bytes after that pass untouched.
 * The final head (not a 101) also loses Connection, Keep-Alive and Proxy-Connection and says
 * `Connection: close`: the lab closes the client connection once the origin is done, so that
 * every request comes on a connection of its own. `onStatus` sees each head's status.
 * An answer that is not HTTP, or a head over MAX_HEAD, passes unchanged.
 */
function viaRewriter(onStatus: (status: number) => void = () => undefined): { push(chunk: Buffer): Buffer; flush(): Buffer } {
  let buf: Buffer | null = Buffer.alloc(0)
  const looksHttp = (b: Buffer): boolean => {
    const start = b.subarray(0, 5).toString('latin1')
    return 'HTTP/'.startsWith(start) || start === 'HTTP/'
  }
  return {
    push(chunk) {
      if (!buf) return chunk
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      const out: Buffer[] = []
      for (;;) {
        if (!looksHttp(buf)) break
        const text = buf.subarray(0, MAX_HEAD + 4).toString('latin1')
        const end = /\r?\n\r?\n/.exec(text)
        if (!end) {
          if (buf.length <= MAX_HEAD) return Buffer.concat(out)
          break
        }
        let head = text.slice(0, end.index)
        const m = /^HTTP\/(\d\.\d) (\d{3})/.exec(head)
        if (!m) break
        const eol = end[0].startsWith('\r') ? '\r\n' : '\n'
        const status = Number(m[2])
        onStatus(status)
        let close = ''
        if (status >= 200) {
          // Folded continuation lines (leading space or tab) go with the header they continue.
          let dropping = false
          head = head
            .split(/\r?\n/)
            .filter((l, i) => i === 0 || !(dropping = /^[ \t]/.test(l) ? dropping : /^(connection|keep-alive|proxy-connection)[ \t]*:/i.test(l)))
            .join(eol)
          close = `${eol}Connection: close`
        }
        out.push(Buffer.from(`${head}${eol}Via: ${m[1]} wiretrace-lab${close}${end[0]}`, 'latin1'))
        buf = buf.subarray(end.index + end[0].length)
        if (status >= 200 || status === 101) break
        if (!buf.length) return Buffer.concat(out)
      }
      out.push(buf)
      buf = null
      return out.length === 1 ? out[0]! : Buffer.concat(out)
    },
    flush() {
      const rest = buf ?? Buffer.alloc(0)
      buf = null
      return rest
    },
  }
}

/** Longest chunk-size or trailer line, and most trailer bytes, the lab reads in a chunked request body. */
const MAX_CHUNK_LINE = 4096

/**
 * Where a forwarded request ends (RFC 9112 section 6.3): right after its head, after
 * Content-Length bytes, or after the last chunk and the trailers of a chunked body.
 * `take(chunk)` says how many bytes of the chunk still belong to the request; once `done`, none
 * do. Chunked framing it cannot read (a size that is not plain hex, a line not ended by CRLF or
 * over MAX_CHUNK_LINE, data not followed by CRLF) ends the request there (`malformed`), so the
 * lab never forwards bytes whose place it does not know. Pure: no I/O.
 */
export function requestFramer(body: { chunked: true } | { length: number }): { take(chunk: Buffer): number; readonly done: boolean; readonly malformed: boolean } {
  const chunked = 'chunked' in body
  let state: 'data' | 'size' | 'data-end' | 'trailer' | 'done' = chunked ? 'size' : body.length > 0 ? 'data' : 'done'
  let left = chunked ? 0 : body.length
  let line = ''
  let trailerBytes = 0
  let malformed = false
  return {
    get done() {
      return state === 'done'
    },
    get malformed() {
      return malformed
    },
    take(chunk) {
      let i = 0
      while (i < chunk.length && state !== 'done') {
        if (state === 'data') {
          const n = Math.min(left, chunk.length - i)
          i += n
          left -= n
          if (!left) state = chunked ? 'data-end' : 'done'
          continue
        }
        const c = chunk[i]!
        if (c !== 0x0a) {
          line += String.fromCharCode(c)
          if (state === 'trailer') trailerBytes++
          if (line.length > MAX_CHUNK_LINE || trailerBytes > MAX_CHUNK_LINE) {
            malformed = true
            state = 'done'
            return i
          }
          i++
          continue
        }
        if (!line.endsWith('\r')) {
          malformed = true
          state = 'done'
          return i
        }
        i++
        const l = line.slice(0, -1)
        line = ''
        if (state === 'data-end') {
          if (l !== '') {
            malformed = true
            state = 'done'
            return i
          }
          state = 'size'
        } else if (state === 'size') {
          const m = /^([0-9A-Fa-f]{1,12})[ \t]*(;[^\r\n]*)?$/.exec(l)
          if (!m) {
            malformed = true
            state = 'done'
            return i
          }
          left = parseInt(m[1]!, 16)
          state = left ? 'data' : 'trailer'
        } else if (l === '') state = 'done'
      }
      return i
    },
  }
}

/**
 * How a request's body is framed, from its headers (RFC 9112 section 6.3), or why the length
 * cannot be known reliably (the lab answers 400 then): Transfer-Encoding with Content-Length,
 * a Transfer-Encoding not ending in chunked, or a Content-Length that is not one number.
 */
function bodyOf(headers: Array<[string, string]>): { chunked: true } | { length: number } | { error: string } {
  const values = (name: string): string[] => headers.filter(([k]) => k.toLowerCase() === name).flatMap(([, v]) => v.split(',').map((x) => x.trim().toLowerCase()))
  const te = values('transfer-encoding')
  const cl = values('content-length')
  if (te.length && cl.length) return { error: 'both Transfer-Encoding and Content-Length' }
  if (te.length) return te.at(-1) === 'chunked' ? { chunked: true } : { error: `Transfer-Encoding ${te.join(', ')} does not end in chunked` }
  if (!cl.length) return { length: 0 }
  if (cl.some((v) => v !== cl[0]) || !/^\d{1,15}$/.test(cl[0]!)) return { error: `Content-Length ${cl.join(', ')} is not one number` }
  return { length: Number(cl[0]) }
}

export async function runLab(opts: LabOptions = {}): Promise<Lab> {
  const b: LabBehaviours = { ...opts }
  const started = Date.now()
  const entries: LabLogEntry[] = []
  const maxEntries = opts.maxLogEntries ?? 2000
  const log = (conn: number, client: string, event: string, detail?: string): void => {
    // Every detail is scrubbed and its control characters escaped here, whatever it quotes (a request line, a target, an error).
    const e: LabLogEntry = { t: Date.now() - started, conn, client: escapeControls(client), event: escapeControls(event), ...(detail ? { detail: logText(detail) } : {}) }
    entries.push(e)
    if (entries.length > maxEntries) entries.splice(0, entries.length - maxEntries)
    opts.onLog?.(e)
  }

  const ownDir = !opts.caDir
  const caDir = opts.caDir ?? fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'wiretrace-lab-'))
  fs.mkdirSync(caDir, { recursive: true })
  const ca = makeCert({ cn: 'Wiretrace Lab Interception CA', org: 'Wiretrace Lab (do not trust outside tests)', ca: true, days: 30 })
  const caCertPath = path.join(caDir, 'ca.pem')
  fs.writeFileSync(caCertPath, ca.cert)
  fs.writeFileSync(path.join(caDir, 'ca.key'), ca.key, { mode: 0o600 })
  const leaves = new Map<string, KeyAndCert>()
  const leafFor = (host: string): KeyAndCert => {
    let l = leaves.get(host)
    if (!l) {
      l = makeCert({ cn: host, names: [host], issuer: { ...ca, org: 'Wiretrace Lab (do not trust outside tests)' }, days: 7 })
      if (leaves.size > 256) leaves.delete(leaves.keys().next().value as string)
      leaves.set(host, l)
    }
    return l
  }

  const headTimeoutMs = opts.headTimeoutMs ?? LAB_HEAD_TIMEOUT_MS
  const timedOut = (id: number, who: string, client: net.Socket): void => {
    log(id, who, 'timeout', `no complete request within ${headTimeoutMs} ms: closed`)
    client.destroy()
  }

  let seq = 0
  const live = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const id = ++seq
    const who = `${client.remoteAddress}:${client.remotePort}`
    if (live.size >= (opts.maxConnections ?? 256)) {
      log(id, who, 'refused', 'too many connections')
      client.destroy()
      return
    }
    live.add(client)
    client.on('close', () => live.delete(client))
    client.on('error', () => undefined)
    const deadline = Date.now() + headTimeoutMs
    firstByte(client, deadline)
      .then((b0) => {
        if (b0 === 'timeout') return timedOut(id, who, client)
        return b0 === 4 || b0 === 5 ? handleSocks(client, id, who, deadline) : handleClient(client, id, who, deadline)
      })
      .catch((e: Error) => {
        log(id, who, 'error', e.message)
        client.destroy()
      })
  })

  /** Peeks the first byte: 4 or 5 is a SOCKS greeting, anything else HTTP; 'timeout' when none came by `deadline`. */
  function firstByte(s: net.Socket, deadline: number): Promise<number | 'timeout'> {
    return new Promise((resolve) => {
      const done = (v: number | 'timeout'): void => {
        clearTimeout(timer)
        s.removeListener('data', onData)
        s.removeListener('close', onClose)
        resolve(v)
      }
      const onData = (d: Buffer): void => {
        s.pause()
        s.unshift(d)
        done(d[0] ?? -1)
      }
      const onClose = (): void => done(-1)
      const timer = setTimeout(() => done('timeout'), Math.max(0, deadline - Date.now()))
      s.once('data', onData)
      s.once('close', onClose)
    })
  }

  const SOCKS_ERRNO: Record<string, number> = { ECONNREFUSED: 5, EHOSTUNREACH: 4, ENOTFOUND: 4, EAI_AGAIN: 4, ENETUNREACH: 3, ETIMEDOUT: 4 }

  /** SOCKS4, 4a and 5 (CONNECT only; username/password when basicAuth is set), then the same relay. */
  async function handleSocks(client: net.Socket, id: number, who: string, deadline: number): Promise<void> {
    const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()))
    const r = new SocketReader(client, signal, 'the SOCKS handshake')
    try {
      const v = (await r.read(1))[0]
      let host: string
      let port: number
      let reply: (ok: boolean, code: number) => void
      if (v === 4) {
        const head = await r.read(7)
        port = head.readUInt16BE(1)
        const ip = head.subarray(3, 7)
        const readZ = async (): Promise<string> => {
          const parts: number[] = []
          for (let i = 0; i < 256; i++) {
            const c = (await r.read(1))[0]!
            if (c === 0) break
            parts.push(c)
          }
          return Buffer.from(parts).toString('utf8')
        }
        const user = await readZ()
        host = ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0 ? await readZ() : Array.from(ip).join('.')
        log(id, who, 'socks4', `CONNECT ${host}:${port}${user ? ` (user id ${user})` : ''}`)
        reply = (ok) => client.write(Buffer.from([0, ok ? 0x5a : 0x5b, 0, 0, 0, 0, 0, 0]))
        if (head[0] !== 1) {
          reply(false, 0)
          return void client.end()
        }
      } else {
        const n = (await r.read(1))[0]!
        const methods = [...(await r.read(n))]
        const want = b.basicAuth ? 2 : 0
        if (!methods.includes(want)) {
          log(id, who, 'socks5', `no acceptable method (offered ${methods.join(',')}, need ${want})`)
          client.write(Buffer.from([5, 0xff]))
          return void client.end()
        }
        client.write(Buffer.from([5, want]))
        if (want === 2) {
          await r.read(1)
          const u = (await r.read((await r.read(1))[0]!)).toString('utf8')
          const pw = (await r.read((await r.read(1))[0]!)).toString('utf8')
          const ok = u === b.basicAuth!.user && pw === b.basicAuth!.pass
          client.write(Buffer.from([1, ok ? 0 : 1]))
          if (!ok) {
            log(id, who, 'socks5', 'credentials rejected')
            return void client.end()
          }
        }
        const req = await r.read(4)
        const atyp = req[3]
        if (atyp === 1) host = Array.from(await r.read(4)).join('.')
        else if (atyp === 3) host = (await r.read((await r.read(1))[0]!)).toString('utf8')
        else if (atyp === 4) {
          const a = await r.read(16)
          host = Array.from({ length: 8 }, (_, i) => a.readUInt16BE(i * 2).toString(16)).join(':')
        } else host = ''
        port = (await r.read(2)).readUInt16BE(0)
        log(id, who, 'socks5', `CONNECT ${host}:${port}`)
        reply = (ok, code) => client.write(Buffer.from([5, ok ? 0 : code, 0, 1, 0, 0, 0, 0, 0, 0]))
        if (req[1] !== 1 || !host) {
          reply(false, !host ? 8 : 7)
          return void client.end()
        }
      }
      if (b.connectPorts && !b.connectPorts.includes(port)) {
        log(id, who, 'refused', `port ${port} is not allowed by policy`)
        reply(false, 2)
        return void client.end()
      }
      let upstream: net.Socket
      try {
        upstream = await dialOrigin(host, port)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'ERROR'
        log(id, who, 'refused', `cannot reach ${host}:${port}: ${code}`)
        reply(false, SOCKS_ERRNO[code] ?? 1)
        return void client.end()
      }
      reply(true, 0)
      log(id, who, 'tunnel', `${host}:${port}`)
      r.release()
      relay(client, upstream, id, who)
    } catch (e) {
      r.release()
      if (signal.aborted) return timedOut(id, who, client)
      log(id, who, 'error', `SOCKS handshake: ${(e as Error).message}`)
      client.destroy()
    }
  }

  type Head = { head: string; rest: Buffer; bareEnd: boolean }
  /**
   * Reads a request head: up to the first blank line, whether its lines end in CRLF or (to be
   * refused at once rather than left to time out) a bare LF. `bareEnd`: the blank line was not
   * CRLF CRLF. Null when the client ends first; 'too-large' past MAX_HEAD; 'timeout' at `deadline`.
   */
  async function readHead(s: net.Socket, deadline: number): Promise<Head | 'too-large' | 'timeout' | null> {
    let buf: Buffer = Buffer.alloc(0)
    /** Where the search for the blank line goes on from. */
    let from = 0
    return new Promise((resolve) => {
      const onData = (d: Buffer): void => {
        buf = buf.length ? Buffer.concat([buf, d]) : d
        // The blank line: an LF followed by LF, or by CR LF.
        for (let j = buf.indexOf(0x0a, from); j >= 0; j = buf.indexOf(0x0a, j + 1)) {
          if (j + 1 >= buf.length || (buf[j + 1] === 0x0d && j + 2 >= buf.length)) break
          const len = buf[j + 1] === 0x0a ? 2 : buf[j + 1] === 0x0d && buf[j + 2] === 0x0a ? 3 : 0
          if (!len) continue
          if (j > MAX_HEAD) return done('too-large')
          const crlf = len === 3 && j > 0 && buf[j - 1] === 0x0d
          return done({ head: buf.subarray(0, crlf ? j - 1 : j).toString('latin1'), rest: buf.subarray(j + len), bareEnd: !crlf })
        }
        from = Math.max(0, buf.length - 2)
        if (buf.length > MAX_HEAD + 4) done('too-large')
      }
      const onEnd = (): void => done(null)
      const timer = setTimeout(() => done('timeout'), Math.max(0, deadline - Date.now()))
      const done = (v: Head | 'too-large' | 'timeout' | null): void => {
        clearTimeout(timer)
        s.removeListener('data', onData)
        s.removeListener('end', onEnd)
        s.removeListener('close', onEnd)
        s.pause()
        resolve(v)
      }
      s.on('data', onData)
      s.on('end', onEnd)
      s.on('close', onEnd)
      s.resume()
    })
  }

  function reply(s: net.Socket, status: string, headers: Array<[string, string]>, body: string, close = false): void {
    const bodyBuf = Buffer.from(body)
    const h = [...headers, ['Content-Type', 'text/plain; charset=utf-8'], ['Content-Length', String(bodyBuf.length)], ['Via', '1.1 wiretrace-lab'], ['Connection', close ? 'close' : 'keep-alive']]
    s.write(`HTTP/1.1 ${status}\r\n${h.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`)
    s.write(bodyBuf)
    if (close) s.end()
  }

  function authorized(headers: Array<[string, string]>): boolean {
    if (!b.basicAuth) return true
    const v = headers.find(([k]) => k.toLowerCase() === 'proxy-authorization')?.[1] ?? ''
    const m = /^Basic\s+(\S+)/i.exec(v)
    if (!m) return false
    return Buffer.from(m[1]!, 'base64').toString('utf8') === `${b.basicAuth.user}:${b.basicAuth.pass}`
  }

  async function handleClient(client: net.Socket, id: number, who: string, deadline: number): Promise<void> {
    for (let n = 0; n < 8; n++) {
      const req = await readHead(client, n ? Date.now() + headTimeoutMs : deadline)
      if (!req) return
      if (req === 'timeout') return timedOut(id, who, client)
      if (req === 'too-large') {
        log(id, who, '431', `request head larger than ${MAX_HEAD} bytes`)
        reply(client, '431 Request Header Fields Too Large', [], `The lab reads request heads of at most ${MAX_HEAD} bytes.\n`, true)
        return
      }
      const [first = '', ...lines] = req.head.split('\r\n')
      // Nothing with a bare CR or LF or a control character goes on (a forwarded head is written as read), nor into the log raw.
      const problem = requestHeadProblem(req.head, req.bareEnd)
      if (problem) {
        log(id, who, '400', `malformed request head (${problem}): ${first}`)
        reply(client, '400 Bad Request', [], `The lab refuses this request head: ${problem} (lines end in CRLF; no control characters but a tab in header lines).\n`, true)
        return
      }
      const headers: Array<[string, string]> = lines.map((l) => {
        const c = l.indexOf(':')
        return [l.slice(0, c).trim(), l.slice(c + 1).trim()] as [string, string]
      })
      const [method = '', target = ''] = first.split(' ')
      log(id, who, 'request', first)
      if (!authorized(headers)) {
        const had = headers.find(([k]) => k.toLowerCase() === 'proxy-authorization')
        log(id, who, '407', had ? `credentials rejected (Proxy-Authorization scheme: ${authSchemeText(had[1])})` : 'no credentials')
        reply(client, '407 Proxy Authentication Required', [['Proxy-Authenticate', 'Basic realm="wiretrace lab"']], 'The Wiretrace lab requires proxy authentication.\n')
        if (req.rest.length) client.unshift(req.rest)
        continue
      }
      if (method === 'CONNECT') return connect(client, id, who, target, req.rest)
      if (/^[a-z]+:\/\//i.test(target)) return forward(client, id, who, method, target, first, headers, req.rest)
      log(id, who, '400', 'not a proxy request')
      reply(client, '400 Bad Request', [], 'The Wiretrace lab is a proxy: send CONNECT or an absolute URI.\n', true)
      return
    }
    client.destroy()
  }

  function splitHostPort(t: string, defPort: number): { host: string; port: number } {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t) ?? /^([^:]+)(?::(\d+))?$/.exec(t)
    return { host: m?.[1] ?? t, port: m?.[2] ? Number(m[2]) : defPort }
  }

  function dialOrigin(host: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port })
      s.once('connect', () => {
        s.removeListener('error', reject)
        resolve(s)
      })
      s.once('error', reject)
    })
  }

  async function connect(client: net.Socket, id: number, who: string, target: string, rest: Buffer): Promise<void> {
    const { host, port } = splitHostPort(target, 443)
    if (b.connectPorts && !b.connectPorts.includes(port)) {
      log(id, who, '403', `CONNECT to port ${port} refused (allowed: ${b.connectPorts.join(', ')})`)
      reply(client, '403 Forbidden', [['X-Lab-Error', 'port-policy']], `CONNECT to port ${port} is not allowed by policy (allowed: ${b.connectPorts.join(', ')}).\n`, true)
      return
    }
    let upstream: net.Socket
    try {
      upstream = await dialOrigin(host, port)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'ERROR'
      log(id, who, '502', `cannot reach ${host}:${port}: ${code}`)
      reply(client, '502 Bad Gateway', [['X-Lab-Error', code]], `The lab could not reach ${host}:${port}: ${code}\n`, true)
      return
    }
    client.write('HTTP/1.1 200 Connection established\r\nVia: 1.1 wiretrace-lab\r\n\r\n')
    log(id, who, 'tunnel', `${host}:${port}`)
    if (!b.interceptTls) {
      if (rest.length) client.unshift(rest)
      relay(client, upstream, id, who)
      return
    }
    // TLS interception: finish TLS with the origin first so the client sees the same ALPN.
    const offer = b.dropAlpnH2 ? ['http/1.1'] : ['h2', 'http/1.1']
    const up = tls.connect({ socket: upstream, servername: net.isIP(host) ? undefined : host, ALPNProtocols: offer, rejectUnauthorized: false })
    try {
      await new Promise<void>((resolve, reject) => {
        up.once('secureConnect', () => resolve())
        up.once('error', reject)
      })
    } catch (e) {
      log(id, who, 'intercept-failed', `TLS to ${host}:${port}: ${(e as Error).message}`)
      client.destroy()
      upstream.destroy()
      return
    }
    const alpn = up.alpnProtocol || null
    const leaf = leafFor(host)
    if (rest.length) client.unshift(rest)
    const down = new tls.TLSSocket(client, { isServer: true, cert: leaf.cert, key: leaf.key, ALPNProtocols: alpn ? [alpn] : ['http/1.1'] })
    down.on('error', () => undefined)
    log(id, who, 'intercepted', `TLS for ${host} re-signed by the lab CA; ALPN towards the client: ${alpn ?? 'http/1.1'}${b.dropAlpnH2 ? ' (h2 dropped)' : ''}`)
    relay(down, up, id, who)
  }

  /**
   * Forward mode, one request per client connection: the origin is asked to close
   * (`Connection: close`, Keep-Alive and Proxy-Connection removed) and the client is told the
   * same, so a kept-alive client's next request comes on a new connection and through all of
   * this again. Bytes after the request's body (a pipelined request) never reach the origin: they
   * are dropped and logged. A WebSocket upgrade keeps its Connection header; after a 101 the
   * bytes flow both ways untouched.
   */
  async function forward(client: net.Socket, id: number, who: string, method: string, target: string, first: string, headers: Array<[string, string]>, rest: Buffer): Promise<void> {
    let u: URL
    try {
      u = new URL(target)
    } catch {
      reply(client, '400 Bad Request', [], 'bad absolute URI\n', true)
      return
    }
    const body = bodyOf(headers)
    if ('error' in body) {
      log(id, who, '400', `request body length unknown: ${body.error}`)
      reply(client, '400 Bad Request', [], `The lab cannot tell where this request's body ends: ${body.error}.\n`, true)
      return
    }
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80
    const host = u.hostname.replace(/^\[|\]$/g, '')
    let upstream: net.Socket
    try {
      upstream = await dialOrigin(host, port)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'ERROR'
      log(id, who, '502', `cannot reach ${host}:${port}: ${code}`)
      reply(client, '502 Bad Gateway', [['X-Lab-Error', code]], `The lab could not reach ${host}:${port}: ${code}\n`, true)
      return
    }
    const version = first.split(' ')[2] ?? 'HTTP/1.1'
    const has = (name: string): boolean => headers.some(([k]) => k.toLowerCase() === name)
    const upgrade = !b.stripUpgrade && has('upgrade') && headers.some(([k, v]) => k.toLowerCase() === 'connection' && /(^|,)\s*upgrade\s*(,|$)/i.test(v))
    const drop = new Set(['proxy-authorization', 'proxy-connection'])
    if (!upgrade) ['connection', 'keep-alive'].forEach((h) => drop.add(h))
    if (b.stripUpgrade) drop.add('upgrade')
    const kept = headers.filter(([k]) => !drop.has(k.toLowerCase()))
    if (b.stripUpgrade && has('upgrade')) log(id, who, 'stripped', 'removed Upgrade and Connection from the forwarded request')
    kept.push(['Via', `${version.slice(5)} wiretrace-lab`])
    if (!upgrade) kept.push(['Connection', 'close'])
    // Client bytes pass while they belong to this request, and after a 101 (the upgraded connection).
    let switched = false
    let dropped = 0
    const framer = requestFramer(body)
    const up = {
      push(chunk: Buffer): Buffer {
        if (switched) return chunk
        const n = framer.take(chunk)
        dropped += chunk.length - n
        return n === chunk.length ? chunk : chunk.subarray(0, n)
      },
      flush: () => Buffer.alloc(0),
    }
    const down = viaRewriter((status) => (switched ||= upgrade && status === 101))
    upstream.write(`${method} ${u.pathname}${u.search} ${version}\r\n${kept.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`)
    const early = up.push(rest)
    if (early.length) upstream.write(early)
    log(id, who, 'forward', `${method} ${u.pathname}${u.search} to ${host}:${port}`)
    const ended = (): void => {
      if (framer.malformed) log(id, who, 'malformed', 'unreadable chunked framing in the request body: nothing after it was forwarded')
      else if (dropped) log(id, who, 'dropped', `${dropped} bytes after the forwarded request (a pipelined request is not forwarded; the answer said Connection: close)`)
    }
    relay(client, upstream, id, who, { target: `${host}:${port}`, timeoutMs: b.upstreamTimeoutMs && b.upstreamTimeoutMs > 0 ? b.upstreamTimeoutMs : 0, up, down, ended })
  }

  /**
   * Pipes both ways through the behaviours; logs how the connection ended. `fwd`: a forwarded
   * request (absolute URI) whose answer is the origin's: its heads get Via, an origin that
   * closes before answering is answered 502, and one silent for `timeoutMs` 504 (or cut, once
   * its answer has started). `fwd.up` filters the client's bytes, `fwd.down` rewrites the origin's
   * (Via, Connection: close), and `fwd.ended` runs once when the connection ends.
   */
  function relay(client: net.Socket, upstream: net.Socket, id: number, who: string, fwd?: { target: string; timeoutMs: number; up: PreStage; down: PreStage; ended(): void }): void {
    let last = Date.now()
    let down = 0
    let ended = false
    let resetting = false
    let idleTimer: NodeJS.Timeout | null = null
    let lifeTimer: NodeJS.Timeout | null = null
    let silenceTimer: NodeJS.Timeout | null = null
    /** Forward mode: the origin sent at least one byte (its answer started). */
    let answered = false
    let upstreamError: string | null = null
    const clearTimers = (): void => {
      if (idleTimer) clearInterval(idleTimer)
      if (lifeTimer) clearTimeout(lifeTimer)
      if (silenceTimer) clearTimeout(silenceTimer)
    }
    const finish = (why: string, rst = false): void => {
      if (ended) return
      ended = true
      clearTimers()
      fwd?.ended()
      log(id, who, 'closed', why)
      if (rst && typeof (client as net.Socket & { resetAndDestroy?: () => void }).resetAndDestroy === 'function' && !(client instanceof tls.TLSSocket)) {
        ;(client as net.Socket & { resetAndDestroy: () => void }).resetAndDestroy()
      } else client.destroy()
      upstream.destroy()
    }
    if (b.idleCutMs) {
      const limit = b.idleCutMs
      idleTimer = setInterval(() => {
        if (Date.now() - last >= limit) finish(`idle cut after ${limit} ms without a byte`)
      }, Math.max(20, Math.min(250, limit / 10)))
    }
    if (b.lifetimeMs) {
      const limit = b.lifetimeMs
      lifeTimer = setTimeout(() => finish(`lifetime cap of ${limit} ms reached`), limit)
    }
    /** Forward mode, nothing from the origin yet: the lab answers the client itself and closes. */
    const failForward = (status: string, errorValue: string, event: string, detail: string, body: string): void => {
      if (ended) return
      ended = true
      clearTimers()
      fwd?.ended()
      downPump.stop()
      upstream.destroy()
      log(id, who, event, detail)
      if (!client.destroyed) reply(client, status, [['X-Lab-Error', errorValue]], body, true)
    }
    client.on('error', () => undefined)
    upstream.on('error', (e: NodeJS.ErrnoException) => (upstreamError = e.code ?? e.message))
    if (fwd?.timeoutMs) {
      const limit = fwd.timeoutMs
      const arm = (): void => {
        if (silenceTimer) clearTimeout(silenceTimer)
        silenceTimer = setTimeout(() => {
          // Bytes still on their way to the client (a slow reader, latency, bandwidth), or the origin
          // paused for them: the lab is not waiting for the origin, so this is not its silence.
          if (!upstream.destroyed && (upstream.isPaused() || downPump.pending())) return arm()
          if (!answered) {
            failForward('504 Gateway Timeout', 'upstream timeout', '504', `no answer from ${fwd.target} within ${limit} ms`, `${fwd.target} did not answer within ${limit} ms: the lab gave up waiting (upstream timeout).\n`)
          } else finish(`the origin was silent for ${limit} ms (upstream timeout)`)
        }, limit)
      }
      arm()
      upstream.on('data', arm)
    }
    if (fwd) upstream.on('data', () => (answered = true))
    const upPump = pump(
      client,
      upstream,
      (n) => {
        last = Date.now()
        return n
      },
      undefined,
      fwd?.up,
    )
    let held: Buffer[] = []
    let heldBytes = 0
    const downPump: Pump = pump(
      upstream,
      client,
      (n, chunk, write) => {
        last = Date.now()
        if (resetting) return -1
        if (b.resetAfterBytes !== undefined && b.resetAfterBytes >= 0 && down + n >= b.resetAfterBytes) {
          const keep = b.resetAfterBytes - down
          resetting = true
          if (keep > 0) write(chunk.subarray(0, keep))
          down += Math.max(0, keep)
          // The reset follows the bytes still queued for latency or bandwidth, never overtakes them.
          downPump.stop()
          downPump.after(() => setTimeout(() => finish(`reset after the first ${b.resetAfterBytes} downstream bytes`, true), 20))
          return -1
        }
        down += n
        if (b.bufferBytes) {
          held.push(chunk)
          heldBytes += n
          if (heldBytes >= b.bufferBytes) {
            log(id, who, 'flushed', `released ${heldBytes} buffered bytes`)
            write(Buffer.concat(held))
            held = []
            heldBytes = 0
          }
          return -1
        }
        return n
      },
      (write) => {
        if (fwd && !answered && !resetting) {
          // The origin ended without a byte of answer: the lab says so (502), it does not just close.
          failForward('502 Bad Gateway', 'origin closed', '502', `${fwd.target} closed without answering (origin closed)`, `${fwd.target} closed the connection without answering.\n`)
          return
        }
        if (!heldBytes || resetting) return
        log(id, who, 'flushed', `released ${heldBytes} buffered bytes at the end`)
        write(Buffer.concat(held))
        held = []
        heldBytes = 0
      },
      fwd?.down,
    )
    // One side closing ends the other only once the bytes queued for it (latency, bandwidth) are out.
    const flushed = (s: net.Socket, fn: () => void): void => {
      if (s.destroyed || !s.writableEnded || s.writableFinished) fn()
      else s.once('finish', fn)
    }
    client.on('close', () => {
      if (!resetting) upPump.after(() => flushed(upstream, () => finish('client closed')))
    })
    upstream.on('close', () => {
      if (fwd && !answered && !resetting) {
        const why = upstreamError ?? 'origin closed'
        return failForward('502 Bad Gateway', why, '502', `${fwd.target} closed without answering (${why})`, `${fwd.target} closed the connection without answering: ${why}\n`)
      }
      if (!resetting) downPump.after(() => flushed(client, () => finish('origin closed')))
    })
  }

  /** A rewriting stage before a pump: `push` returns what to send now (maybe less, maybe held), `flush` the rest at the end. */
  type PreStage = { push(chunk: Buffer): Buffer; flush(): Buffer }

  interface Pump {
    /** Runs `fn` once every byte queued so far has been handed to the destination. */
    after(fn: () => void): void
    /** Takes no more input and never ends the destination (a reset follows). */
    stop(): void
    /** Bytes are queued here or in the destination's write buffer. */
    pending(): boolean
  }

  /**
   * Copies src to dst in order, through latency (each chunk held `latencyMs`) and bandwidth (a
   * token bucket refilled at `bandwidthBps`, holding 20 ms of the rate and at least 2 KiB, that
   * starts with one slice and is spent in slices of at most 4 KiB and half the bucket, so the
   * rate holds over any stretch longer than a few slices).
   * `tap` sees each chunk first: it returns the byte count to send as is, or -1 when it wrote
   * (or held) the chunk itself with `write`. `onEnd` runs when src ends, before dst is ended.
   * Bounded: src is paused while more than MAX_QUEUED bytes wait (for the rate, the latency or
   * a slow destination).
   */
  function pump(
    src: net.Socket,
    dst: net.Socket,
    tap: (n: number, chunk: Buffer, write: (b: Buffer) => void) => number,
    onEnd?: (write: (b: Buffer) => void) => void,
    /** Rewrites src bytes before `tap` sees them (may hold some until `flush`, at the end). */
    pre?: PreStage,
  ): Pump {
    type Item = { buf: Buffer; at: number } | { fn: () => void }
    const q: Item[] = []
    let queued = 0
    let tokens = Infinity
    let refilled = performance.now()
    let timer: NodeJS.Timeout | null = null
    let waitingDrain = false
    let pausedForQueue = false
    let stopped = false
    let srcEnded = false
    const schedule = (ms: number): void => {
      timer = setTimeout(
        () => {
          timer = null
          drain()
        },
        Math.max(1, Math.ceil(ms)),
      )
    }
    function drain(): void {
      while (q.length && !waitingDrain) {
        const head = q[0]!
        if ('fn' in head) {
          q.shift()
          head.fn()
          continue
        }
        if (dst.destroyed) {
          q.shift()
          queued -= head.buf.length
          continue
        }
        const t = performance.now()
        if (head.at > t) return schedule(head.at - t)
        const bps = b.bandwidthBps ?? 0
        let n = head.buf.length
        if (bps > 0) {
          // Slices of half the bucket at most: a timer that fires late leaves its surplus in the bucket.
          const cap = Math.max(BUCKET_MIN, bps * BUCKET_SECONDS)
          const slice = Math.min(SLICE, Math.floor(cap / 2))
          tokens = Math.min(cap, tokens === Infinity ? slice : tokens + ((t - refilled) * bps) / 1000)
          refilled = t
          n = Math.min(n, slice)
          if (tokens < n) return schedule(((n - tokens) / bps) * 1000)
          tokens -= n
        } else {
          tokens = Infinity
          refilled = t
        }
        const part = n === head.buf.length ? head.buf : head.buf.subarray(0, n)
        if (part === head.buf) q.shift()
        else head.buf = head.buf.subarray(n)
        queued -= n
        if (!dst.write(part)) {
          waitingDrain = true
          dst.once('drain', () => {
            waitingDrain = false
            if (!timer) drain()
          })
        }
      }
      if (pausedForQueue && queued <= MAX_QUEUED / 2) {
        pausedForQueue = false
        if (!stopped) src.resume()
      }
      if (!q.length && srcEnded && !stopped && !dst.destroyed && !dst.writableEnded) dst.end()
    }
    const write = (chunk: Buffer): void => {
      if (stopped || !chunk.length) return
      q.push({ buf: chunk, at: performance.now() + (b.latencyMs ?? 0) })
      queued += chunk.length
      if (queued > MAX_QUEUED && !pausedForQueue) {
        pausedForQueue = true
        src.pause()
      }
      if (!timer) drain()
    }
    const take = (chunk: Buffer): void => {
      if (!chunk.length) return
      const n = tap(chunk.length, chunk, write)
      if (n >= 0) write(chunk)
    }
    src.on('data', (chunk: Buffer) => take(pre ? pre.push(chunk) : chunk))
    // readHead left the client paused; a paused stream does not flow for a new 'data' listener.
    src.resume()
    src.on('end', () => {
      srcEnded = true
      if (pre && !stopped) take(pre.flush())
      if (!stopped) onEnd?.(write)
      if (!timer) drain()
    })
    return {
      after(fn) {
        if (!q.length) fn()
        else q.push({ fn })
      },
      stop() {
        stopped = true
      },
      pending: () => queued > 0 || waitingDrain || dst.writableLength > 0,
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    caCert: ca.cert,
    caCertPath,
    get behaviours() {
      return { ...b }
    },
    log: () => entries.slice(),
    set(next) {
      Object.assign(b, next)
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy()
        // A CA dir the lab made itself goes with it; one the user named stays.
        if (ownDir) fs.rmSync(caDir, { recursive: true, force: true })
        server.close(() => resolve())
      }),
  }
}

/** One line per log entry, for the CLI. */
export function formatLabLog(e: LabLogEntry): string {
  return `${(e.t / 1000).toFixed(3).padStart(9)}s  #${e.conn} ${e.client}  ${e.event}${e.detail ? `: ${e.detail}` : ''}`
}
