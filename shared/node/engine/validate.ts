/** Checks a ConnectionSpec before anything opens; every problem is a coded, specific error. */
import type { ConnectionSpec, Transport } from '../../common/spec/index.ts'
import { TRANSPORTS } from '../../common/spec/index.ts'
import { WiretraceError } from '../../common/errors/index.ts'
import { redactUrlText } from '../../common/redact.ts'
import { X509Certificate } from 'node:crypto'

const SCHEMES: Record<Transport, string[]> = {
  ws: ['ws:', 'wss:'],
  sse: ['http:', 'https:'],
  poll: ['http:', 'https:'],
  h2: ['http:', 'https:'],
  stream: ['http:', 'https:'],
}

/** Infers the transport from the scheme when none is given. */
export function inferTransport(url: string): Transport {
  const text = url.trim()
  if (/^wss?:/i.test(text)) return 'ws'
  if (/^https?:/i.test(text)) return 'sse'
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]
  if (scheme && !/^\d/.test(text.slice(scheme.length + 1))) {
    throw new WiretraceError('WT_SCHEME_UNSUPPORTED', `unsupported scheme ${scheme}: use ws, wss, http or https`, { url: redactUrlText(text) })
  }
  return 'ws'
}

export function parseTargetUrl(raw: string, transport: Transport): URL {
  const text = raw.trim()
  if (!text) throw new WiretraceError('WT_URL_INVALID', 'the URL is empty')
  let url: URL
  try {
    url = new URL(text)
  } catch {
    const hint = /^[a-z0-9.-]+(:\d+)?(\/|$)/i.test(text) ? ` (did you mean ${redactUrlText(`${transport === 'ws' ? 'ws' : 'http'}://${text}`)}?)` : ''
    throw new WiretraceError('WT_URL_INVALID', `"${redactUrlText(text)}" is not a valid URL${hint}`, { url: redactUrlText(text) })
  }
  if (!SCHEMES[transport].includes(url.protocol)) {
    throw new WiretraceError(
      'WT_SCHEME_UNSUPPORTED',
      `the ${transport} transport needs a ${SCHEMES[transport].map((s) => s.slice(0, -1)).join(' or ')} URL, not ${url.protocol.slice(0, -1)}:`,
      { url: redactUrlText(text), scheme: url.protocol },
    )
  }
  if (!url.hostname) throw new WiretraceError('WT_URL_INVALID', `"${redactUrlText(text)}" has no host`, { url: redactUrlText(text) })
  return url
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/**
 * Node's `ca` option skips a certificate OpenSSL cannot parse without a word, and the handshake
 * then fails as "unknown issuer". Every extra CA is parsed here first, so a broken file is
 * named with OpenSSL's reason instead.
 */
export function checkCaPems(what: string, pems: unknown, files?: string[]): void {
  if (pems === undefined) return
  if (!Array.isArray(pems)) throw new WiretraceError('WT_TLS_CONFIG', `${what} must be a list of PEM texts`)
  pems.forEach((pem, i) => {
    const from = files?.[i] ? ` (${files[i]})` : pems.length > 1 ? ` #${i + 1}` : ''
    if (typeof pem !== 'string') throw new WiretraceError('WT_TLS_CONFIG', `${what}${from} must be PEM text`)
    const blocks = pem.match(PEM_CERT) ?? []
    if (blocks.length === 0) throw new WiretraceError('WT_TLS_CONFIG', `${what}${from} holds no -----BEGIN CERTIFICATE----- block`, files?.[i] ? { file: files[i] } : {})
    blocks.forEach((block, j) => {
      try {
        new X509Certificate(block)
      } catch (e) {
        const which = blocks.length > 1 ? `certificate ${j + 1} of ${blocks.length} in ` : ''
        throw new WiretraceError('WT_TLS_CONFIG', `${which}${what}${from} cannot be parsed: ${(e as Error).message.replace(/^error:[0-9A-F]+:/, '')}`, files?.[i] ? { file: files[i] } : {})
      }
    })
  })
}

function positive(name: string, v: unknown, allowZero = true): void {
  if (v === undefined) return
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new WiretraceError('WT_OPTION_INVALID', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${JSON.stringify(v)}`)
  }
}

export function validateSpec(spec: ConnectionSpec): void {
  if (!spec || typeof spec !== 'object') throw new WiretraceError('WT_OPTION_INVALID', 'the connection spec must be an object')
  if (!TRANSPORTS.includes(spec.transport)) {
    throw new WiretraceError('WT_OPTION_INVALID', `unknown transport ${JSON.stringify(spec.transport)} (use ${TRANSPORTS.join(', ')})`)
  }
  if (typeof spec.url !== 'string') throw new WiretraceError('WT_URL_INVALID', 'the URL must be a string')
  parseTargetUrl(spec.url, spec.transport)
  for (const h of spec.headers ?? []) {
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') {
      // Named, never quoted whole: the value may be a credential.
      const what = Array.isArray(h) ? `${h.length} item(s)${typeof h[0] === 'string' ? ` for ${JSON.stringify(h[0].slice(0, 100))}` : ''}` : typeof h
      throw new WiretraceError('WT_OPTION_INVALID', `a header must be a [name, value] pair of strings, got ${what}`)
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h[0])) throw new WiretraceError('WT_OPTION_INVALID', `invalid header name ${JSON.stringify(h[0])}`)
    if (/[\r\n\0]/.test(h[1])) throw new WiretraceError('WT_OPTION_INVALID', `header ${h[0]} has a line break or NUL in its value`)
  }
  checkCaPems('tls.ca', spec.tls?.ca, spec.tls?.caFiles)
  if (spec.network && spec.network.mode !== 'direct') checkCaPems('proxyTls.ca', spec.network.proxyTls?.ca)
  const origin = spec.network?.originTls
  if (origin?.ca) {
    // The host appends the files' PEMs after any inline ones: name the file where there is one.
    const files = origin.caFiles ?? []
    checkCaPems('originTls.ca', origin.ca, [...Array<string>(Math.max(0, origin.ca.length - files.length)).fill(''), ...files])
  }
  positive('maxMessages', spec.maxMessages)
  positive('durationMs', spec.durationMs)
  positive('statsIntervalMs', spec.statsIntervalMs)
  if (spec.heartbeat) {
    positive('heartbeat.intervalMs', spec.heartbeat.intervalMs)
    positive('heartbeat.timeoutMs', spec.heartbeat.timeoutMs)
  }
  for (const p of spec.ws?.subprotocols ?? []) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(p)) throw new WiretraceError('WT_OPTION_INVALID', `invalid subprotocol ${JSON.stringify(p)}`)
  }
}
