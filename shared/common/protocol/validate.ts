/**
 * Runtime validation of command params: everything that crosses IPC or the web socket is
 * checked here before the host acts on it. Bad params fail with WT_USAGE naming the field.
 * The engine validates the connection spec itself in depth (shared/node/engine/validate.ts);
 * here we check its shape so nothing odd (functions, huge strings, prototypes) gets through.
 */
import { TRANSPORTS, type ConnectionSpec, type NetworkProfile, type SendItem } from '../spec/index.ts'
import { COMMANDS, type CommandName, type ParamsOf, type SavedTarget } from './commands.ts'
import { MAX_PROFILE_NAME, type SavedProfile } from './profiles.ts'

export class ParamError extends Error {
  readonly code = 'WT_USAGE'
  constructor(message: string) {
    super(message)
    this.name = 'ParamError'
  }
}

/** Bounds on what a command may carry. */
export const PARAM_LIMITS = {
  /** Longest string anywhere in params (a payload to send can be this long). */
  maxString: 64 * 1024 * 1024,
  maxIdLength: 200,
  maxNameLength: 200,
  maxDepth: 12,
  maxKeys: 10_000,
  /** Most events one `events.range` call returns. */
  maxRange: 5_000,
  /** Longest file path accepted. */
  maxPath: 4096,
  /** Redaction rules per export. */
  maxRules: 100,
  /** Bytes of a dropped file sent with recording.upload (base64 is 4/3 of it; fits the 64 MiB API message). */
  maxUploadBytes: 32 * 1024 * 1024,
} as const

function fail(path: string, what: string): never {
  throw new ParamError(`${path}: ${what}`)
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

/** Plain JSON data only (no functions, class instances, cycles), bounded depth and size. */
export function checkJson(v: unknown, path: string, depth = 0, budget = { keys: 0 }): void {
  if (depth > PARAM_LIMITS.maxDepth) fail(path, `nested deeper than ${PARAM_LIMITS.maxDepth} levels`)
  if (v === null || typeof v === 'boolean') return
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail(path, 'must be a finite number')
    return
  }
  if (typeof v === 'string') {
    if (v.length > PARAM_LIMITS.maxString) fail(path, `string longer than ${PARAM_LIMITS.maxString} characters`)
    return
  }
  if (Array.isArray(v)) {
    budget.keys += v.length
    if (budget.keys > PARAM_LIMITS.maxKeys) fail(path, `more than ${PARAM_LIMITS.maxKeys} values`)
    v.forEach((x, i) => checkJson(x, `${path}[${i}]`, depth + 1, budget))
    return
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(v)
    budget.keys += keys.length
    if (budget.keys > PARAM_LIMITS.maxKeys) fail(path, `more than ${PARAM_LIMITS.maxKeys} values`)
    for (const k of keys) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') fail(`${path}.${k}`, 'reserved key')
      checkJson(v[k], `${path}.${k}`, depth + 1, budget)
    }
    return
  }
  fail(path, `must be plain JSON data, got ${typeof v}`)
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (v === undefined) return {}
  if (!isPlainObject(v)) fail(path, 'must be an object')
  return v
}

function str(v: unknown, path: string, max: number = PARAM_LIMITS.maxIdLength): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, 'must be a non-empty string')
  if (v.length > max) fail(path, `longer than ${max} characters`)
  return v
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `must be an integer from ${min} to ${max}`)
  return v
}

function optional<T>(v: unknown, f: (v: unknown) => T): T | undefined {
  return v === undefined ? undefined : f(v)
}

function noExtra(o: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown parameter (expected ${allowed.join(', ') || 'none'})`)
}

export function checkSpec(v: unknown, path = 'spec', opts: NetworkCheckOptions = {}): ConnectionSpec {
  const o = obj(v, path)
  checkJson(o, path)
  str(o.url, `${path}.url`, 8192)
  if (!TRANSPORTS.includes(o.transport as never)) fail(`${path}.transport`, `must be one of ${TRANSPORTS.join(', ')}`)
  if (o.headers !== undefined) {
    if (!Array.isArray(o.headers)) fail(`${path}.headers`, 'must be a list of [name, value] pairs')
    o.headers.forEach((h, i) => {
      if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') {
        fail(`${path}.headers[${i}]`, 'must be a [name, value] pair of strings')
      }
    })
  }
  if (o.name !== undefined) str(o.name, `${path}.name`, PARAM_LIMITS.maxNameLength)
  if (o.id !== undefined) str(o.id, `${path}.id`)
  // The network names the files the host reads (PAC file, proxy CA/cert/key): checked in depth.
  if (o.network !== undefined) checkNetwork(o.network, `${path}.network`, opts)
  return o as unknown as ConnectionSpec
}

const CLOSE_RANGE: [number, number] = [1000, 4999]

export function checkSendItem(v: unknown, path = 'item'): SendItem {
  const o = obj(v, path)
  checkJson(o, path)
  switch (o.kind) {
    case 'text':
    case 'json':
      if (typeof o.text !== 'string') fail(`${path}.text`, 'must be a string')
      if (o.kind === 'json') {
        try {
          JSON.parse(o.text)
        } catch (e) {
          fail(`${path}.text`, `is not valid JSON (${(e as Error).message})`)
        }
      }
      break
    case 'binary':
      if (typeof o.base64 !== 'string' || !/^[A-Za-z0-9+/=_\s-]*$/.test(o.base64)) fail(`${path}.base64`, 'must be base64 text')
      break
    case 'ping':
    case 'pong':
      if (o.text !== undefined && typeof o.text !== 'string') fail(`${path}.text`, 'must be a string')
      if (typeof o.text === 'string' && o.text.length > 125) fail(`${path}.text`, 'a control frame payload is at most 125 bytes')
      break
    case 'close':
      optional(o.code, (c) => int(c, `${path}.code`, ...CLOSE_RANGE))
      if (o.reason !== undefined && (typeof o.reason !== 'string' || o.reason.length > 123)) fail(`${path}.reason`, 'must be a string of at most 123 bytes')
      break
    default:
      fail(`${path}.kind`, 'must be one of text, json, binary, ping, pong, close')
  }
  return o as unknown as SendItem
}

/** A saved target; `opts` as for checkNetwork (the store reads its file without the file-name rules). */
export function checkTarget(v: unknown, path: string, opts: NetworkCheckOptions = {}): SavedTarget {
  const o = obj(v, path)
  noExtra(o, ['name', 'spec', 'description', 'demo', 'rememberPassword'], path)
  str(o.name, `${path}.name`, PARAM_LIMITS.maxNameLength)
  checkSpec(o.spec, `${path}.spec`, opts)
  if (o.description !== undefined && typeof o.description !== 'string') fail(`${path}.description`, 'must be a string')
  if (o.rememberPassword !== undefined) bool(o.rememberPassword, `${path}.rememberPassword`)
  return o as unknown as SavedTarget
}

function bool(v: unknown, path: string): void {
  if (typeof v !== 'boolean') fail(path, 'must be true or false')
}

/** A string that may be empty, at most `max` characters. */
function text(v: unknown, path: string, max: number): string {
  if (typeof v !== 'string') fail(path, 'must be a string')
  if (v.length > max) fail(path, `longer than ${max} characters`)
  return v
}

const PROXY_KINDS = ['http', 'https', 'socks4', 'socks4a', 'socks5', 'socks5h']
const AUTH_SCHEMES = ['basic', 'digest', 'ntlm']
const NETWORK_MODES = ['direct', 'manual', 'pac', 'env', 'system']

/** An absolute path on POSIX or Windows (the host reads it; a relative one would depend on its working directory). */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\')
}

/**
 * What a file the host reads because a command named it must be called. A caller of the host's
 * commands (the renderer, a web-mode client) must not be able to point the host at any readable
 * file: what a PAC file evaluates to, or fails with, comes back in the answer. So a PAC file must
 * be named like one, and a proxy CA, certificate or key like a PEM file. The CLI reads the files
 * its user names itself and does not go through these rules.
 */
export const HOST_FILE_KINDS = {
  pac: { exts: ['.pac', '.js', '.dat'], what: 'a PAC file (name ending in .pac, .js or .dat, as in wpad.dat)' },
  pem: { exts: ['.pem', '.crt', '.cer', '.key'], what: 'a PEM file (name ending in .pem, .crt, .cer or .key)' },
} as const
export type HostFileKind = keyof typeof HOST_FILE_KINDS

/** Why a path is not accepted as a file of this kind, or null. Pure: usable by the UI too. */
export function hostFileProblem(p: string, kind: HostFileKind): string | null {
  const base = p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1).toLowerCase()
  const k = HOST_FILE_KINDS[kind]
  return k.exts.some((e) => base.length > e.length && base.endsWith(e)) ? null : `must name ${k.what}`
}

export interface NetworkCheckOptions {
  /**
   * Apply the file-name rules (HOST_FILE_KINDS) to the files the network names (default true).
   * Off only where the user names the files directly (the CLI's own options).
   */
  fileNames?: boolean
}

function filePath(v: unknown, path: string, kind: HostFileKind, opts: NetworkCheckOptions): string {
  const p = str(v, path, PARAM_LIMITS.maxPath)
  if (/[\0\r\n]/.test(p)) fail(path, 'must not contain NUL or line breaks')
  if (!isAbsolutePath(p)) fail(path, 'must be an absolute path')
  const problem = opts.fileNames === false ? null : hostFileProblem(p, kind)
  if (problem) fail(path, problem)
  return p
}

function proxyHost(v: unknown, path: string): void {
  const h = str(v, path, 255)
  if (/[\s/@?#]/.test(h)) fail(path, 'must be a host name or address (no spaces, /, @, ? or #)')
}

function checkAuth(v: unknown, path: string): void {
  const o = obj(v, path)
  if (v === undefined) fail(path, 'must be an object')
  noExtra(o, ['username', 'password', 'schemes', 'domain', 'workstation'], path)
  text(o.username, `${path}.username`, 256)
  text(o.password, `${path}.password`, 1024)
  if (o.schemes !== undefined) {
    const list: unknown = o.schemes
    if (!Array.isArray(list) || list.length > AUTH_SCHEMES.length) fail(`${path}.schemes`, `must be a list of ${AUTH_SCHEMES.join(', ')}`)
    list.forEach((x, i) => {
      if (!AUTH_SCHEMES.includes(x as string)) fail(`${path}.schemes[${i}]`, `must be one of ${AUTH_SCHEMES.join(', ')}`)
      if (list.indexOf(x) !== i) fail(`${path}.schemes[${i}]`, `${String(x)} is listed twice`)
    })
  }
  if (o.domain !== undefined) text(o.domain, `${path}.domain`, 256)
  if (o.workstation !== undefined) text(o.workstation, `${path}.workstation`, 256)
}

function checkProxyTls(v: unknown, path: string, opts: NetworkCheckOptions): void {
  const o = obj(v, path)
  noExtra(o, ['ca', 'caFiles', 'insecure', 'servername', 'cert', 'key', 'passphrase', 'certFile', 'keyFile'], path)
  if (o.ca !== undefined) {
    if (!Array.isArray(o.ca)) fail(`${path}.ca`, 'must be a list of PEM texts')
    o.ca.forEach((x, i) => str(x, `${path}.ca[${i}]`, 1024 * 1024))
  }
  if (o.caFiles !== undefined) {
    if (!Array.isArray(o.caFiles) || o.caFiles.length > 20) fail(`${path}.caFiles`, 'must be a list of at most 20 file paths')
    o.caFiles.forEach((x, i) => filePath(x, `${path}.caFiles[${i}]`, 'pem', opts))
  }
  if (o.insecure !== undefined) bool(o.insecure, `${path}.insecure`)
  if (o.servername !== undefined) str(o.servername, `${path}.servername`, 255)
  for (const k of ['cert', 'key'] as const) if (o[k] !== undefined) str(o[k], `${path}.${k}`, 1024 * 1024)
  if (o.passphrase !== undefined) text(o.passphrase, `${path}.passphrase`, 1024)
  for (const k of ['certFile', 'keyFile'] as const) if (o[k] !== undefined) filePath(o[k], `${path}.${k}`, 'pem', opts)
  if ((o.certFile !== undefined || o.cert !== undefined) !== (o.keyFile !== undefined || o.key !== undefined)) {
    fail(`${path}.${o.certFile !== undefined || o.cert !== undefined ? 'keyFile' : 'certFile'}`, 'a client certificate needs its key, and a key its certificate')
  }
}

/** TLS to the origin for every connection using the profile: CAs and switches, no client certificate. */
function checkOriginTls(v: unknown, path: string, opts: NetworkCheckOptions): void {
  const o = obj(v, path)
  noExtra(o, ['ca', 'caFiles', 'insecure', 'osCaStore'], path)
  if (o.ca !== undefined) {
    if (!Array.isArray(o.ca) || o.ca.length > 20) fail(`${path}.ca`, 'must be a list of PEM texts (at most 20)')
    o.ca.forEach((x, i) => str(x, `${path}.ca[${i}]`, 1024 * 1024))
  }
  if (o.caFiles !== undefined) {
    if (!Array.isArray(o.caFiles) || o.caFiles.length > 20) fail(`${path}.caFiles`, 'must be a list of at most 20 file paths')
    o.caFiles.forEach((x, i) => filePath(x, `${path}.caFiles[${i}]`, 'pem', opts))
  }
  if (o.insecure !== undefined) bool(o.insecure, `${path}.insecure`)
  if (o.osCaStore !== undefined) bool(o.osCaStore, `${path}.osCaStore`)
}

/**
 * A network profile, checked in depth (the fields the UI and the engine know, nothing else):
 * a saved profile is written to disk and read back, so it must be exactly what we expect.
 */
export function checkNetwork(v: unknown, path = 'network', opts: NetworkCheckOptions = {}): NetworkProfile {
  const o = obj(v, path)
  if (v === undefined) fail(path, 'must be an object')
  checkJson(o, path)
  if (!NETWORK_MODES.includes(o.mode as string)) fail(`${path}.mode`, `must be one of ${NETWORK_MODES.join(', ')}`)
  if (o.name !== undefined) profileName(o.name, `${path}.name`)
  switch (o.mode) {
    case 'direct':
      noExtra(o, ['mode', 'name', 'originTls'], path)
      break
    case 'manual': {
      noExtra(o, ['mode', 'name', 'proxy', 'httpMode', 'noProxy', 'proxyTls', 'originTls'], path)
      const p = obj(o.proxy, `${path}.proxy`)
      if (o.proxy === undefined) fail(`${path}.proxy`, 'must be an object')
      noExtra(p, ['kind', 'host', 'port', 'auth'], `${path}.proxy`)
      if (!PROXY_KINDS.includes(p.kind as string)) fail(`${path}.proxy.kind`, `must be one of ${PROXY_KINDS.join(', ')}`)
      proxyHost(p.host, `${path}.proxy.host`)
      int(p.port, `${path}.proxy.port`, 1, 65535)
      if (p.auth !== undefined) checkAuth(p.auth, `${path}.proxy.auth`)
      if (o.httpMode !== undefined && o.httpMode !== 'connect' && o.httpMode !== 'forward') fail(`${path}.httpMode`, 'must be connect or forward')
      if (o.noProxy !== undefined) text(o.noProxy, `${path}.noProxy`, 4096)
      if (o.proxyTls !== undefined) checkProxyTls(o.proxyTls, `${path}.proxyTls`, opts)
      break
    }
    case 'pac': {
      noExtra(o, ['mode', 'name', 'pacUrl', 'pacFile', 'pacScript', 'timeoutMs', 'auth', 'onPacError', 'proxyTls', 'originTls'], path)
      const sources = ['pacUrl', 'pacFile', 'pacScript'].filter((k) => o[k] !== undefined)
      if (sources.length === 0) fail(path, 'a PAC profile needs pacUrl or pacFile')
      if (o.pacUrl !== undefined) {
        const u = str(o.pacUrl, `${path}.pacUrl`, 8192)
        let parsed: URL | undefined
        try {
          parsed = new URL(u)
        } catch {
          fail(`${path}.pacUrl`, 'is not a URL')
        }
        if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) fail(`${path}.pacUrl`, 'must be an http:, https: or file: URL')
        // A file: URL is a file the host reads, named by the same rule as pacFile.
        if (parsed.protocol === 'file:' && opts.fileNames !== false) {
          let file = parsed.pathname
          try {
            file = decodeURIComponent(file)
          } catch {
            fail(`${path}.pacUrl`, 'has a malformed %-escape in its path')
          }
          const problem = hostFileProblem(file, 'pac')
          if (problem) fail(`${path}.pacUrl`, `a file: URL ${problem}`)
        }
      }
      if (o.pacFile !== undefined) filePath(o.pacFile, `${path}.pacFile`, 'pac', opts)
      if (o.pacScript !== undefined) str(o.pacScript, `${path}.pacScript`, 1024 * 1024)
      if (o.timeoutMs !== undefined) int(o.timeoutMs, `${path}.timeoutMs`, 100, 60_000)
      if (o.auth !== undefined) checkAuth(o.auth, `${path}.auth`)
      if (o.onPacError !== undefined && o.onPacError !== 'direct' && o.onPacError !== 'fail') fail(`${path}.onPacError`, 'must be direct or fail')
      if (o.proxyTls !== undefined) checkProxyTls(o.proxyTls, `${path}.proxyTls`, opts)
      break
    }
    case 'env': {
      noExtra(o, ['mode', 'name', 'env', 'auth', 'proxyTls', 'originTls'], path)
      if (o.env !== undefined) {
        const env = obj(o.env, `${path}.env`)
        const keys = Object.keys(env)
        if (keys.length > 50) fail(`${path}.env`, 'at most 50 variables')
        for (const k of keys) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(`${path}.env.${k}`, 'is not a variable name')
          text(env[k], `${path}.env.${k}`, 8192)
        }
      }
      if (o.auth !== undefined) checkAuth(o.auth, `${path}.auth`)
      if (o.proxyTls !== undefined) checkProxyTls(o.proxyTls, `${path}.proxyTls`, opts)
      break
    }
    case 'system':
      noExtra(o, ['mode', 'name', 'resolved', 'resolveError', 'proxyTls', 'originTls'], path)
      if (o.resolved !== undefined) text(o.resolved, `${path}.resolved`, 8192)
      if (o.resolveError !== undefined) text(o.resolveError, `${path}.resolveError`, 2048)
      if (o.proxyTls !== undefined) checkProxyTls(o.proxyTls, `${path}.proxyTls`, opts)
      break
  }
  // TLS to the origin: every mode, direct too.
  if (o.originTls !== undefined) checkOriginTls(o.originTls, `${path}.originTls`, opts)
  return o as unknown as NetworkProfile
}

/** A profile name: 1-80 characters, no control characters, no spaces around it. */
export function profileName(v: unknown, path: string): string {
  const n = str(v, path, MAX_PROFILE_NAME)
  if (/[\u0000-\u001f\u007f]/.test(n)) fail(path, 'must not contain control characters')
  if (n.trim() !== n) fail(path, 'must not start or end with a space')
  return n
}

export function checkProfile(v: unknown, path = 'profile', opts: NetworkCheckOptions = {}): SavedProfile {
  const o = obj(v, path)
  if (v === undefined) fail(path, 'must be an object')
  noExtra(o, ['name', 'network', 'rememberPassword', 'updated'], path)
  const name = profileName(o.name, `${path}.name`)
  const net = checkNetwork(o.network, `${path}.network`, opts)
  if (net.name !== undefined && net.name !== name) fail(`${path}.network.name`, 'must be the profile name')
  if (o.rememberPassword !== undefined) bool(o.rememberPassword, `${path}.rememberPassword`)
  if (o.updated !== undefined) str(o.updated, `${path}.updated`, 40)
  return o as unknown as SavedProfile
}

function rules(v: unknown): void {
  if (v === undefined) return
  if (!Array.isArray(v)) fail('params.rules', 'must be a list of rule strings')
  if (v.length > PARAM_LIMITS.maxRules) fail('params.rules', `at most ${PARAM_LIMITS.maxRules} rules`)
  v.forEach((r, i) => str(r, `params.rules[${i}]`, 1000))
}

type Checker = (p: Record<string, unknown>) => void

const CHECKS: { [K in CommandName]: Checker } = {
  'host.info': (p) => noExtra(p, [], 'params'),
  'session.open': (p) => {
    noExtra(p, ['spec', 'record'], 'params')
    checkSpec(p.spec)
    if (p.record !== undefined && typeof p.record !== 'boolean') fail('params.record', 'must be true or false')
  },
  'session.send': (p) => {
    noExtra(p, ['id', 'item'], 'params')
    str(p.id, 'params.id')
    checkSendItem(p.item)
  },
  'session.close': (p) => {
    noExtra(p, ['id', 'code', 'reason'], 'params')
    str(p.id, 'params.id')
    optional(p.code, (c) => int(c, 'params.code', ...CLOSE_RANGE))
    if (p.reason !== undefined && (typeof p.reason !== 'string' || p.reason.length > 123)) fail('params.reason', 'must be a string of at most 123 bytes')
  },
  'session.stop': (p) => {
    noExtra(p, ['id'], 'params')
    str(p.id, 'params.id')
  },
  'session.remove': (p) => {
    noExtra(p, ['id'], 'params')
    str(p.id, 'params.id')
  },
  'session.list': (p) => noExtra(p, [], 'params'),
  'events.range': (p) => {
    noExtra(p, ['id', 'fromSeq', 'count'], 'params')
    str(p.id, 'params.id')
    int(p.fromSeq, 'params.fromSeq', 0, Number.MAX_SAFE_INTEGER)
    int(p.count, 'params.count', 0, PARAM_LIMITS.maxRange)
  },
  'event.get': (p) => {
    noExtra(p, ['id', 'seq'], 'params')
    str(p.id, 'params.id')
    int(p.seq, 'params.seq', 0, Number.MAX_SAFE_INTEGER)
  },
  'targets.list': (p) => noExtra(p, [], 'params'),
  'targets.save': (p) => {
    noExtra(p, ['target'], 'params')
    checkTarget(p.target, 'params.target')
  },
  'targets.delete': (p) => {
    noExtra(p, ['name'], 'params')
    str(p.name, 'params.name', PARAM_LIMITS.maxNameLength)
  },
  'recording.list': (p) => noExtra(p, [], 'params'),
  'recording.open': (p) => {
    noExtra(p, ['path'], 'params')
    str(p.path, 'params.path', 4096)
  },
  'recording.status': (p) => noExtra(p, [], 'params'),
  'recording.upload': (p) => {
    noExtra(p, ['name', 'base64'], 'params')
    str(p.name, 'params.name', PARAM_LIMITS.maxNameLength)
    if (typeof p.base64 !== 'string') fail('params.base64', 'must be base64 text')
    if (p.base64.length > Math.ceil(PARAM_LIMITS.maxUploadBytes / 3) * 4) fail('params.base64', `the file is larger than ${PARAM_LIMITS.maxUploadBytes / 1024 / 1024} MiB; open it by path (File > Open, or wiretrace open FILE)`)
    if (!/^[A-Za-z0-9+/=]*$/.test(p.base64)) fail('params.base64', 'must be base64 text')
  },
  'recording.recoverable': (p) => noExtra(p, [], 'params'),
  'recording.recover': (p) => {
    noExtra(p, ['path'], 'params')
    str(p.path, 'params.path', PARAM_LIMITS.maxPath)
  },
  'export.preview': (p) => {
    noExtra(p, ['path', 'redact', 'rules'], 'params')
    str(p.path, 'params.path', PARAM_LIMITS.maxPath)
    if (typeof p.redact !== 'boolean') fail('params.redact', 'must be true or false')
    rules(p.rules)
  },
  'export.save': (p) => {
    noExtra(p, ['path', 'format', 'redact', 'rules', 'out'], 'params')
    str(p.path, 'params.path', PARAM_LIMITS.maxPath)
    if (!['native', 'har', 'md'].includes(p.format as string)) fail('params.format', 'must be one of native, har, md')
    if (typeof p.redact !== 'boolean') fail('params.redact', 'must be true or false')
    rules(p.rules)
    if (p.out !== undefined) str(p.out, 'params.out', PARAM_LIMITS.maxPath)
  },
  'recording.diff': (p) => {
    noExtra(p, ['a', 'b'], 'params')
    str(p.a, 'params.a', PARAM_LIMITS.maxPath)
    str(p.b, 'params.b', PARAM_LIMITS.maxPath)
  },
  'profiles.list': (p) => noExtra(p, [], 'params'),
  'profiles.save': (p) => {
    noExtra(p, ['profile', 'replace'], 'params')
    checkProfile(p.profile, 'params.profile')
    if (p.replace !== undefined) bool(p.replace, 'params.replace')
  },
  'profiles.rename': (p) => {
    noExtra(p, ['from', 'to'], 'params')
    profileName(p.from, 'params.from')
    profileName(p.to, 'params.to')
  },
  'profiles.delete': (p) => {
    noExtra(p, ['name'], 'params')
    profileName(p.name, 'params.name')
  },
  'proxy.resolve': (p) => {
    noExtra(p, ['url', 'network'], 'params')
    const u = str(p.url, 'params.url', 8192)
    let scheme = ''
    try {
      scheme = new URL(u).protocol
    } catch {
      fail('params.url', 'is not a URL')
    }
    if (!['ws:', 'wss:', 'http:', 'https:'].includes(scheme)) fail('params.url', 'must be a ws, wss, http or https URL')
    checkNetwork(p.network, 'params.network')
  },
  'demo.start': (p) => noExtra(p, [], 'params'),
  'demo.status': (p) => noExtra(p, [], 'params'),
}

export function isCommandName(cmd: unknown): cmd is CommandName {
  return typeof cmd === 'string' && (COMMANDS as readonly string[]).includes(cmd)
}

/** Checks a command and its params; throws ParamError (code WT_USAGE) naming what was wrong. */
export function validateCommand<K extends CommandName>(cmd: K, params: unknown): ParamsOf<K>
export function validateCommand(cmd: unknown, params: unknown): unknown
export function validateCommand(cmd: unknown, params: unknown): unknown {
  if (!isCommandName(cmd)) fail('cmd', `unknown command ${JSON.stringify(String(cmd).slice(0, 80))}`)
  const p = obj(params, 'params')
  CHECKS[cmd](p)
  return p
}
