/**
 * Built-in demo servers, all on 127.0.0.1 with ports chosen by the OS, so the app shows
 * something real with no network: WebSocket echo + ticker (+ a flood endpoint for the UI
 * bench and a close endpoint), an SSE ticker, a long-poll endpoint, and an HTTP/2 (h2c)
 * NDJSON stream. Every timer and socket is tracked and torn down by close().
 */
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import type { SavedTarget } from '../../common/protocol/commands.ts'

export interface DemoServers {
  /** http://127.0.0.1:port of the HTTP/WebSocket server. */
  httpUrl: string
  wsUrl: string
  /** http://127.0.0.1:port of the h2c server. */
  h2Url: string
  /** A loopback port where nothing listens (a connection that fails, for the diagnosis demo). */
  refusedPort: number
  targets: SavedTarget[]
  close(): Promise<void>
}

/** Bounds for query parameters, so a demo URL cannot make the server misbehave. */
const MAX_RATE = 1_000_000
const MAX_SIZE = 1024 * 1024
const MAX_SECONDS = 600

function num(q: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = Number(q.get(name) ?? def)
  return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : def
}

function tickPayload(n: number): string {
  const price = 100 + Math.sin(n / 10) * 5 + ((n * 7919) % 13) / 10
  return JSON.stringify({ type: 'tick', n, symbol: 'WTR', price: Math.round(price * 100) / 100, at: new Date().toISOString() })
}

async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

export async function startDemoServers(): Promise<DemoServers> {
  const timers = new Set<NodeJS.Timeout>()
  const every = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setInterval(fn, ms)
    timers.add(t)
    return t
  }
  const stop = (t: NodeJS.Timeout | undefined): void => {
    if (!t) return
    clearInterval(t)
    clearTimeout(t)
    timers.delete(t)
  }
  let pollCursor = 0
  const pollWaiters = new Set<() => void>()
  every(1000, () => {
    pollCursor++
    for (const w of [...pollWaiters]) w()
  })

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const q = url.searchParams
    if (url.pathname === '/sse') {
      const hz = num(q, 'hz', 2, 0.1, 1000)
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      const last = Number(req.headers['last-event-id'] ?? 0)
      let n = Number.isFinite(last) ? last : 0
      res.write(`retry: 2000\n: wiretrace demo SSE ticker, ${hz} events/s\n\n`)
      const t = every(1000 / hz, () => {
        n++
        res.write(`id: ${n}\nevent: tick\ndata: ${tickPayload(n)}\n\n`)
        if (n % 10 === 0) res.write(': heartbeat\n\n')
      })
      req.on('close', () => stop(t))
      return
    }
    if (url.pathname === '/poll') {
      const cursor = num(q, 'cursor', 0, 0, Number.MAX_SAFE_INTEGER)
      const reply = (): void => {
        pollWaiters.delete(reply)
        stop(timeout)
        if (res.writableEnded) return
        const items = cursor < pollCursor ? [tickPayload(pollCursor)].map((s) => JSON.parse(s) as unknown) : []
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ cursor: String(Math.max(cursor, pollCursor)), items }))
      }
      const timeout = setTimeout(reply, num(q, 'hold', 5000, 0, 60_000))
      timers.add(timeout)
      if (cursor < pollCursor) reply()
      else pollWaiters.add(reply)
      req.on('close', () => {
        pollWaiters.delete(reply)
        stop(timeout)
      })
      return
    }
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found: try /sse, /poll, or WebSocket /echo, /ticker, /flood\n')
  })

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (!['/echo', '/ticker', '/flood', '/close'].includes(url.pathname)) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveWs(ws, url))
  })

  const serveWs = (ws: WebSocket, url: URL): void => {
    const q = url.searchParams
    const own: NodeJS.Timeout[] = []
    ws.on('close', () => own.forEach(stop))
    ws.on('error', () => own.forEach(stop))
    // Every endpoint echoes what it receives.
    ws.on('message', (data, isBinary) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary })
    })
    if (url.pathname === '/ticker') {
      const hz = num(q, 'hz', 5, 0.1, 1000)
      let n = 0
      own.push(every(1000 / hz, () => ws.send(tickPayload(++n))))
      own.push(every(5000, () => ws.ping('demo')))
    } else if (url.pathname === '/close') {
      const code = num(q, 'code', 4000, 1000, 4999)
      setTimeout(() => ws.close(code, 'demo close'), num(q, 'after', 500, 0, 60_000)).unref()
    } else if (url.pathname === '/flood') {
      const rate = num(q, 'rate', 10_000, 1, MAX_RATE)
      const size = num(q, 'size', 64, 1, MAX_SIZE)
      const seconds = num(q, 'seconds', 10, 0.1, MAX_SECONDS)
      const started = performance.now()
      let sent = 0
      const pad = 'x'.repeat(Math.max(0, size - 24))
      own.push(
        every(5, () => {
          const elapsed = (performance.now() - started) / 1000
          if (elapsed >= seconds) {
            own.forEach(stop)
            ws.close(1000, `flood done: ${sent} messages`)
            return
          }
          const due = Math.min(Math.floor(elapsed * rate), Math.ceil(seconds * rate))
          // Respect the socket: never queue more than ~8 MB in ws.
          while (sent < due && ws.bufferedAmount < 8 * 1024 * 1024) {
            ws.send(`{"n":${sent}${pad ? `,"p":"${pad}"` : ''}}`)
            sent++
          }
        }),
      )
    }
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port

  const h2 = http2.createServer()
  h2.on('stream', (stream, headers) => {
    const path = String(headers[':path'] ?? '/')
    if (!path.startsWith('/stream')) {
      stream.respond({ ':status': 404 })
      stream.end('not found: try /stream\n')
      return
    }
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' })
    let n = 0
    const t = every(500, () => {
      if (stream.closed || stream.destroyed) return stop(t)
      stream.write(tickPayload(++n) + '\n')
    })
    stream.on('close', () => stop(t))
    stream.on('error', () => stop(t))
  })
  const sessions = new Set<http2.ServerHttp2Session>()
  h2.on('session', (s) => {
    sessions.add(s)
    s.on('close', () => sessions.delete(s))
  })
  h2.on('sessionError', () => {})
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r))
  const h2Port = (h2.address() as AddressInfo).port
  const refusedPort = await freePort()

  const httpUrl = `http://127.0.0.1:${port}`
  const wsUrl = `ws://127.0.0.1:${port}`
  const h2Url = `http://127.0.0.1:${h2Port}`
  const targets: SavedTarget[] = [
    { name: 'Demo: WebSocket echo', demo: true, description: 'Echoes what you send.', spec: { name: 'WebSocket echo', url: `${wsUrl}/echo`, transport: 'ws' } },
    { name: 'Demo: WebSocket ticker', demo: true, description: '5 JSON ticks a second, a ping every 5 s, echoes too.', spec: { name: 'WebSocket ticker', url: `${wsUrl}/ticker?hz=5`, transport: 'ws' } },
    { name: 'Demo: SSE ticker', demo: true, description: 'Server-Sent Events with ids, retry and heartbeats.', spec: { name: 'SSE ticker', url: `${httpUrl}/sse?hz=2`, transport: 'sse' } },
    {
      name: 'Demo: Long-poll',
      demo: true,
      description: 'A cursor-based long-poll endpoint that answers once a second.',
      spec: { name: 'Long-poll', url: `${httpUrl}/poll`, transport: 'poll', poll: { cursorFrom: { json: 'cursor' }, cursorTo: { query: 'cursor' } } },
    },
    { name: 'Demo: HTTP/2 stream', demo: true, description: 'An NDJSON stream over h2c.', spec: { name: 'HTTP/2 stream', url: `${h2Url}/stream`, transport: 'h2', h2: { priorKnowledge: true } } },
    { name: 'Demo: Refused port (fails)', demo: true, description: 'Nothing listens here: see the diagnosis.', spec: { name: 'Refused port', url: `ws://127.0.0.1:${refusedPort}/`, transport: 'ws', reconnect: { enabled: false } } },
  ]

  return {
    httpUrl,
    wsUrl,
    h2Url,
    refusedPort,
    targets,
    async close() {
      for (const t of timers) {
        clearInterval(t)
        clearTimeout(t)
      }
      timers.clear()
      pollWaiters.clear()
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      for (const s of sessions) s.destroy()
      await new Promise<void>((r) => h2.close(() => r()))
    },
  }
}
