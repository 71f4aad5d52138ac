/**
 * Web mode (`wiretrace web`): serves the renderer build on 127.0.0.1 at a random port with a
 * random token and carries the host API over a WebSocket at /api. It binds loopback only and
 * refuses any request
 *   - without the token (query `?token=` once, then an HttpOnly SameSite=Strict cookie),
 *   - with an Origin other than the one it serves,
 *   - with a Host header other than the loopback address it serves (DNS rebinding).
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { Engine } from '../engine/engine.ts'
import { inferTransport } from '../engine/validate.ts'
import { HostAdapter } from './adapter.ts'
import { defaultRecordingsDir, defaultTargetsFile, rendererDir as defaultRendererDir } from './paths.ts'
import { startDemoServers, type DemoServers } from '../demo/servers.ts'
import { redactUrlText } from '../../common/redact.ts'
import type { HostMessage } from '../../common/protocol/index.ts'

export interface WebOptions {
  /** 0 or absent: a random free port. */
  port?: number
  /** Recordings to open read-only at start (`wiretrace open FILE...`). */
  open?: string[]
  /** URLs to connect to at start (transport inferred from the scheme). */
  connect?: string[]
  /** Start the built-in demo servers (default true). */
  demo?: boolean
  recordingsDir?: string
  /** Where the renderer build is (default out/renderer under the package root). */
  rendererDir?: string
  /** Saved targets file (default in the user config dir); null keeps them in memory. */
  targetsFile?: string | null
  /** Fixed token (tests); random by default. */
  token?: string
  /** Do not print the URL. */
  quiet?: boolean
  /** Use this engine (tests, benches) instead of creating one. */
  engine?: Engine
}

export interface WebServer {
  url: string
  close(): Promise<void>
}

/** Largest message a client may send over /api (a payload to send fits). */
export const MAX_API_MESSAGE_BYTES = 64 * 1024 * 1024
/** Bytes queued to a client before it is considered stuck and dropped. */
export const MAX_CLIENT_BUFFER_BYTES = 256 * 1024 * 1024

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function cookieToken(header: string | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}

export async function runWeb(opts: WebOptions = {}): Promise<WebServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const root = path.resolve(opts.rendererDir ?? defaultRendererDir())
  const ownEngine = !opts.engine
  const engine = opts.engine ?? new Engine({ recordingsDir: opts.recordingsDir ?? defaultRecordingsDir(), host: 'web' })
  let demo: DemoServers | null = null
  if (opts.demo !== false) demo = await startDemoServers()
  const adapter = new HostAdapter({ engine, host: 'web', targetsFile: opts.targetsFile === undefined ? defaultTargetsFile() : opts.targetsFile, demo })

  let port = 0
  let hostHeader = ''
  let origin = ''
  const cookieName = (): string => `wt_token_${port}`

  /** Why a request is refused, or null when it may pass. */
  const refusal = (req: http.IncomingMessage, url: URL): { status: number; why: string } | null => {
    if (req.headers.host !== hostHeader) return { status: 421, why: `Host header must be ${hostHeader}` }
    const o = req.headers.origin
    if (o !== undefined && o !== origin) return { status: 403, why: `foreign Origin ${o}` }
    const given = url.searchParams.get('token') ?? cookieToken(req.headers.cookie, cookieName())
    if (!given || !sameSecret(given, token)) return { status: 401, why: 'missing or wrong token: open the URL that `wiretrace web` printed' }
    return null
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const no = refusal(req, url)
    const common = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
    }
    if (no) {
      res.writeHead(no.status, { ...common, 'content-type': 'text/plain; charset=utf-8' })
      res.end(`Wiretrace: refused (${no.why}).\n`)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...common, allow: 'GET, HEAD' })
      res.end()
      return
    }
    let rel = decodeURIComponent(url.pathname)
    if (rel === '/' || rel === '') rel = '/index.html'
    const file = path.resolve(root, '.' + rel)
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(404, common)
      res.end()
      return
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404, { ...common, 'content-type': 'text/plain; charset=utf-8' })
        res.end(rel === '/index.html' ? `The renderer build is missing at ${root}: run \`npm run build\` first.\n` : 'not found\n')
        return
      }
      const headers: Record<string, string> = { ...common, 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }
      if (file.endsWith('.html')) {
        headers['content-security-policy'] =
          `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; ` +
          `connect-src 'self' ws://${hostHeader}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`
        if (url.searchParams.get('token')) headers['set-cookie'] = `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`
      }
      res.writeHead(200, headers)
      res.end(req.method === 'HEAD' ? undefined : body)
    })
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_API_MESSAGE_BYTES, perMessageDeflate: false })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const no = url.pathname === '/api' ? refusal(req, url) : { status: 404, why: 'not found' }
    if (no) {
      socket.end(`HTTP/1.1 ${no.status} Refused\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(no.why)}\r\n\r\n${no.why}`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveApi(ws))
  })

  const serveApi = (ws: WebSocket): void => {
    const peer = adapter.attach((m: HostMessage) => {
      if (ws.readyState !== ws.OPEN) return
      if (ws.bufferedAmount > MAX_CLIENT_BUFFER_BYTES) {
        ws.terminate()
        return
      }
      ws.send(JSON.stringify(m))
    })
    ws.on('message', (data, isBinary) => {
      if (isBinary) return
      let msg: unknown
      try {
        msg = JSON.parse(data.toString())
      } catch {
        return
      }
      peer.receive(msg)
    })
    ws.on('close', () => peer.close())
    ws.on('error', () => peer.close())
  }

  const requested = opts.port ?? 0
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(requested, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  hostHeader = `127.0.0.1:${port}`
  origin = `http://${hostHeader}`
  const url = `${origin}/?token=${token}`

  for (const target of opts.connect ?? []) {
    try {
      engine.open({ url: target, transport: inferTransport(target) })
    } catch (e) {
      process.stderr.write(`wiretrace web: cannot connect to ${redactUrlText(target)}: ${(e as Error).message}\n`)
    }
  }
  try {
    for (const file of opts.open ?? []) await adapter.openRecording(file)
  } catch (e) {
    // A recording that cannot be opened is a usage error: say which, and stop serving.
    await new Promise<void>((r) => server.close(() => r()))
    await adapter.close()
    if (ownEngine) await engine.shutdown()
    if (demo) await demo.close()
    throw e
  }
  if (!opts.quiet) process.stdout.write(`Wiretrace web mode: open ${url}\n(serving ${root} on 127.0.0.1 only; press Ctrl+C to stop)\n`)

  let closing: Promise<void> | null = null
  return {
    url,
    close() {
      closing ??= (async () => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        server.closeAllConnections()
        await new Promise<void>((r) => server.close(() => r()))
        await adapter.close()
        if (ownEngine) await engine.shutdown()
        if (demo) await demo.close()
      })()
      return closing
    },
  }
}
