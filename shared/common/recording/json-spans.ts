/**
 * Finds the byte-exact spans of JSON values selected by JSON paths, without re-serialising
 * anything: redaction replaces only those spans, so every other byte of a payload stays as
 * it was on the wire. Pure, bounded (depth limit), throws on text that is not JSON.
 *
 * Path syntax (a subset of JSONPath): `$` root, `.key`, `['key']` / `["key"]`, `[3]`,
 * `[*]` / `.*` (any member), `..key` (key at any depth below). A leading `$` is optional.
 */
export type PathSeg =
  | { k: 'key'; name: string }
  | { k: 'index'; n: number }
  | { k: 'any' }
  | { k: 'deep'; name: string | null }

export class JsonPathError extends Error {}

export function parseJsonPath(src: string): PathSeg[] {
  let s = src.trim()
  if (s.startsWith('$')) s = s.slice(1)
  else if (s && s[0] !== '.' && s[0] !== '[') s = '.' + s
  const out: PathSeg[] = []
  let i = 0
  const ident = (): string => {
    const m = /^[^.[\]\s]+/.exec(s.slice(i))
    if (!m) throw new JsonPathError(`expected a name at position ${i} of "${src}"`)
    i += m[0].length
    return m[0]
  }
  while (i < s.length) {
    if (s.startsWith('..', i)) {
      i += 2
      if (s[i] === '*') {
        i++
        out.push({ k: 'deep', name: null })
      } else if (s[i] === '[') {
        throw new JsonPathError(`"..[" is not supported in "${src}"`)
      } else out.push({ k: 'deep', name: ident() })
    } else if (s[i] === '.') {
      i++
      if (s[i] === '*') {
        i++
        out.push({ k: 'any' })
      } else out.push({ k: 'key', name: ident() })
    } else if (s[i] === '[') {
      const close = s.indexOf(']', i)
      if (close < 0) throw new JsonPathError(`unclosed "[" in "${src}"`)
      const inner = s.slice(i + 1, close).trim()
      i = close + 1
      if (inner === '*') out.push({ k: 'any' })
      else if (/^\d+$/.test(inner)) out.push({ k: 'index', n: Number(inner) })
      else if (/^'.*'$|^".*"$/.test(inner) && inner.length >= 2) out.push({ k: 'key', name: inner.slice(1, -1) })
      else throw new JsonPathError(`bad selector [${inner}] in "${src}"`)
    } else throw new JsonPathError(`unexpected "${s[i]}" at position ${i} of "${src}"`)
  }
  if (out.length === 0) throw new JsonPathError(`the path "${src}" selects the whole document; use a regex rule for that`)
  return out
}

type Step = string | number

/** Whether a concrete path (keys and indices from the root) matches the compiled segments. */
export function pathMatches(segs: PathSeg[], path: Step[], si = 0, pi = 0): boolean {
  if (si === segs.length) return pi === path.length
  if (pi > path.length) return false
  const seg = segs[si]!
  if (seg.k === 'deep') {
    for (let p = pi; p < path.length; p++) {
      if (seg.name === null || path[p] === seg.name) {
        if (pathMatches(segs, path, si + 1, p + 1)) return true
      }
    }
    return false
  }
  if (pi >= path.length) return false
  const step = path[pi]!
  if (seg.k === 'any') return pathMatches(segs, path, si + 1, pi + 1)
  if (seg.k === 'key') return step === seg.name && pathMatches(segs, path, si + 1, pi + 1)
  return step === seg.n && pathMatches(segs, path, si + 1, pi + 1)
}

export interface Span {
  start: number
  end: number
  /** Index of the path that matched. */
  rule: number
}

class ScanError extends Error {}
const SCALAR = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y

/**
 * Scans `text` as JSON and returns the spans of values whose path matches one of `paths`
 * (outermost match wins; nothing inside a matched value is reported). Throws on invalid JSON
 * or when nesting exceeds `maxDepth`.
 */
export function findJsonSpans(text: string, paths: PathSeg[][], maxDepth = 64): Span[] {
  const spans: Span[] = []
  const stack: Step[] = []
  let i = 0
  const n = text.length
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 32 || c === 9 || c === 10 || c === 13) i++
      else break
    }
  }
  const str = (): string => {
    // text[i] === '"'
    const start = i
    i++
    let escaped = false
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 92) {
        escaped = true
        i += 2
        continue
      }
      if (c === 34) {
        i++
        const raw = text.slice(start, i)
        return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1)
      }
      if (c < 32) throw new ScanError(`control character in string at ${i}`)
      i++
    }
    throw new ScanError('unterminated string')
  }
  const match = (): number => {
    for (let r = 0; r < paths.length; r++) if (pathMatches(paths[r]!, stack)) return r
    return -1
  }
  const value = (depth: number): void => {
    if (depth > maxDepth) throw new ScanError(`nesting deeper than ${maxDepth}`)
    ws()
    const start = i
    const r = stack.length > 0 ? match() : -1
    skipValue(depth, r < 0)
    if (r >= 0) spans.push({ start, end: i, rule: r })
  }
  /** A member's value or an element: scanned for spans under its key, or skipped. */
  const child = (key: string | number, depth: number, descend: boolean): void => {
    if (descend) {
      stack.push(key)
      value(depth + 1)
      stack.pop()
    } else {
      ws()
      skipValue(depth + 1, false)
    }
  }
  /** After a member or element: true at ",", false at the closing bracket (consumed either way). */
  const more = (close: '}' | ']'): boolean => {
    ws()
    if (text[i] === ',') {
      i++
      return true
    }
    if (text[i] === close) {
      i++
      return false
    }
    throw new ScanError(`expected "," or "${close}" at ${i}`)
  }
  const skipValue = (depth: number, descend: boolean): void => {
    const c = text[i]
    if (c === '{') {
      i++
      ws()
      if (text[i] === '}') {
        i++
        return
      }
      for (;;) {
        ws()
        if (text[i] !== '"') throw new ScanError(`expected a key at ${i}`)
        const key = str()
        ws()
        if (text[i] !== ':') throw new ScanError(`expected ":" at ${i}`)
        i++
        child(key, depth, descend)
        if (!more('}')) return
      }
    }
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') {
        i++
        return
      }
      for (let idx = 0; ; idx++) {
        child(idx, depth, descend)
        if (!more(']')) return
      }
    }
    if (c === '"') {
      str()
      return
    }
    SCALAR.lastIndex = i
    const m = SCALAR.exec(text)
    if (!m) throw new ScanError(`unexpected character at ${i}`)
    i += m[0].length
  }
  value(0)
  ws()
  if (i !== n) throw new ScanError(`trailing characters at ${i}`)
  return spans
}
