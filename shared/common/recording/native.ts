/**
 * The native format as bytes: detection of what a file is, and JSON Lines serialisation.
 * Pure; the Node side (shared/node/recording/) does the file and gzip I/O.
 */
import type { WiretraceEvent } from '../events/index.ts'
import type { RecordingHeader } from './format.ts'

export type FileKind = 'native' | 'native-gz' | 'har' | 'empty' | 'unknown'

/** Extension of the native compressed export. */
export const NATIVE_GZ_EXT = '.wtrace.gz'

/** What a file is, from its first bytes (up to 4 KiB is plenty). */
export function detectKind(head: Uint8Array): FileKind {
  if (head.length === 0) return 'empty'
  if (head[0] === 0x1f && head[1] === 0x8b) return 'native-gz'
  let i = 0
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3 // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++
  if (head[i] !== 0x7b) return 'unknown'
  // Look at the first key: {"log" is HAR (a small HAR is one line that may well contain
  // "format":"wiretrace" in its _wiretrace block, so it is checked first); {"format":"wiretrace"
  // is native, or "format":"wiretrace" later on the first line (a header with its keys reordered).
  let text = ''
  for (let j = i; j < Math.min(head.length, i + 4096); j++) text += String.fromCharCode(head[j]!)
  if (/^\{\s*"log"\s*:/.test(text)) return 'har'
  if (/^\{\s*"format"\s*:\s*"wiretrace"/.test(text) || /^\{[^\n]*"format"\s*:\s*"wiretrace"/.test(text)) return 'native'
  return 'unknown'
}

export function headerLine(h: RecordingHeader): string {
  return JSON.stringify(h) + '\n'
}

export function eventLine(ev: WiretraceEvent): string {
  return JSON.stringify(ev) + '\n'
}

/** A whole recording as JSON Lines text (tests, small files). */
export function toJsonl(h: RecordingHeader, events: Iterable<WiretraceEvent>): string {
  let s = headerLine(h)
  for (const ev of events) s += eventLine(ev)
  return s
}

/**
 * The `type` of an event line without parsing it, when it is in the first 200 characters
 * (the writer puts seq, ts, conn and type first); null otherwise. Lets the exporter copy
 * lines no redaction rule can touch byte for byte.
 */
export function peekType(line: string): string | null {
  const at = line.indexOf('"type":"')
  if (at < 0 || at > 200) return null
  const end = line.indexOf('"', at + 8)
  return end < 0 ? null : line.slice(at + 8, end)
}
