/** Display helpers for the inspector. Pure; payloads are only ever turned into text. */
import { base64ToBytes, bytesToBase64 } from '../../../shared/common/bytes.ts'

export { formatBytes } from '../../../shared/common/bytes.ts'

export function formatTime(ts: number): string {
  const d = new Date(ts)
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** Relative time: +12.345 s. */
export function formatRelative(ms: number): string {
  if (!Number.isFinite(ms)) return ''
  if (Math.abs(ms) < 1000) return `+${ms.toFixed(1)} ms`
  if (Math.abs(ms) < 60_000) return `+${(ms / 1000).toFixed(3)} s`
  const m = Math.floor(ms / 60_000)
  return `+${m}m${((ms % 60_000) / 1000).toFixed(1).padStart(4, '0')}s`
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}

export function formatCount(n: number): string {
  if (n < 10_000) return String(n)
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`
  return `${(n / 1_000_000).toFixed(2)}M`
}

/** Pretty JSON, or null when the text is not JSON. */
export function prettyJson(text: string): string | null {
  const t = text.trim()
  if (!t || (t[0] !== '{' && t[0] !== '[' && t[0] !== '"')) return null
  try {
    return JSON.stringify(JSON.parse(t), null, 2)
  } catch {
    return null
  }
}

const encoder = new TextEncoder()

/** The payload's bytes, from text or base64. */
export function payloadBytes(p: { text?: string; base64?: string }): Uint8Array {
  if (typeof p.base64 === 'string') return base64ToBytes(p.base64)
  if (typeof p.text === 'string') return encoder.encode(p.text)
  return new Uint8Array(0)
}

export function payloadBase64(p: { text?: string; base64?: string }): string {
  return typeof p.base64 === 'string' ? p.base64 : bytesToBase64(payloadBytes(p))
}

/** Classic hex dump: offset, 16 bytes in hex, ASCII. At most `maxBytes` bytes. */
export function hexDump(bytes: Uint8Array, maxBytes = 64 * 1024): string {
  const n = Math.min(bytes.length, maxBytes)
  const lines: string[] = []
  for (let off = 0; off < n; off += 16) {
    let hex = ''
    let ascii = ''
    for (let i = 0; i < 16; i++) {
      const b = off + i < n ? bytes[off + i] : undefined
      hex += b === undefined ? '   ' : (b < 16 ? '0' : '') + b.toString(16) + ' '
      if (i === 7) hex += ' '
      ascii += b === undefined ? '' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`)
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`)
  return lines.join('\n')
}

/** Transport inferred from the URL scheme (ws/wss: WebSocket; http/https: SSE). */
export function inferTransport(url: string): 'ws' | 'sse' {
  return /^\s*wss?:/i.test(url) ? 'ws' : 'sse'
}

/** Parses "Name: value" lines into header pairs; reports the first bad line. */
export function parseHeaderLines(text: string): { headers: Array<[string, string]>; error: string | null } {
  const headers: Array<[string, string]> = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (!line) continue
    const c = line.indexOf(':')
    if (c <= 0) return { headers, error: `Header line ${i + 1} needs "Name: value"` }
    const name = line.slice(0, c).trim()
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return { headers, error: `Header line ${i + 1}: "${name}" is not a valid header name` }
    headers.push([name, line.slice(c + 1).trim()])
  }
  return { headers, error: null }
}
