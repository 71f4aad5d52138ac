/**
 * PAC files are untrusted code. Each evaluation runs in a fresh worker thread with V8 resource
 * limits, inside a `vm` context holding only the PAC helpers, under a vm timeout and a hard
 * kill timer in this thread. An infinite loop or a memory bomb becomes WT_PAC_TIMEOUT or
 * WT_PAC_ERROR; the app never freezes.
 */
import { Worker } from 'node:worker_threads'
import { open } from 'node:fs/promises'
import { constants as fsConstants } from 'node:fs'
import { fileURLToPath } from 'node:url'
import dns from 'node:dns'
import os from 'node:os'
import { WiretraceError } from '../../../common/errors/index.ts'
import { parsePacResult, type PacParse } from '../../../common/pac.ts'
import { redactSecretsInText, redactUrlText } from '../../../common/redact.ts'
import { PAC_HELPERS_SOURCE, PAC_WORKER_SOURCE } from './worker-source.ts'

export interface PacLimits {
  /** Hard limit for one FindProxyForURL evaluation, including worker start. Default 2000 ms. */
  timeoutMs: number
  /** V8 old-generation heap for the worker, MB. Default 64. */
  maxHeapMb: number
  /** Largest PAC script accepted, bytes. Default 1 MiB. */
  maxScriptBytes: number
  /** Re-runs allowed to answer the script's DNS questions. Default 8. */
  maxDnsRounds: number
}

export const DEFAULT_PAC_LIMITS: Readonly<PacLimits> = Object.freeze({
  timeoutMs: 2000,
  maxHeapMb: 64,
  maxScriptBytes: 1024 * 1024,
  maxDnsRounds: 8,
})

function myIpAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

type WorkerReply =
  | { ok: true; result: string | null | undefined | { nonString: string } }
  | { ok: false; kind: 'dns'; host: string }
  | { ok: false; kind: 'timeout' | 'throw' | 'nofunction'; message: string; name?: string; at?: string }

function runOnce(script: string, url: string, host: string, dnsCache: Record<string, string | null>, limits: PacLimits, deadline: number, fromFile: boolean): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const remaining = Math.max(50, deadline - Date.now())
    const worker = new Worker(PAC_WORKER_SOURCE, {
      eval: true,
      workerData: { script, url, host, dns: dnsCache, myIp: myIpAddress(), timeoutMs: remaining, now: Date.now(), helpers: PAC_HELPERS_SOURCE },
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4, codeRangeSizeMb: 16 },
      stdout: true,
      stderr: true,
      env: {},
    })
    let settled = false
    const done = (fn: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      void worker.terminate()
      fn()
    }
    const timer = setTimeout(() => {
      done(() => reject(new WiretraceError('WT_PAC_TIMEOUT', `FindProxyForURL did not return within ${limits.timeoutMs} ms; the PAC worker was killed`, { phase: 'proxy', timeoutMs: limits.timeoutMs })))
    }, remaining + 250)
    worker.once('message', (m: WorkerReply) => done(() => resolve(m)))
    worker.once('error', (e: Error & { code?: string }) => {
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap/i.test(e.message)
      done(() =>
        reject(
          new WiretraceError(
            'WT_PAC_ERROR',
            oom
              ? `the PAC script used more than ${limits.maxHeapMb} MB of memory and was stopped`
              : `the PAC worker failed${fromFile ? ` (${e.name || 'Error'}; the message is not shown for a PAC file)` : `: ${e.message}`}`,
            { phase: 'proxy', reason: oom ? 'memory' : 'worker' },
          ),
        ),
      )
    })
    worker.once('exit', (code) => done(() => reject(new WiretraceError('WT_PAC_ERROR', `the PAC worker exited (${code}) without an answer`, { phase: 'proxy', reason: 'exit' }))))
  })
}

/** Error names reported as they are; anything else a script throws is "an exception". */
const ERROR_NAMES = new Set(['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'AggregateError'])

/** Where the PAC script came from, for what its failures may quote. */
export interface PacOrigin {
  /**
   * Read from a file (pacFile, a file: pacUrl). A caller of the host may name a file that is
   * not a PAC file at all (a .env), and V8's messages quote the script ("s3cr3t is not
   * defined"): what such a script throws is reported by error name and line:column only.
   * Inline scripts (typed by the user) and fetched ones (the caller could fetch them) keep the message.
   */
  fromFile?: boolean
}

/** Evaluates FindProxyForURL(url, host) in the sandbox and parses the result. */
export async function evaluatePac(script: string, url: URL, partial?: Partial<PacLimits>, origin: PacOrigin = {}): Promise<PacParse & { raw: string }> {
  const fromFile = origin.fromFile === true
  const limits = { ...DEFAULT_PAC_LIMITS, ...partial }
  if (Buffer.byteLength(script) > limits.maxScriptBytes) {
    throw new WiretraceError('WT_PAC_ERROR', `the PAC script is larger than ${limits.maxScriptBytes} bytes`, { phase: 'proxy', reason: 'size' })
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  // Browsers strip the path and query for https URLs; we pass scheme://host:port/ for secure schemes.
  // The script is untrusted (often fetched from the network): it never sees user:password@.
  const bare = new URL(url.href)
  bare.username = ''
  bare.password = ''
  const pacUrl = url.protocol === 'https:' || url.protocol === 'wss:' ? `${url.protocol}//${url.host}/` : bare.href
  const cache: Record<string, string | null> = {}
  const deadline = Date.now() + limits.timeoutMs
  for (let round = 0; round <= limits.maxDnsRounds; round++) {
    const reply = await runOnce(script, pacUrl, host, cache, limits, deadline, fromFile)
    if (reply.ok) {
      const r = reply.result
      if (r && typeof r === 'object') {
        throw new WiretraceError('WT_PAC_ERROR', `FindProxyForURL returned a ${r.nonString}, not a string`, { phase: 'proxy', reason: 'result' })
      }
      const parsed = parsePacResult(r)
      if (parsed.routes.length === 0) {
        throw new WiretraceError('WT_PAC_ERROR', `FindProxyForURL returned "${redactSecretsInText(String(r).slice(0, 200))}", which has no usable entry: ${parsed.problems.join('; ')}`, { phase: 'proxy', reason: 'result', result: redactSecretsInText(String(r).slice(0, 500)) })
      }
      // `raw` is shown in the proxy.rule event: a "user:pass@" a PAC script returns is not.
      return { ...parsed, raw: redactSecretsInText(r ?? '') }
    }
    if (reply.kind === 'dns') {
      if (Date.now() >= deadline) break
      try {
        const a = await dns.promises.lookup(reply.host, { family: 4 })
        cache[reply.host] = a.address
      } catch {
        cache[reply.host] = null
      }
      continue
    }
    if (reply.kind === 'timeout') {
      throw new WiretraceError('WT_PAC_TIMEOUT', `FindProxyForURL did not return within ${limits.timeoutMs} ms (${reply.message})`, { phase: 'proxy', timeoutMs: limits.timeoutMs })
    }
    if (reply.kind === 'nofunction') throw new WiretraceError('WT_PAC_ERROR', reply.message, { phase: 'proxy', reason: 'nofunction' })
    if (fromFile) {
      const name = ERROR_NAMES.has(reply.name ?? '') ? reply.name! : 'an exception'
      const where = reply.at && /^\d+:\d+$/.test(reply.at) ? ` at line ${reply.at}` : ''
      throw new WiretraceError('WT_PAC_ERROR', `the PAC file threw ${name}${where} (the message is not shown: it may quote the file)`, { phase: 'proxy', reason: 'throw', ...(where ? { at: reply.at } : {}) })
    }
    throw new WiretraceError('WT_PAC_ERROR', `the PAC script threw ${reply.name ?? 'Error'}: ${redactSecretsInText(reply.message)}`, { phase: 'proxy', reason: 'throw' })
  }
  throw new WiretraceError('WT_PAC_TIMEOUT', `FindProxyForURL kept asking for DNS answers past the PAC time limit`, { phase: 'proxy', reason: 'dns' })
}

function pacLoadError(message: string, reason = 'load'): WiretraceError {
  return new WiretraceError('WT_PAC_ERROR', message, { phase: 'proxy', reason })
}

function fileKind(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  if (st.isSocket()) return 'a socket'
  return 'not a plain file'
}

/**
 * Reads a PAC file, bounded: opened without blocking (a FIFO would wait for a writer), a
 * regular file only, at most maxScriptBytes + 1 bytes read, and given up when `signal` aborts
 * or `timeoutMs` passes (a read already in the thread pool finishes and is then closed).
 */
async function readPacFile(file: string, signal: AbortSignal, limits: PacLimits): Promise<string> {
  const cancelled = (): WiretraceError => pacLoadError(`reading the PAC file ${file} was cancelled`)
  if (signal.aborted) throw cancelled()
  let gaveUp = false
  const read = async (): Promise<string> => {
    const fh = await open(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0))
    try {
      const st = await fh.stat()
      if (!st.isFile()) throw pacLoadError(`the PAC file ${file} is not a regular file (${fileKind(st)})`)
      const tooBig = (): WiretraceError => pacLoadError(`the PAC file ${file} is larger than ${limits.maxScriptBytes} bytes`, 'size')
      if (st.size > limits.maxScriptBytes) throw tooBig()
      // The size can change meanwhile (and is 0 for some special files): read at most one byte past the limit.
      const chunks: Buffer[] = []
      let total = 0
      while (total <= limits.maxScriptBytes) {
        if (gaveUp) throw cancelled()
        const want = Math.min(64 * 1024, limits.maxScriptBytes + 1 - total)
        const { bytesRead, buffer } = await fh.read(Buffer.alloc(want), 0, want, null)
        if (bytesRead === 0) break
        chunks.push(buffer.subarray(0, bytesRead))
        total += bytesRead
      }
      if (total > limits.maxScriptBytes) throw tooBig()
      return Buffer.concat(chunks, total).toString('utf8')
    } finally {
      await fh.close().catch(() => {})
    }
  }
  let timer: NodeJS.Timeout | undefined
  let onAbort = (): void => {}
  const stop = new Promise<never>((_, reject) => {
    const ms = Math.max(limits.timeoutMs, 1000)
    timer = setTimeout(() => reject(pacLoadError(`reading the PAC file ${file} took longer than ${ms} ms`)), ms)
    onAbort = () => reject(cancelled())
    signal.addEventListener('abort', onAbort, { once: true })
  })
  const reading = read()
  // Given up on (timeout, abort), it still settles later: nobody waits for it then.
  reading.catch(() => {})
  try {
    return await Promise.race([reading, stop])
  } catch (e) {
    if (e instanceof WiretraceError) throw e
    throw pacLoadError(`cannot read the PAC file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  } finally {
    gaveUp = true
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Loads the PAC text from an inline script, a file or a URL (bounded size and time).
 * `fromFile` says the text came from a file (see PacOrigin).
 */
export async function loadPacScript(
  src: { pacScript?: string; pacFile?: string; pacUrl?: string },
  signal: AbortSignal,
  partial?: Partial<PacLimits>,
): Promise<{ script: string; origin: string; fromFile: boolean }> {
  const limits = { ...DEFAULT_PAC_LIMITS, ...partial }
  if (src.pacScript !== undefined) return { script: src.pacScript, origin: 'inline script', fromFile: false }
  if (src.pacFile) return { script: await readPacFile(src.pacFile, signal, limits), origin: src.pacFile, fromFile: true }
  if (src.pacUrl) {
    if (/^file:/i.test(src.pacUrl)) {
      let file: string
      try {
        file = fileURLToPath(src.pacUrl)
      } catch (e) {
        throw pacLoadError(`the PAC URL ${redactUrlText(src.pacUrl)} does not name a local file: ${(e as Error).message}`)
      }
      return loadPacScript({ pacFile: file }, signal, partial)
    }
    try {
      const res = await fetch(src.pacUrl, { signal: AbortSignal.any([signal, AbortSignal.timeout(Math.max(limits.timeoutMs, 5000))]), redirect: 'follow' })
      if (!res.ok) throw new WiretraceError('WT_PAC_ERROR', `fetching the PAC file ${redactUrlText(src.pacUrl)} answered ${res.status} ${res.statusText}`, { phase: 'proxy', reason: 'load', status: res.status })
      const reader = res.body?.getReader()
      const chunks: Uint8Array[] = []
      let total = 0
      while (reader) {
        const { done, value } = await reader.read()
        if (done) break
        total += value.length
        if (total > limits.maxScriptBytes) {
          await reader.cancel()
          throw new WiretraceError('WT_PAC_ERROR', `the PAC file at ${redactUrlText(src.pacUrl)} is larger than ${limits.maxScriptBytes} bytes`, { phase: 'proxy', reason: 'size' })
        }
        chunks.push(value)
      }
      return { script: Buffer.concat(chunks).toString('utf8'), origin: redactUrlText(src.pacUrl), fromFile: false }
    } catch (e) {
      if (e instanceof WiretraceError) throw e
      // fetch's own messages quote the URL ("…includes credentials: http://u:p@…"): redacted too.
      const why = (e as Error).cause ? String(((e as Error).cause as Error).message) : (e as Error).message
      throw new WiretraceError('WT_PAC_ERROR', `cannot fetch the PAC file ${redactUrlText(src.pacUrl)}: ${redactSecretsInText(why)}`, { phase: 'proxy', reason: 'load' })
    }
  }
  throw new WiretraceError('WT_PAC_ERROR', 'the PAC profile has no pacUrl, pacFile or pacScript', { phase: 'proxy', reason: 'config' })
}
