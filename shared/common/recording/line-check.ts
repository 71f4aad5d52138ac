/**
 * A fast, allocation-free check of one recording line in bytes: is it a JSON object with
 * numeric `seq` and `ts` and string `conn` and `type` at the top level? Used by import to
 * validate millions of lines without building objects. Sound by construction: it says `true`
 * only for text JSON.parse accepts (a differential property test checks this against
 * JSON.parse); it may say `false` for odd but valid lines (escaped keys, very deep nesting),
 * and callers then fall back to JSON.parse for the verdict and the message.
 */

const MAX_DEPTH = 256

export interface LineCheck {
  /** The `seq` value when the check passed. */
  seq: number
}

const enum K {
  Other = 0,
  Seq = 1,
  Ts = 2,
  Conn = 3,
  Type = 4,
}

// Module-level scanner state: no closures or allocations per line (this runs a million times).
let b: Uint8Array = new Uint8Array(0)
let i = 0
let e = 0
let numStart = 0
let numInt = true
const stack = new Uint8Array(MAX_DEPTH)
const TRUE = [0x74, 0x72, 0x75, 0x65]
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65]
const NULL = [0x6e, 0x75, 0x6c, 0x6c]

function ws(): void {
  while (i < e) {
    const c = b[i]!
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) i++
    else break
  }
}

/** Scans a string starting at b[i] === '"'; false when invalid. Leaves i past the closing quote. */
function str(): boolean {
  i++
  while (i < e) {
    const c = b[i]!
    if (c === 0x22) {
      i++
      return true
    }
    if (c < 0x20) return false
    if (c === 0x5c) {
      const n = b[i + 1]
      if (n === 0x75) {
        if (i + 5 >= e) return false
        for (let k = 2; k < 6; k++) {
          const h = b[i + k]!
          if (!((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) return false
        }
        i += 6
        continue
      }
      if (n === 0x22 || n === 0x5c || n === 0x2f || n === 0x62 || n === 0x66 || n === 0x6e || n === 0x72 || n === 0x74) {
        i += 2
        continue
      }
      return false
    }
    i++
  }
  return false
}

function digits(): number {
  const st = i
  while (i < e && b[i]! >= 0x30 && b[i]! <= 0x39) i++
  return i - st
}

function num(): boolean {
  numStart = i
  numInt = true
  if (b[i] === 0x2d) i++
  if (i < e && b[i] === 0x30) i++
  else if (digits() === 0) return false
  if (i < e && b[i] === 0x2e) {
    i++
    numInt = false
    if (digits() === 0) return false
  }
  if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
    i++
    numInt = false
    if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++
    if (digits() === 0) return false
  }
  return true
}

function lit(word: number[]): boolean {
  if (i + word.length > e) return false
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false
  i += word.length
  return true
}

/** Which of the four keys a key string [ks, ke) (quotes excluded) is. */
function keyOf(ks: number, ke: number): K {
  const n = ke - ks
  if (n === 3 && b[ks] === 0x73 && b[ks + 1] === 0x65 && b[ks + 2] === 0x71) return K.Seq
  if (n === 2 && b[ks] === 0x74 && b[ks + 1] === 0x73) return K.Ts
  if (n === 4 && b[ks] === 0x63 && b[ks + 1] === 0x6f && b[ks + 2] === 0x6e && b[ks + 3] === 0x6e) return K.Conn
  if (n === 4 && b[ks] === 0x74 && b[ks + 1] === 0x79 && b[ks + 2] === 0x70 && b[ks + 3] === 0x65) return K.Type
  return K.Other
}

/** Returns true when bytes[s, end) is a valid event line; `out.seq` gets its seq. */
export function checkEventLine(bytes: Uint8Array, s: number, end: number, out: LineCheck): boolean {
  b = bytes
  i = s
  e = end
  const ok = scan(out)
  b = EMPTY
  return ok
}
const EMPTY = new Uint8Array(0)

function scan(out: LineCheck): boolean {
  ws()
  if (b[i] !== 0x7b) return false
  let depth = 0
  let found = 0
  let seq = NaN
  stack[depth++] = 1
  i++
  ws()
  if (b[i] === 0x7d) return false // {} has no seq
  for (;;) {
    // A key (in an object), then a value.
    const top = stack[depth - 1]!
    let key: K = K.Other
    if (top === 1) {
      if (b[i] !== 0x22) return false
      const ks = i + 1
      if (!str()) return false
      key = depth === 1 ? keyOf(ks, i - 1) : K.Other
      ws()
      if (b[i] !== 0x3a) return false
      i++
      ws()
    }
    if (i >= e) return false
    const c = b[i]
    if (c === 0x7b || c === 0x5b) {
      if (key !== K.Other) return false
      if (depth >= MAX_DEPTH) return false
      stack[depth++] = c === 0x7b ? 1 : 2
      i++
      ws()
      if (b[i] === (c === 0x7b ? 0x7d : 0x5d)) {
        i++
        depth--
      } else continue
    } else if (c === 0x22) {
      if (!str()) return false
      if (key === K.Seq || key === K.Ts) return false
      if (key === K.Conn) found |= 4
      else if (key === K.Type) found |= 8
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      if (key !== K.Other) return false
      if (!lit(c === 0x74 ? TRUE : c === 0x66 ? FALSE : NULL)) return false
    } else {
      if (!num()) return false
      if (key === K.Conn || key === K.Type) return false
      if (key === K.Seq) {
        found |= 1
        if (numInt && i - numStart <= 15) {
          let v = 0
          let k = numStart
          const neg = b[k] === 0x2d
          if (neg) k++
          for (; k < i; k++) v = v * 10 + (b[k]! - 0x30)
          seq = neg ? -v : v
        } else {
          let t = ''
          for (let k = numStart; k < i; k++) t += String.fromCharCode(b[k]!)
          seq = Number(t)
        }
      } else if (key === K.Ts) found |= 2
    }
    // After a value: close containers, or a comma.
    for (;;) {
      ws()
      if (depth === 0) {
        if (i !== e) return false
        if (found !== 15 || !Number.isFinite(seq)) return false
        out.seq = seq
        return true
      }
      const t = stack[depth - 1]!
      const ch = b[i]
      if (ch === 0x2c) {
        i++
        ws()
        break
      }
      if ((t === 1 && ch === 0x7d) || (t === 2 && ch === 0x5d)) {
        i++
        depth--
        continue
      }
      return false
    }
  }
}
