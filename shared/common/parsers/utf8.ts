/**
 * UTF-8 decoding for the sans-IO parsers without naming a Node or DOM type: the platform's
 * TextDecoder is looked up on globalThis (Node, browsers and workers all have one). The
 * decoder keeps a leading U+FEFF (`ignoreBOM: true`): the parsers decide about BOMs
 * themselves, and a BOM in the middle of a stream is data. Invalid sequences become U+FFFD
 * as the WHATWG "UTF-8 decode" algorithm says.
 */

/** Decodes bytes[start, end) as UTF-8. The Node transports pass a Buffer-based one (faster). */
export type Utf8Decode = (bytes: Uint8Array, start: number, end: number) => string

interface TextDecoderLike {
  decode(input: Uint8Array): string
}
type TextDecoderCtor = new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }) => TextDecoderLike

let shared: TextDecoderLike | null = null

function decoder(): TextDecoderLike {
  if (shared) return shared
  const Ctor = (globalThis as unknown as { TextDecoder?: TextDecoderCtor }).TextDecoder
  if (!Ctor) throw new Error('no TextDecoder on this platform: pass a decode function')
  shared = new Ctor('utf-8', { fatal: false, ignoreBOM: true })
  return shared
}

/** Default decoder: pure-ASCII runs are built directly, anything else goes to TextDecoder. */
export const decodeUtf8: Utf8Decode = (bytes, start, end) => {
  const n = end - start
  if (n === 0) return ''
  if (n <= 64) {
    let ascii = true
    for (let i = start; i < end; i++) {
      if (bytes[i]! > 0x7f) {
        ascii = false
        break
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[])
  }
  return decoder().decode(bytes.subarray(start, end))
}

/** Whether bytes are valid UTF-8 (no replacement needed). Pure JS, no allocation. */
export function isValidUtf8(b: Uint8Array, start = 0, end = b.length): boolean {
  let i = start
  while (i < end) {
    const c = b[i]!
    if (c < 0x80) {
      i++
      continue
    }
    let need: number
    let min: number
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1
      min = 0x80
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2
      min = 0x800
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3
      min = 0x10000
    } else return false
    if (i + need >= end) return false
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07)
    for (let k = 1; k <= need; k++) {
      const d = b[i + k]!
      if ((d & 0xc0) !== 0x80) return false
      cp = (cp << 6) | (d & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false
    i += need + 1
  }
  return true
}
