/** `wiretrace record <url>`: open one connection, record it, print a live summary on stderr. */
import fs from 'node:fs'
import type { ConnectionSpec, NetworkProfile, PollOptions, ProxyAuth, ProxyServer, ProxyTlsOptions, ReconnectPolicy, SendItem, Transport } from '../../common/spec/index.ts'
import type { WiretraceEvent } from '../../common/events/index.ts'
import { TRANSPORTS } from '../../common/spec/index.ts'
import { WiretraceError, EXIT } from '../../common/errors/index.ts'
import { parseProxyUrl } from '../../common/proxy-url.ts'
import { needsPassword, profileAuth, withPassword, type SavedProfile } from '../../common/protocol/profiles.ts'
import { formatBytes } from '../../common/bytes.ts'
import { Engine } from '../engine/engine.ts'
import { inferTransport } from '../engine/validate.ts'
import { readProxyTlsFiles } from '../hosts/profiles.ts'
import { parseArgs, helpText, type OptionDef } from './args.ts'
import { PROFILE_OPTIONS, findProfile, profilesFile } from './profiles.ts'

/** Where --proxy-user USER (no ":PASS") takes the password from, so it never sits in shell history. */
export const PROXY_PASSWORD_ENV = 'WIRETRACE_PROXY_PASSWORD'
/** The passphrase of an encrypted client key for TLS to an https:// proxy (--proxy-key, or a profile's key). */
export const PROXY_KEY_PASSPHRASE_ENV = 'WIRETRACE_PROXY_KEY_PASSPHRASE'

export const RECORD_OPTIONS: Record<string, OptionDef> = {
  out: { type: 'string', short: 'o', arg: 'FILE', help: 'recording file ("-" = NDJSON on stdout); default wiretrace-<time>.jsonl' },
  transport: { type: 'string', short: 't', arg: 'ws|sse|poll|h2|stream', help: 'transport (ws:// and wss:// imply ws; http(s):// defaults to sse)' },
  header: { type: 'string', short: 'H', arg: '"K: V"', multiple: true, help: 'request header' },
  subprotocol: { type: 'string', arg: 'P', multiple: true, help: 'WebSocket subprotocol to offer' },
  origin: { type: 'string', arg: 'URL', help: 'Origin header for the WebSocket handshake' },
  send: { type: 'string', arg: 'TEXT', multiple: true, help: 'text message sent after open, in order' },
  'send-json': { type: 'string', arg: 'JSON', multiple: true, help: 'JSON message sent after open (validated)' },
  'send-hex': { type: 'string', arg: 'HEX', multiple: true, help: 'binary message from hex' },
  'send-base64': { type: 'string', arg: 'B64', multiple: true, help: 'binary message from base64' },
  'send-file': { type: 'string', arg: 'FILE', multiple: true, help: 'send a file\'s bytes (text if valid UTF-8, else binary)' },
  'ping-interval': { type: 'number', arg: 'MS', help: 'send a ping every MS' },
  'pong-timeout': { type: 'number', arg: 'MS', help: 'declare the connection half-open after MS without a pong (default 2x interval)' },
  deflate: { type: 'boolean', help: 'offer permessage-deflate (default on; --no-deflate turns it off)' },
  'max-payload': { type: 'number', arg: 'BYTES', help: 'largest message accepted (default 100 MiB)' },
  frames: { type: 'boolean', help: 'record every wire frame, not only fragments' },
  ca: { type: 'string', arg: 'FILE', multiple: true, help: 'extra CA certificate (PEM) to trust' },
  insecure: { type: 'boolean', short: 'k', help: 'accept any server certificate (recorded as a warning)' },
  cert: { type: 'string', arg: 'FILE', help: 'client certificate (PEM) or PKCS#12 (.p12/.pfx)' },
  key: { type: 'string', arg: 'FILE', help: 'client private key (PEM)' },
  passphrase: { type: 'string', arg: 'TEXT', help: 'passphrase for the key or PFX' },
  servername: { type: 'string', arg: 'NAME', help: 'TLS SNI server name' },
  duration: { type: 'number', arg: 'S', help: 'stop cleanly after S seconds' },
  'max-messages': { type: 'number', short: 'n', arg: 'N', help: 'stop cleanly after N received messages or events' },
  reconnect: { type: 'boolean', help: 'WebSocket: reconnect with exponential backoff and full jitter (default off). SSE reconnects by default as EventSource does; --reconnect adds backoff with jitter, --no-reconnect turns it off. Not for poll, h2 or stream' },
  'reconnect-max': { type: 'number', arg: 'N', help: 'ws and SSE: reconnect attempts at most (ws default 10, SSE unlimited; 0 = unlimited)' },
  'reconnect-delay': { type: 'number', arg: 'MS', help: 'ws and poll: first reconnect delay, poll: first retry after a failed cycle (default 500; turns ws reconnect on). SSE waits --retry or the server\'s retry: instead' },
  'reconnect-max-delay': { type: 'number', arg: 'MS', help: 'ws, poll and SSE: backoff cap (default 30000; turns ws reconnect and SSE backoff on, as --reconnect does)' },
  'stats-interval': { type: 'number', arg: 'MS', help: 'stats sample interval (default 1000; 0 = off)' },
  flood: { type: 'string', arg: 'N:SIZE', help: 'after open, send N messages of SIZE bytes as fast as allowed' },
  'flood-mode': { type: 'string', arg: 'respect|ignore', help: 'honour bufferedAmount (default) or ignore it' },
  method: { type: 'string', short: 'X', arg: 'METHOD', help: 'HTTP method (SSE, poll, h2, stream)' },
  body: { type: 'string', short: 'd', arg: 'TEXT', help: 'request body (SSE, poll, h2, stream)' },
  'body-file': { type: 'string', arg: 'FILE', help: 'request body from a file' },
  'last-event-id': { type: 'string', arg: 'ID', help: 'SSE: Last-Event-ID for the first request' },
  retry: { type: 'number', arg: 'MS', help: 'SSE: reconnection time when the server sets none (default 3000)' },
  'heartbeat-expect': { type: 'number', arg: 'MS', help: 'SSE: warn when no byte arrives within MS' },
  'cursor-json': { type: 'string', arg: 'PATH', help: 'poll: take the next cursor from this JSON path of the body (with --cursor-header: when that header is missing)' },
  'cursor-header': { type: 'string', arg: 'NAME', help: 'poll: take the next cursor from this response header (with --cursor-json: the header first, else the JSON path)' },
  'cursor-query': { type: 'string', arg: 'NAME', help: 'poll: send the cursor as this query parameter (with --cursor-to-header: in both)' },
  'cursor-to-header': { type: 'string', arg: 'NAME', help: 'poll: send the cursor as this request header (with --cursor-query: in both)' },
  'poll-timeout': { type: 'number', arg: 'MS', help: 'poll: client timeout per request (default 60000)' },
  'poll-delay': { type: 'number', arg: 'MS', help: 'poll: delay between polls (default 0)' },
  'max-cycles': { type: 'number', arg: 'N', help: 'poll: stop after N cycles' },
  'initial-cursor': { type: 'string', arg: 'CURSOR', help: 'poll: cursor for the first request' },
  'poll-concurrency': { type: 'number', arg: 'N', help: 'poll: concurrent poll loops on the connection' },
  'max-errors': { type: 'number', arg: 'N', help: 'poll: give up after N consecutive errors' },
  backoff: { type: 'boolean', help: 'poll: exponential backoff with jitter on errors (default on; --no-backoff turns it off)' },
  concurrency: { type: 'number', arg: 'N', help: 'h2: concurrent copies of the request' },
  path: { type: 'string', arg: 'PATH', multiple: true, help: 'h2: another path requested on the same session' },
  window: { type: 'number', arg: 'BYTES', help: 'h2: stream (and, unless --session-window, session) window size' },
  'session-window': { type: 'number', arg: 'BYTES', help: 'h2: session window size' },
  'frame-size': { type: 'number', arg: 'BYTES', help: 'h2: SETTINGS_MAX_FRAME_SIZE we accept' },
  'h2-timeout': { type: 'number', arg: 'MS', help: 'h2: timeout of every wait (settings, headers, data), default 10000' },
  'prior-knowledge': { type: 'boolean', help: 'h2: h2c with prior knowledge for http:// URLs' },
  'h2-ping': { type: 'number', arg: 'MS', help: 'h2: PING interval for RTT' },
  lines: { type: 'boolean', help: 'stream: split the body into lines (NDJSON)' },
  'max-line': { type: 'number', arg: 'BYTES', help: 'stream: longest line when splitting lines' },
  proxy: { type: 'string', arg: 'URL', help: 'proxy: http://, https://, socks4://, socks4a://, socks5://, socks5h:// (user:pass@ allowed)' },
  pac: { type: 'string', arg: 'FILE|URL', help: 'choose the proxy with a PAC file (FindProxyForURL results tried in order)' },
  'proxy-env': { type: 'boolean', help: 'use HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, ws_proxy, wss_proxy' },
  'proxy-user': {
    type: 'string',
    arg: 'USER[:PASS]',
    help: `credentials for whichever proxy --proxy, --pac, --proxy-env or --profile chooses (a proxy variable's own user:pass@ wins; with --profile it replaces the profile's user and password, its schemes and domain stay); without :PASS the password is read from ${PROXY_PASSWORD_ENV}. For NTLM, DOMAIN\\USER (or DOMAIN/USER) gives the domain; USER@DOMAIN is sent whole as a UPN`,
  },
  'proxy-ca': { type: 'string', arg: 'FILE', multiple: true, help: 'CA to trust for TLS to an https:// proxy (whichever --proxy, --pac, --proxy-env or --profile chooses; with --profile: added to its CAs)' },
  'proxy-insecure': { type: 'boolean', help: 'accept any certificate from an https:// proxy (with --profile: also when the profile checks it)' },
  'proxy-cert': { type: 'string', arg: 'FILE', help: 'client certificate (PEM) for TLS to an https:// proxy (needs --proxy-key; with --profile: replaces its client certificate and key)' },
  'proxy-key': { type: 'string', arg: 'FILE', help: 'client key (PEM) for TLS to an https:// proxy; an encrypted key (this one or a profile\'s) takes its passphrase from WIRETRACE_PROXY_KEY_PASSPHRASE' },
  'no-proxy': {
    type: 'string',
    arg: 'LIST',
    help: 'hosts that bypass the proxy (comma-separated: names, .suffixes, IPs, CIDRs, host:port, *). With --proxy-env it replaces NO_PROXY/no_proxy, as curl --noproxy does; not with --pac (the PAC file returns DIRECT itself)',
  },
  'proxy-mode': { type: 'string', arg: 'connect|forward', help: 'plain ws:// and http:// through an http(s):// --proxy: CONNECT tunnel (default) or absolute-URI forwarding' },
  ...PROFILE_OPTIONS,
  'keep-secrets': { type: 'boolean', help: 'keep Authorization headers and passwords unredacted in the recording' },
  quiet: { type: 'boolean', short: 'q', help: 'no live summary on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}

export const RECORD_HELP = helpText(
  'wiretrace record <url> [options]',
  'Open a WebSocket, SSE, long-poll, HTTP/2 or streamed HTTP connection, directly or through a proxy, and record\n' +
    'everything that happens on it. Exit status: 0 clean, 1 connection, 2 usage, 3 TLS, 4 proxy, 5 recording, 6 handshake.',
  RECORD_OPTIONS,
)

function readFileOption(name: string, file: string): Buffer {
  try {
    return fs.readFileSync(file)
  } catch (e) {
    throw new WiretraceError('WT_FILE_UNREADABLE', `cannot read --${name} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file })
  }
}

function readPem(name: string, file: string): string {
  const text = readFileOption(name, file).toString('utf8')
  if (!text.includes('-----BEGIN')) throw new WiretraceError('WT_TLS_CONFIG', `--${name} ${file} is not a PEM file (no -----BEGIN line)`, { file })
  return text
}

/** Builds the ConnectionSpec from parsed options. Exported for tests. */
export function specFromArgs(url: string, v: Record<string, unknown>): ConnectionSpec {
  const transportOpt = v.transport as string | undefined
  if (transportOpt && !(TRANSPORTS as readonly string[]).includes(transportOpt)) {
    throw new WiretraceError('WT_USAGE', `--transport must be one of ${TRANSPORTS.join(', ')}, got "${transportOpt}"`)
  }
  const transport = (transportOpt as Transport | undefined) ?? inferTransport(url)
  checkTransportFlags(transport, v)
  const spec: ConnectionSpec = { url, transport }
  const headers: Array<[string, string]> = []
  for (const [i, h] of ((v.header as string[] | undefined) ?? []).entries()) {
    const c = h.indexOf(':')
    // Named by position, never echoed: a header given without its colon is often a token.
    if (c < 0) throw new WiretraceError('WT_USAGE', `--header #${i + 1} has no colon: write it as "Name: value" (its text is not repeated here, as it may hold a secret)`)
    if (!h.slice(0, c).trim()) throw new WiretraceError('WT_USAGE', `--header #${i + 1} has an empty name: write it as "Name: value"`)
    headers.push([h.slice(0, c).trim(), h.slice(c + 1).trim()])
  }
  if (headers.length) spec.headers = headers
  if (transport === 'ws') {
    spec.ws = {}
    if (v.subprotocol) spec.ws.subprotocols = v.subprotocol as string[]
    if (v.origin) spec.ws.origin = v.origin as string
    if (v.deflate === false) spec.ws.deflate = false
    if (v['max-payload'] !== undefined) spec.ws.maxPayload = v['max-payload'] as number
    if (v.frames) spec.ws.captureFrames = true
  }
  const send: SendItem[] = []
  for (const t of (v.send as string[] | undefined) ?? []) send.push({ kind: 'text', text: t })
  for (const t of (v['send-json'] as string[] | undefined) ?? []) {
    try {
      JSON.parse(t)
    } catch (e) {
      throw new WiretraceError('WT_USAGE', `--send-json is not valid JSON: ${(e as Error).message}`)
    }
    send.push({ kind: 'json', text: t })
  }
  for (const t of (v['send-hex'] as string[] | undefined) ?? []) {
    const clean = t.replace(/0x/gi, '').replace(/[\s:,-]/g, '')
    if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new WiretraceError('WT_USAGE', `--send-hex "${t}" is not hex`)
    send.push({ kind: 'binary', base64: Buffer.from(clean, 'hex').toString('base64') })
  }
  for (const t of (v['send-base64'] as string[] | undefined) ?? []) send.push({ kind: 'binary', base64: t })
  for (const f of (v['send-file'] as string[] | undefined) ?? []) {
    const b = readFileOption('send-file', f)
    const text = new TextDecoder('utf-8', { fatal: false }).decode(b)
    send.push(Buffer.from(text, 'utf8').equals(b) ? { kind: 'text', text } : { kind: 'binary', base64: b.toString('base64') })
  }
  if (send.length) spec.send = send
  if (v['ping-interval'] !== undefined) {
    const iv = v['ping-interval'] as number
    spec.heartbeat = { intervalMs: iv, timeoutMs: (v['pong-timeout'] as number | undefined) ?? iv * 2 }
  } else if (v['pong-timeout'] !== undefined) throw new WiretraceError('WT_USAGE', '--pong-timeout needs --ping-interval')
  const tlsOpts: NonNullable<ConnectionSpec['tls']> = {}
  if (v.ca) {
    tlsOpts.caFiles = v.ca as string[]
    tlsOpts.ca = (v.ca as string[]).map((f) => readPem('ca', f))
  }
  if (v.insecure) tlsOpts.insecure = true
  if (v.cert) {
    const f = v.cert as string
    if (/\.(p12|pfx)$/i.test(f)) tlsOpts.pfx = readFileOption('cert', f).toString('base64')
    else tlsOpts.cert = readPem('cert', f)
  }
  if (v.key) tlsOpts.key = readPem('key', v.key as string)
  if (tlsOpts.cert && !tlsOpts.key) throw new WiretraceError('WT_USAGE', '--cert (PEM) needs --key')
  if (v.passphrase) tlsOpts.passphrase = v.passphrase as string
  if (v.servername) tlsOpts.servername = v.servername as string
  if (Object.keys(tlsOpts).length) spec.tls = tlsOpts
  if (v.duration !== undefined) spec.durationMs = Math.round((v.duration as number) * 1000)
  if (v['max-messages'] !== undefined) spec.maxMessages = v['max-messages'] as number
  if (v['stats-interval'] !== undefined) spec.statsIntervalMs = v['stats-interval'] as number
  const reconnect = reconnectFromArgs(transport, v)
  if (reconnect) spec.reconnect = reconnect
  if (v.method) spec.method = (v.method as string).toUpperCase()
  if (v.body !== undefined) spec.body = { text: v.body as string }
  if (v['body-file']) spec.body = { base64: readFileOption('body-file', v['body-file'] as string).toString('base64') }
  if (transport === 'sse') {
    spec.sse = {}
    if (v.reconnect === false) spec.sse.reconnect = false
    if (v['last-event-id'] !== undefined) spec.sse.lastEventId = v['last-event-id'] as string
    if (v.retry !== undefined) spec.sse.retryMs = v.retry as number
    if (v['heartbeat-expect'] !== undefined) spec.sse.expectHeartbeatMs = v['heartbeat-expect'] as number
    // The backoff cap asks for backoff, as --reconnect does.
    if (v.reconnect === true || v['reconnect-max-delay'] !== undefined) spec.sse.backoff = true
  }
  if (transport === 'poll') {
    spec.poll = {}
    // Both sources may be given (the header first, the JSON path when it is missing), and both targets.
    const from: NonNullable<PollOptions['cursorFrom']> = {}
    if (v['cursor-json']) from.json = v['cursor-json'] as string
    if (v['cursor-header']) from.header = v['cursor-header'] as string
    if (from.json !== undefined || from.header !== undefined) spec.poll.cursorFrom = from
    const to: NonNullable<PollOptions['cursorTo']> = {}
    if (v['cursor-query']) to.query = v['cursor-query'] as string
    if (v['cursor-to-header']) to.header = v['cursor-to-header'] as string
    if (to.query !== undefined || to.header !== undefined) spec.poll.cursorTo = to
    if (v['poll-timeout'] !== undefined) spec.poll.timeoutMs = v['poll-timeout'] as number
    if (v['poll-delay'] !== undefined) spec.poll.delayMs = v['poll-delay'] as number
    if (v['max-cycles'] !== undefined) spec.poll.maxCycles = v['max-cycles'] as number
    if (v['initial-cursor'] !== undefined) spec.poll.initialCursor = v['initial-cursor'] as string
    if (v['poll-concurrency'] !== undefined) spec.poll.concurrency = v['poll-concurrency'] as number
    if (v['max-errors'] !== undefined) spec.poll.maxConsecutiveErrors = v['max-errors'] as number
    if (v.backoff === false) spec.poll.backoff = false
  }
  if (transport === 'h2') {
    spec.h2 = {}
    if (v.concurrency !== undefined) spec.h2.concurrency = v.concurrency as number
    if (v.path) spec.h2.paths = v.path as string[]
    if (v.window !== undefined) {
      spec.h2.initialWindowSize = v.window as number
      spec.h2.sessionWindowSize = v.window as number
    }
    if (v['session-window'] !== undefined) spec.h2.sessionWindowSize = v['session-window'] as number
    if (v['frame-size'] !== undefined) spec.h2.maxFrameSize = v['frame-size'] as number
    if (v['h2-timeout'] !== undefined) spec.h2.timeoutMs = v['h2-timeout'] as number
    if (v['prior-knowledge']) spec.h2.priorKnowledge = true
    if (v['h2-ping'] !== undefined) spec.h2.pingIntervalMs = v['h2-ping'] as number
  }
  if (transport === 'stream' && (v.lines || v['max-line'] !== undefined)) {
    spec.stream = { lines: v.lines === true }
    if (v['max-line'] !== undefined) spec.stream.maxLineBytes = v['max-line'] as number
  }
  spec.network = networkFromArgs(v)
  if (v['keep-secrets']) spec.keepSecrets = true
  return spec
}

/** Flags that belong to some transports only (the reconnect flags: reconnectFromArgs). */
const FLAG_TRANSPORTS: Record<string, readonly Transport[]> = {
  ...Object.fromEntries(
    ['subprotocol', 'origin', 'send', 'send-json', 'send-hex', 'send-base64', 'send-file', 'ping-interval', 'pong-timeout', 'deflate', 'max-payload', 'frames', 'flood', 'flood-mode'].map((k) => [k, ['ws'] as const]),
  ),
  ...Object.fromEntries(['method', 'body', 'body-file'].map((k) => [k, ['sse', 'poll', 'h2', 'stream'] as const])),
  ...Object.fromEntries(['last-event-id', 'retry', 'heartbeat-expect'].map((k) => [k, ['sse'] as const])),
  ...Object.fromEntries(
    ['cursor-json', 'cursor-header', 'cursor-query', 'cursor-to-header', 'poll-timeout', 'poll-delay', 'max-cycles', 'initial-cursor', 'poll-concurrency', 'max-errors', 'backoff'].map((k) => [k, ['poll'] as const]),
  ),
  ...Object.fromEntries(['concurrency', 'path', 'window', 'session-window', 'frame-size', 'h2-timeout', 'prior-knowledge', 'h2-ping'].map((k) => [k, ['h2'] as const])),
  ...Object.fromEntries(['lines', 'max-line'].map((k) => [k, ['stream'] as const])),
}

/** A flag of another transport is refused, naming it and where it applies, rather than dropped. */
function checkTransportFlags(transport: Transport, v: Record<string, unknown>): void {
  for (const [k, where] of Object.entries(FLAG_TRANSPORTS)) {
    if (v[k] === undefined || where.includes(transport)) continue
    const flag = v[k] === false ? `--no-${k}` : `--${k}`
    const list = where.length > 1 ? `${where.slice(0, -1).join(', ')} or ${where[where.length - 1]}` : where[0]
    throw new WiretraceError('WT_USAGE', `${flag} is for ${list}, not ${transport}`)
  }
}

/**
 * The reconnect flags for the chosen transport; one that cannot apply is refused, naming it.
 * - ws: all of them; a setting (attempts, delay, cap) turns reconnect on, as --reconnect does;
 * - sse: --no-reconnect, --reconnect-max (unlimited by default), --reconnect-max-delay (the backoff
 *   cap, which turns backoff on). The first wait is the server's retry: or --retry, so
 *   --reconnect-delay is refused;
 * - poll: --reconnect-delay and --reconnect-max-delay bound the backoff after failed cycles; it
 *   always retries until --max-errors, so --reconnect, --no-reconnect and --reconnect-max are refused;
 * - h2, stream: one request, never reconnected: every reconnect flag is refused.
 */
function reconnectFromArgs(transport: Transport, v: Record<string, unknown>): Partial<ReconnectPolicy> | undefined {
  const toggle = v.reconnect === true ? '--reconnect' : v.reconnect === false ? '--no-reconnect' : undefined
  const settings = ['reconnect-max', 'reconnect-delay', 'reconnect-max-delay'].filter((k) => v[k] !== undefined).map((k) => `--${k}`)
  if (transport === 'h2' || transport === 'stream') {
    // --no-reconnect says what they do anyway (scripts may pass it to every transport).
    const first = (v.reconnect === true ? '--reconnect' : undefined) ?? settings[0]
    if (first) throw new WiretraceError('WT_USAGE', `${first} does not apply to ${transport}: ${transport === 'h2' ? 'an HTTP/2 recording' : 'a raw stream'} is one request, never reconnected`)
    return undefined
  }
  if (transport === 'poll') {
    const first = toggle ?? (v['reconnect-max'] !== undefined ? '--reconnect-max' : undefined)
    if (first) {
      throw new WiretraceError(
        'WT_USAGE',
        `${first} does not apply to poll: a failed cycle is always retried, after a backoff bounded by --reconnect-delay and --reconnect-max-delay; --max-errors N gives up after N failed cycles in a row`,
      )
    }
    if (!settings.length) return undefined
    const r: Partial<ReconnectPolicy> = {}
    if (v['reconnect-delay'] !== undefined) r.initialDelayMs = v['reconnect-delay'] as number
    if (v['reconnect-max-delay'] !== undefined) r.maxDelayMs = v['reconnect-max-delay'] as number
    return r
  }
  if (transport === 'sse' && v['reconnect-delay'] !== undefined) {
    throw new WiretraceError(
      'WT_USAGE',
      '--reconnect-delay does not apply to sse: the first reconnect waits the server\'s retry: or --retry MS (default 3000); backoff (--reconnect) grows from there up to --reconnect-max-delay',
    )
  }
  if (v.reconnect === false && settings.length) throw new WiretraceError('WT_USAGE', `${settings[0]} does nothing with --no-reconnect: drop one of them`)
  if (!toggle && !settings.length) return undefined
  const r: Partial<ReconnectPolicy> = { enabled: v.reconnect !== false }
  if (v['reconnect-max'] !== undefined) r.maxAttempts = v['reconnect-max'] as number
  if (v['reconnect-delay'] !== undefined) r.initialDelayMs = v['reconnect-delay'] as number
  if (v['reconnect-max-delay'] !== undefined) r.maxDelayMs = v['reconnect-max-delay'] as number
  return r
}

/** Proxy variables --proxy-env snapshots from the environment (the rest of it stays out of the spec). */
const PROXY_ENV_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'ws_proxy', 'wss_proxy', 'WS_PROXY', 'WSS_PROXY']

const given = (v: Record<string, unknown>, k: string): boolean => v[k] !== undefined && v[k] !== false

/** --proxy-user USER[:PASS]: split at the first colon; without one the password comes from the environment. */
function proxyUser(raw: string): ProxyAuth {
  const c = raw.indexOf(':')
  const username = c < 0 ? raw : raw.slice(0, c)
  if (!username) throw new WiretraceError('WT_USAGE', '--proxy-user needs a user name (USER:PASS, DOMAIN\\USER:PASS or USER@DOMAIN:PASS)')
  if (c >= 0) return { username, password: raw.slice(c + 1) }
  const password = process.env[PROXY_PASSWORD_ENV]
  if (password === undefined) {
    throw new WiretraceError('WT_USAGE', `--proxy-user ${username} has no password: give USER:PASS, or set ${PROXY_PASSWORD_ENV} (kept out of shell history)`)
  }
  return { username, password }
}

/** The --proxy URL, with errors that name the flag. */
function proxyFromFlag(text: string): ProxyServer {
  try {
    return parseProxyUrl(text)
  } catch (e) {
    if (e instanceof WiretraceError) throw new WiretraceError(e.code, `${e.message} (in --proxy)`, e.detail)
    throw e
  }
}

/**
 * The connection's network from the proxy flags or a saved profile (exported for tests). Flags
 * that cannot apply to the chosen way of finding the proxy are rejected, never silently dropped.
 * An encrypted client key for TLS to the proxy with no passphrase of its own (`--proxy-key`, or a
 * profile that did not remember it) takes it from WIRETRACE_PROXY_KEY_PASSPHRASE; without one it
 * is refused here, naming the variable, rather than failing later inside the TLS handshake.
 */
export function networkFromArgs(v: Record<string, unknown>): NetworkProfile | undefined {
  const n = networkFromFlags(v)
  if (!n || n.mode === 'direct' || !n.proxyTls?.key) return n
  const t = n.proxyTls
  if (t.passphrase !== undefined) return n
  const pass = process.env[PROXY_KEY_PASSPHRASE_ENV]
  if (pass) return { ...n, proxyTls: { ...t, passphrase: pass } }
  if (isEncryptedPem(t.key!)) {
    const where = given(v, 'proxy-key') ? `--proxy-key ${v['proxy-key'] as string}` : `profile "${n.name ?? ''}"`
    throw new WiretraceError('WT_USAGE', `the client key for TLS to the proxy (${where}) is encrypted and no passphrase was given: set ${PROXY_KEY_PASSPHRASE_ENV} (kept out of shell history)`)
  }
  return n
}

/** A PEM private key that needs a passphrase (PKCS#8 "ENCRYPTED PRIVATE KEY", or a traditional one with Proc-Type 4,ENCRYPTED). */
function isEncryptedPem(pem: string): boolean {
  return pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(pem)
}

function networkFromFlags(v: Record<string, unknown>): NetworkProfile | undefined {
  if (given(v, 'profile')) {
    const file = profilesFile(v)
    return networkFromProfile(findProfile(file, v.profile as string), v)
  }
  if (given(v, 'profiles')) throw new WiretraceError('WT_USAGE', '--profiles needs --profile NAME (run "wiretrace profiles" to list them)')
  const chosen = ['proxy', 'pac', 'proxy-env'].filter((k) => given(v, k))
  if (chosen.length > 1) throw new WiretraceError('WT_USAGE', `choose one of --proxy, --pac, --proxy-env (got ${chosen.map((c) => `--${c}`).join(' and ')})`)
  const via = chosen[0]
  const tlsFlags = ['proxy-ca', 'proxy-insecure', 'proxy-cert', 'proxy-key'].filter((k) => given(v, k))
  if (!via) {
    if (given(v, 'no-proxy')) throw new WiretraceError('WT_USAGE', '--no-proxy needs --proxy or --proxy-env (it lists the hosts that bypass that proxy)')
    if (given(v, 'proxy-user')) throw new WiretraceError('WT_USAGE', '--proxy-user needs --proxy, --pac or --proxy-env (the credentials go to whichever proxy they choose)')
    if (given(v, 'proxy-mode')) throw new WiretraceError('WT_USAGE', '--proxy-mode needs --proxy')
    if (tlsFlags.length) throw new WiretraceError('WT_USAGE', `--${tlsFlags[0]} needs --proxy, --pac or --proxy-env (it configures TLS to an https:// proxy they choose)`)
    return undefined
  }
  if (via !== 'proxy' && given(v, 'proxy-mode')) {
    throw new WiretraceError('WT_USAGE', `--proxy-mode applies to a proxy given with --proxy, not to one chosen by --${via}`)
  }
  const auth = given(v, 'proxy-user') ? proxyUser(v['proxy-user'] as string) : undefined
  const proxyTls = proxyTlsFromArgs(v)
  if (via === 'proxy') {
    const proxy = proxyFromFlag(v.proxy as string)
    if (auth) {
      if (proxy.auth) throw new WiretraceError('WT_USAGE', 'credentials given twice: put them in the --proxy URL (user:pass@) or in --proxy-user, not both')
      proxy.auth = auth
    }
    const mode = v['proxy-mode'] as string | undefined
    if (mode !== undefined && mode !== 'connect' && mode !== 'forward') throw new WiretraceError('WT_USAGE', `--proxy-mode must be connect or forward, got "${mode}"`)
    if (mode && proxy.kind !== 'http' && proxy.kind !== 'https') {
      throw new WiretraceError('WT_USAGE', `--proxy-mode needs an http:// or https:// proxy (a ${proxy.kind} proxy always tunnels)`)
    }
    const profile: NetworkProfile = { mode: 'manual', proxy }
    if (mode) profile.httpMode = mode as 'connect' | 'forward'
    if (given(v, 'no-proxy')) profile.noProxy = v['no-proxy'] as string
    if (proxyTls) profile.proxyTls = proxyTls
    return profile
  }
  if (via === 'pac') {
    if (given(v, 'no-proxy')) {
      throw new WiretraceError('WT_USAGE', '--no-proxy does not apply to --pac: the PAC file decides which hosts go DIRECT (return "DIRECT" for them from FindProxyForURL)')
    }
    const src = v.pac as string
    const profile: NetworkProfile = /^https?:\/\//i.test(src) ? { mode: 'pac', pacUrl: src } : { mode: 'pac', pacFile: src, pacScript: readFileOption('pac', src).toString('utf8') }
    if (auth) profile.auth = auth
    if (proxyTls) profile.proxyTls = proxyTls
    return profile
  }
  const env: Record<string, string> = {}
  for (const k of PROXY_ENV_VARS) {
    const val = process.env[k]
    if (val) env[k] = val
  }
  // As curl's --noproxy: the list replaces the variables' own (both spellings, since no_proxy wins over NO_PROXY).
  if (given(v, 'no-proxy')) env.no_proxy = env.NO_PROXY = v['no-proxy'] as string
  const profile: NetworkProfile = { mode: 'env', env }
  if (auth) profile.auth = auth
  if (proxyTls) profile.proxyTls = proxyTls
  return profile
}

type ViaProxy = Exclude<NetworkProfile, { mode: 'direct' }>

/** The flags a saved profile already answers (how to find the proxy): refused with --profile. */
const ROUTE_FLAGS = ['proxy', 'pac', 'proxy-env', 'proxy-mode', 'no-proxy']

/**
 * A saved profile (`--profile`) as the connection's network, named as the app names it. Its
 * proxy CA, certificate and key files, and its origin CA files (originTls), are read as the
 * app's host reads them. --proxy-user
 * replaces its credentials; a password it did not keep comes from WIRETRACE_PROXY_PASSWORD.
 * --proxy-ca adds CAs, --proxy-insecure turns the proxy certificate check off, and
 * --proxy-cert/--proxy-key replace its client certificate.
 */
function networkFromProfile(saved: SavedProfile, v: Record<string, unknown>): NetworkProfile {
  const name = saved.name
  const clash = ROUTE_FLAGS.filter((k) => given(v, k))
  if (clash.length) {
    throw new WiretraceError('WT_USAGE', `--profile ${name} already says how to reach the network: drop ${clash.map((k) => `--${k}`).join(', ')}, or drop --profile and give the proxy with flags`)
  }
  const base: NetworkProfile = { ...saved.network, name }
  const extra = ['proxy-user', 'proxy-ca', 'proxy-insecure', 'proxy-cert', 'proxy-key'].filter((k) => given(v, k))
  if (base.mode === 'direct') {
    if (extra.length) throw new WiretraceError('WT_USAGE', `--${extra[0]} does not apply to profile "${name}": it goes direct, with no proxy`)
    return readProfileFiles(base, name)
  }
  let n: ViaProxy = base
  if (given(v, 'proxy-user')) {
    if (n.mode === 'system') throw new WiretraceError('WT_USAGE', `--proxy-user does not apply to profile "${name}": the system proxy takes no credentials here`)
    const a = proxyUser(v['proxy-user'] as string)
    const auth = { ...profileAuth(n), username: a.username, password: a.password }
    n = n.mode === 'manual' ? { ...n, proxy: { ...n.proxy, auth } } : { ...n, auth }
  } else if (needsPassword(n)) {
    const password = process.env[PROXY_PASSWORD_ENV]
    const user = profileAuth(n)!.username
    if (password === undefined) {
      throw new WiretraceError(
        'WT_USAGE',
        `profile "${name}" did not keep its password (Remember password was off) for ${user}: set ${PROXY_PASSWORD_ENV} (kept out of shell history) or give --proxy-user ${user}:PASS`,
      )
    }
    n = withPassword(n, password) as ViaProxy
  }
  const flags = proxyTlsFromArgs(v)
  const own = n.proxyTls
  if (flags?.cert && own) {
    // Replaced: the profile's certificate and key files are not read, and its passphrase was theirs.
    const t = { ...own }
    delete t.certFile
    delete t.keyFile
    delete t.passphrase
    n = { ...n, proxyTls: t }
  }
  n = readProfileFiles(n, name) as ViaProxy
  if (flags) {
    const t = { ...n.proxyTls }
    if (flags.ca) t.ca = [...(t.ca ?? []), ...flags.ca]
    if (flags.insecure) t.insecure = true
    if (flags.cert) {
      t.cert = flags.cert
      t.key = flags.key
    }
    n = { ...n, proxyTls: t }
  }
  return n
}

/** The profile's proxy and origin TLS files, read as the app's host reads them; an error names the profile. */
function readProfileFiles(n: NetworkProfile, name: string): NetworkProfile {
  try {
    return readProxyTlsFiles(n)
  } catch (e) {
    if (e instanceof WiretraceError) throw new WiretraceError(e.code, `profile "${name}": ${e.message}`, e.detail)
    throw e
  }
}

/** TLS to an https:// proxy, whichever of --proxy, --pac, --proxy-env or --profile chose it. */
function proxyTlsFromArgs(v: Record<string, unknown>): ProxyTlsOptions | undefined {
  if (v['proxy-key'] && !v['proxy-cert']) throw new WiretraceError('WT_USAGE', '--proxy-key needs --proxy-cert')
  if (v['proxy-cert'] && !v['proxy-key']) throw new WiretraceError('WT_USAGE', '--proxy-cert needs --proxy-key')
  if (!v['proxy-ca'] && !v['proxy-insecure'] && !v['proxy-cert']) return undefined
  const t: ProxyTlsOptions = {}
  if (v['proxy-ca']) t.ca = (v['proxy-ca'] as string[]).map((f) => readPem('proxy-ca', f))
  if (v['proxy-insecure']) t.insecure = true
  if (v['proxy-cert']) {
    t.cert = readPem('proxy-cert', v['proxy-cert'] as string)
    t.key = readPem('proxy-key', v['proxy-key'] as string)
  }
  return t
}

function defaultOut(): string {
  return `wiretrace-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.jsonl`
}

export async function recordCommand(argv: string[], io: { stderr: NodeJS.WritableStream; stdout: NodeJS.WritableStream }): Promise<number> {
  const { positionals, values } = parseArgs(argv, RECORD_OPTIONS)
  if (values.help) {
    io.stdout.write(RECORD_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 1) throw new WiretraceError('WT_USAGE', positionals.length ? `record takes one URL, got ${positionals.length}: ${positionals.join(' ')}` : 'record needs a URL (wiretrace record ws://host/path)')
  const spec = specFromArgs(positionals[0]!, values)
  const out = (values.out as string | undefined) ?? defaultOut()
  const quiet = values.quiet === true
  const engine = new Engine({ host: 'cli' })
  const live = new LiveLine(io.stderr, quiet)
  engine.onEvent((ev) => live.onEvent(ev))
  const conn = engine.open(spec, { recordingPath: out })
  let floodStarted = false
  if (values.flood) {
    const m = /^(\d+):(\d+)$/.exec(values.flood as string)
    if (!m) throw new WiretraceError('WT_USAGE', `--flood needs N:SIZE, got "${values.flood}"`)
    const mode = (values['flood-mode'] as string | undefined) ?? 'respect'
    if (mode !== 'respect' && mode !== 'ignore') throw new WiretraceError('WT_USAGE', '--flood-mode must be respect or ignore')
    engine.onEvent((ev) => {
      if (ev.type === 'open' && !floodStarted) {
        floodStarted = true
        conn
          .flood({ count: Number(m[1]), size: Number(m[2]), mode })
          .then(() => {
            if (spec.maxMessages === undefined && spec.durationMs === undefined) conn.close(1000, 'flood done')
          })
          .catch(() => undefined)
      }
    })
  }
  let interrupted = 0
  const onSigint = (): void => {
    interrupted++
    if (interrupted === 1) {
      io.stderr.write('\nclosing (Ctrl-C again to abort)\n')
      conn.close(1000, 'interrupted')
    } else conn.stop('interrupted twice')
  }
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigint)
  const end = await conn.done
  process.removeListener('SIGINT', onSigint)
  process.removeListener('SIGTERM', onSigint)
  live.final(end, out)
  return end.exitCode
}

/** Human summary on stderr: one status line per stats sample, errors and diagnoses as they happen. */
class LiveLine {
  private readonly out: NodeJS.WritableStream
  private readonly quiet: boolean
  private readonly tty: boolean
  private lastRtt: number | null = null
  private rtts: number[] = []
  private lastError: { code: string; message: string } | null = null
  private lastDiagnosis: string | null = null
  private closeLine = ''
  constructor(out: NodeJS.WritableStream, quiet: boolean) {
    this.out = out
    this.quiet = quiet
    this.tty = (out as NodeJS.WriteStream).isTTY === true
  }
  private line(text: string): void {
    if (this.quiet) return
    this.out.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`)
  }
  onEvent(ev: WiretraceEvent): void {
    switch (ev.type) {
      case 'open':
        this.line(`open in ${ev.durationMs.toFixed(1)} ms${ev.protocol ? ` protocol=${ev.protocol}` : ''}${ev.extensions ? ` extensions=${ev.extensions}` : ''}`)
        break
      case 'tls':
        this.line(`tls ${ev.hop}: ${ev.protocol ?? '?'} ${ev.cipher ?? ''} alpn=${ev.alpn ?? '-'} issuer: ${ev.chain[0]?.issuer ?? '?'}${ev.authorized ? '' : ` (NOT trusted: ${ev.authorizationError})`}`)
        break
      case 'proxy.connect':
        this.line(`proxy ${ev.proxy}: ${ev.requestLine} -> ${ev.statusLine}`)
        break
      case 'ws.pong':
        if (ev.rttMs !== undefined) {
          this.lastRtt = ev.rttMs
          if (this.rtts.length < 10_000) this.rtts.push(ev.rttMs)
        }
        break
      case 'conn.state':
        if (ev.state === 'reconnecting') this.line(`reconnecting in ${ev.delayMs} ms (attempt ${ev.attempt + 1}): ${ev.reason ?? ''}`)
        break
      case 'error':
        this.lastError = { code: ev.code, message: ev.message }
        this.line(`error ${ev.code}: ${ev.message}`)
        break
      case 'diagnosis':
        this.lastDiagnosis = `${ev.code}: ${ev.title}`
        this.line(`diagnosis ${ev.code}: ${ev.title}. ${ev.explanation}`)
        break
      case 'ws.close':
        if (ev.dir !== 'out') this.closeLine = `closed ${ev.code} (${ev.meaning})${ev.reason ? ` "${ev.reason}"` : ''} by ${ev.initiator}`
        break
      case 'stats':
        if (!this.quiet) {
          const text =
            `in ${ev.msgsIn} msgs ${formatBytes(ev.bytesIn)} (${ev.msgRateIn}/s, ${formatBytes(ev.rateIn)}/s)  ` +
            `out ${ev.msgsOut} msgs ${formatBytes(ev.bytesOut)}` +
            (this.lastRtt !== null ? `  rtt ${this.lastRtt.toFixed(2)} ms` : '') +
            (ev.bufferedAmount ? `  buffered ${formatBytes(ev.bufferedAmount)}` : '')
          this.out.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`)
        }
        break
      default:
        break
    }
  }
  final(end: WiretraceEvent & { type: 'end' }, out: string): void {
    if (this.tty && !this.quiet) this.out.write('\r\x1b[K')
    const rtt = this.rtts.length
      ? `, rtt min/avg/max ${Math.min(...this.rtts).toFixed(2)}/${(this.rtts.reduce((a, b) => a + b, 0) / this.rtts.length).toFixed(2)}/${Math.max(...this.rtts).toFixed(2)} ms`
      : ''
    const summary =
      `${end.exitCode === 0 ? 'done' : 'failed'}: ${end.msgsIn} in (${formatBytes(end.bytesIn)}), ${end.msgsOut} out (${formatBytes(end.bytesOut)}) ` +
      `in ${(end.durationMs / 1000).toFixed(2)} s, ${end.attempts} attempt${end.attempts === 1 ? '' : 's'}${rtt}` +
      (this.closeLine ? `; ${this.closeLine}` : '') +
      (out !== '-' ? `; recording: ${out}` : '')
    if (!this.quiet || end.exitCode !== 0) this.out.write(summary + '\n')
    if (end.exitCode !== 0) {
      const diag = this.lastDiagnosis ?? (this.lastError ? `${this.lastError.code}: ${this.lastError.message}` : end.reason)
      this.out.write(`wiretrace: ${diag}\n`)
    }
  }
}
