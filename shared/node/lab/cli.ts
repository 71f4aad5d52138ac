/**
 * `wiretrace lab`: starts the proxy lab in the foreground and prints what it does to each
 * connection until interrupted. shared/node/cli/lab.ts re-exports `run`.
 */
import { WiretraceError } from '../../common/errors/index.ts'
import { parseArgs, helpText, type OptionDef } from '../cli/args.ts'
import { runLab, formatLabLog, LAB_HEAD_TIMEOUT_MS, type LabOptions } from './index.ts'

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }

const DEFS: Record<string, OptionDef> = {
  port: { type: 'number', arg: 'N', help: 'listen on 127.0.0.1:N (default: a free port)' },
  auth: { type: 'string', arg: 'USER:PASS', help: 'require Basic proxy authentication (407 otherwise)' },
  'connect-ports': { type: 'string', arg: 'LIST', help: 'allow CONNECT only to these ports, e.g. 443 (403 otherwise)' },
  'strip-upgrade': { type: 'boolean', help: 'remove Upgrade/Connection from forwarded (absolute-URI) requests' },
  'idle-cut': { type: 'number', arg: 'SECONDS', help: 'cut connections silent for this long (no close frame)' },
  lifetime: { type: 'number', arg: 'SECONDS', help: 'cut every connection after this long' },
  buffer: { type: 'number', arg: 'KB', help: 'hold responses until this many KB or the end (breaks SSE)' },
  latency: { type: 'number', arg: 'MS', help: 'delay every chunk, both ways' },
  bandwidth: { type: 'number', arg: 'KBPS', help: 'limit each direction to this many KB/s' },
  'reset-after': { type: 'number', arg: 'BYTES', help: 'send a TCP reset after this many downstream bytes' },
  intercept: { type: 'boolean', help: 'intercept TLS with a generated CA (written out; trust it only for tests)' },
  'drop-h2': { type: 'boolean', help: 'when intercepting, never negotiate HTTP/2 (ALPN http/1.1 only)' },
  'upstream-timeout': { type: 'number', arg: 'SECONDS', help: 'forward mode: an origin silent this long gets 504 Gateway Timeout (X-Lab-Error: upstream timeout); once it has started answering, the connection is cut' },
  'head-timeout': { type: 'number', arg: 'SECONDS', help: 'disconnect a client that has not sent a whole request head or SOCKS handshake within this long (default 30)' },
  'ca-dir': { type: 'string', arg: 'DIR', help: 'where to write the interception CA (ca.pem, ca.key)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}

export const LAB_HELP = helpText(
  'wiretrace lab [options]',
  'A local misbehaving proxy that reproduces what corporate proxies do to long-lived connections. Point Wiretrace (--proxy http://127.0.0.1:PORT) or your own app at it.\n' +
    'One port speaks HTTP CONNECT, absolute-URI forwarding (--proxy-mode forward) and SOCKS4/4a/5. Like a real proxy, its own answers, CONNECT answers and forwarded responses carry ' +
    '"Via: 1.1 wiretrace-lab"; in forward mode an origin that closes or resets without answering gets 502 Bad Gateway with X-Lab-Error naming why (errno or "origin closed").\n' +
    'Forward mode takes one request per connection: it answers "Connection: close" (and asks the origin the same), so a keep-alive client reconnects and every request is checked, forwarded and logged; a pipelined request is dropped (logged), never forwarded. WebSocket upgrades keep their Connection header.\n' +
    `A request head with a bare CR or LF or a control character is refused (400), never forwarded; a client that sends no whole request within --head-timeout (${LAB_HEAD_TIMEOUT_MS / 1000} s by default) is disconnected.\n` +
    'What it does to each connection is printed here; it never logs passwords, token query parameters or a Proxy-Authorization value beyond its scheme, and shows control characters a client sent as \\xHH.',
  DEFS,
)

export function labOptions(argv: string[]): LabOptions | null {
  const { values: v, positionals } = parseArgs(argv, DEFS)
  if (v.help) return null
  if (positionals.length) throw new WiretraceError('WT_USAGE', `unexpected argument "${positionals[0]}"`)
  const o: LabOptions = {}
  const num = (k: string): number | undefined => (typeof v[k] === 'number' ? (v[k] as number) : undefined)
  if (num('port') !== undefined) o.port = num('port')
  if (typeof v.auth === 'string') {
    const i = v.auth.indexOf(':')
    if (i <= 0) throw new WiretraceError('WT_USAGE', '--auth must be USER:PASS')
    o.basicAuth = { user: v.auth.slice(0, i), pass: v.auth.slice(i + 1) }
  }
  if (typeof v['connect-ports'] === 'string') {
    const ports = v['connect-ports'].split(',').map((p) => Number(p.trim()))
    if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new WiretraceError('WT_USAGE', `--connect-ports must be a comma-separated list of ports, got "${v['connect-ports']}"`)
    o.connectPorts = ports
  }
  if (v['strip-upgrade']) o.stripUpgrade = true
  if (num('idle-cut') !== undefined) o.idleCutMs = num('idle-cut')! * 1000
  if (num('lifetime') !== undefined) o.lifetimeMs = num('lifetime')! * 1000
  if (num('buffer') !== undefined) o.bufferBytes = num('buffer')! * 1024
  if (num('latency') !== undefined) o.latencyMs = num('latency')
  if (num('bandwidth') !== undefined) o.bandwidthBps = num('bandwidth')! * 1024
  if (num('reset-after') !== undefined) o.resetAfterBytes = num('reset-after')
  if (v.intercept) o.interceptTls = true
  if (v['drop-h2']) o.dropAlpnH2 = true
  if (num('upstream-timeout') !== undefined) o.upstreamTimeoutMs = num('upstream-timeout')! * 1000
  if (num('head-timeout') !== undefined) {
    if (!(num('head-timeout')! > 0)) throw new WiretraceError('WT_USAGE', '--head-timeout must be a number of seconds above 0')
    o.headTimeoutMs = num('head-timeout')! * 1000
  }
  if (typeof v['ca-dir'] === 'string') o.caDir = v['ca-dir']
  return o
}

/** Runs until SIGINT/SIGTERM (or the signal given, for tests). */
export async function run(argv: string[], io: Io, stop?: AbortSignal): Promise<number> {
  const o = labOptions(argv)
  if (!o) {
    io.stdout.write(LAB_HELP)
    return 0
  }
  const lab = await runLab({ ...o, onLog: (e) => io.stdout.write(`${formatLabLog(e)}\n`) })
  const on = Object.entries(lab.behaviours).filter(([k, val]) => val !== undefined && val !== false && !['port', 'caDir', 'onLog', 'headTimeoutMs'].includes(k))
  io.stdout.write(`wiretrace lab listening on ${lab.url}\n`)
  io.stdout.write(`behaviours: ${on.length ? on.map(([k, val]) => `${k}=${k === 'basicAuth' ? 'on' : JSON.stringify(val)}`).join(' ') : 'none (a well-behaved proxy)'}\n`)
  io.stdout.write(`interception CA: ${lab.caCertPath} (trust it only to test; it can sign any host)\n`)
  io.stdout.write(`try: wiretrace record ws://127.0.0.1:PORT/ --proxy ${lab.url}\n`)
  await new Promise<void>((resolve) => {
    const done = (): void => resolve()
    if (stop) stop.addEventListener('abort', done, { once: true })
    else {
      process.once('SIGINT', done)
      process.once('SIGTERM', done)
    }
  })
  await lab.close()
  io.stdout.write('wiretrace lab stopped\n')
  return 0
}
