import { describe, it, expect } from 'vitest'
import { SseParser, type SseSink, type SseLimitCode } from '../../shared/common/parsers/sse.ts'

type Rec =
  | ['event', string | undefined, string, string, string, number | undefined]
  | ['retry', number]
  | ['comment', string]
  | ['error', SseLimitCode]

const enc = new TextEncoder()
const bytes = (s: string): Uint8Array => enc.encode(s)

function collect(opts: { maxLineBytes?: number; maxEventBytes?: number; lastEventId?: string } = {}): {
  parser: SseParser
  out: Rec[]
  sizes: number[]
} {
  const out: Rec[] = []
  const sizes: number[] = []
  const sink: SseSink = {
    event(id, type, data, lastEventId, retry, size) {
      out.push(['event', id, type, data, lastEventId, retry])
      sizes.push(size)
    },
    retry(ms) {
      out.push(['retry', ms])
    },
    comment(text) {
      out.push(['comment', text])
    },
    error(code) {
      out.push(['error', code])
    },
  }
  const parser = new SseParser(sink, {
    maxLineBytes: opts.maxLineBytes ?? 1 << 20,
    maxEventBytes: opts.maxEventBytes ?? 1 << 22,
    lastEventId: opts.lastEventId,
  })
  return { parser, out, sizes }
}

function parseChunks(chunks: Uint8Array[], opts?: Parameters<typeof collect>[0]): Rec[] {
  const { parser, out } = collect(opts)
  for (const c of chunks) parser.push(c)
  parser.end()
  return out
}

/**
 * The reference: the spec's steps applied literally to the whole decoded stream (the WHATWG
 * "UTF-8 decode" = TextDecoder with its default BOM stripping), string operations only.
 */
function reference(all: Uint8Array, lastEventIdInit = ''): Rec[] {
  const text = new TextDecoder('utf-8').decode(all)
  const out: Rec[] = []
  let data = ''
  let type = ''
  let idBuf = lastEventIdInit
  let lastEventId = lastEventIdInit
  let evId: string | undefined
  let evRetry: number | undefined
  const parts = text.split(/\r\n|\n|\r/)
  parts.pop() // the last piece has no line end: incomplete, discarded
  for (const line of parts) {
    if (line === '') {
      lastEventId = idBuf
      if (data === '') {
        type = ''
        evId = undefined
        evRetry = undefined
        continue
      }
      if (data.endsWith('\n')) data = data.slice(0, -1)
      out.push(['event', evId, type === '' ? 'message' : type, data, lastEventId, evRetry])
      data = ''
      type = ''
      evId = undefined
      evRetry = undefined
      continue
    }
    if (line.startsWith(':')) {
      out.push(['comment', line.slice(1)])
      continue
    }
    let field: string
    let value: string
    const c = line.indexOf(':')
    if (c !== -1) {
      field = line.slice(0, c)
      value = line.slice(c + 1)
      if (value.startsWith(' ')) value = value.slice(1)
    } else {
      field = line
      value = ''
    }
    if (field === 'event') type = value
    else if (field === 'data') data += value + '\n'
    else if (field === 'id') {
      if (!value.includes('\0')) {
        idBuf = value
        evId = value
      }
    } else if (field === 'retry') {
      if (/^[0-9]+$/.test(value)) {
        const n = Number.parseInt(value, 10)
        evRetry = n
        out.push(['retry', n])
      }
    }
  }
  return out
}

/** Seeded RNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PIECES: Array<number[] | string> = [
  'a', 'b', 'hello', ' ', ':', '  ', 'é', '😀', '日本', '\0', '1', '42', '007', 'x y', 'data', 'id',
  [0xff], [0xe2, 0x82], [0xc3], [0xef, 0xbb, 0xbf], [0xed, 0xa0, 0x80],
]
const FIELDS = ['data', 'data', 'data', 'event', 'id', 'retry', 'Data', 'datum', '', 'unknown', ':']
const EOLS = ['\n', '\r', '\r\n']

function randomStream(r: () => number): Uint8Array {
  const out: number[] = []
  const push = (x: string | number[]): void => {
    if (typeof x === 'string') out.push(...enc.encode(x))
    else out.push(...x)
  }
  const bomRoll = r()
  if (bomRoll < 0.2) push([0xef, 0xbb, 0xbf])
  if (bomRoll < 0.05) push([0xef, 0xbb, 0xbf])
  const lines = Math.floor(r() * 40)
  for (let i = 0; i < lines; i++) {
    const kind = r()
    if (kind < 0.2) {
      // blank line: dispatch
    } else {
      const f = FIELDS[Math.floor(r() * FIELDS.length)]!
      if (f === 'retry' && r() < 0.6) {
        push('retry' + (r() < 0.5 ? ': ' : ':') + String(Math.floor(r() * 5000)))
      } else {
        push(f)
        const colon = r()
        if (colon < 0.85) {
          push(colon < 0.5 ? ': ' : ':')
          const n = Math.floor(r() * 5)
          for (let k = 0; k < n; k++) push(PIECES[Math.floor(r() * PIECES.length)]!)
        }
      }
    }
    push(EOLS[Math.floor(r() * EOLS.length)]!)
  }
  if (r() < 0.3) push('data: tail without end')
  return Uint8Array.from(out)
}

function randomChunks(all: Uint8Array, r: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  let i = 0
  while (i < all.length) {
    const n = r() < 0.3 ? 1 : 1 + Math.floor(r() * 12)
    chunks.push(all.slice(i, i + n))
    i += n
  }
  return chunks
}

describe('SseParser: WHATWG rules', () => {
  it('parses fields, default type, multi-line data, and drops one trailing LF', () => {
    const out = parseChunks([bytes('data: first\ndata:second\n\nevent: add\ndata: x\nid: 7\n\n')])
    expect(out).toEqual([
      ['event', undefined, 'message', 'first\nsecond', '', undefined],
      ['event', '7', 'add', 'x', '7', undefined],
    ])
  })

  it('removes exactly one leading space of the value, keeps the rest', () => {
    const out = parseChunks([bytes('data:  two spaces\ndata:none\ndata\n\n')])
    expect(out).toEqual([['event', undefined, 'message', ' two spaces\nnone\n', '', undefined]])
  })

  it('treats CR, LF and CRLF as line ends', () => {
    const out = parseChunks([bytes('data: a\r\rdata: b\n\ndata: c\r\n\r\n')])
    expect(out.map((r) => r[3])).toEqual(['a', 'b', 'c'])
  })

  it('joins a CR at a chunk end and an LF at the next chunk start into one line end', () => {
    const out = parseChunks([bytes('data: a\r'), bytes('\ndata: b\r'), bytes('\n\r'), bytes('\n')])
    // Were CR and LF counted as two line ends, "a" would have been dispatched alone.
    expect(out).toEqual([['event', undefined, 'message', 'a\nb', '', undefined]])
  })

  it('dispatches on a CR at a chunk end without waiting for the next chunk', () => {
    const { parser, out } = collect()
    parser.push(bytes('data: now\r\r'))
    expect(out).toHaveLength(1)
    parser.push(bytes('\ndata: later\n\n'))
    // the LF after the second CR is skipped (CRLF), the blank line then dispatches "later"
    expect(out.map((r) => r[3])).toEqual(['now', 'later'])
  })

  it('ignores one leading BOM, even split over chunks, but not a second one', () => {
    expect(parseChunks([Uint8Array.of(0xef), Uint8Array.of(0xbb), Uint8Array.of(0xbf), ...[bytes('data: x\n\n')]])).toEqual([
      ['event', undefined, 'message', 'x', '', undefined],
    ])
    // A second BOM makes the first field name "\uFEFFdata", which is not "data".
    expect(parseChunks([Uint8Array.of(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf), bytes('data: x\n\n')])).toEqual([])
    // A BOM later in the stream is data.
    expect(parseChunks([bytes('data: a\n\n'), Uint8Array.of(0xef, 0xbb, 0xbf), bytes('data: b\n\n')])).toEqual([
      ['event', undefined, 'message', 'a', '', undefined],
    ])
  })

  it('reports comments and never dispatches them', () => {
    const out = parseChunks([bytes(':heartbeat\n: with space\n\n')])
    expect(out).toEqual([['comment', 'heartbeat'], ['comment', ' with space']])
  })

  it('ignores an id containing NUL, keeps the previous one', () => {
    const out = parseChunks([bytes('id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n')])
    expect(out).toEqual([
      ['event', '1', 'message', 'a', '1', undefined],
      ['event', undefined, 'message', 'b', '1', undefined],
    ])
  })

  it('accepts retry only when all ASCII digits', () => {
    const out = parseChunks([bytes('retry: 1500\nretry: 15x\nretry: -1\nretry: 1.5\nretry:\nretry: ١٢\nretry:0200\ndata: a\n\n')])
    expect(out).toEqual([['retry', 1500], ['retry', 200], ['event', undefined, 'message', 'a', '', 200]])
  })

  it('compares field names literally and ignores unknown fields', () => {
    expect(parseChunks([bytes('Data: a\nDATA: b\nevent : c\nfoo: d\n\n')])).toEqual([])
  })

  it('keeps lastEventId across events and across reset(), and an id-only block sets it', () => {
    const { parser, out } = collect()
    parser.push(bytes('id: é-1\ndata: a\n\ndata: b\n\nid: 3\n\n'))
    expect(parser.lastEventId).toBe('3')
    parser.reset()
    parser.push(bytes('data: c\n\n'))
    expect(out).toEqual([
      ['event', 'é-1', 'message', 'a', 'é-1', undefined],
      ['event', undefined, 'message', 'b', 'é-1', undefined],
      ['event', undefined, 'message', 'c', '3', undefined],
    ])
  })

  it('an empty id resets lastEventId to empty', () => {
    const out = parseChunks([bytes('id: 5\ndata: a\n\nid\ndata: b\n\n')])
    expect(out.map((r) => r[4])).toEqual(['5', ''])
  })

  it('discards the pending event at end of stream and reports it', () => {
    const { parser, out } = collect()
    parser.push(bytes('id: 9\ndata: complete\n\nid: 10\ndata: never dispatched\n'))
    const end = parser.end()
    expect(out).toEqual([['event', '9', 'message', 'complete', '9', undefined]])
    expect(end.discardedEvent).toBe(true)
    expect(end.partialLine).toBe(false)
    // the undispatched id does not become the last event id
    expect(parser.lastEventId).toBe('9')
  })

  it('an event with a type but no data dispatches nothing and the type does not leak', () => {
    const out = parseChunks([bytes('event: ping\n\ndata: x\n\n')])
    expect(out).toEqual([['event', undefined, 'message', 'x', '', undefined]])
  })

  it('decodes invalid UTF-8 with replacement characters', () => {
    const out = parseChunks([Uint8Array.of(...bytes('data: '), 0xff, 0xe2, 0x82, 10, 10)])
    expect(out[0]![3]).toBe('\ufffd\ufffd')
  })

  it('reports the byte size of each event', () => {
    const { parser, sizes } = collect()
    parser.push(bytes('data: abc\n\n'))
    parser.push(bytes('id: 1\r\ndata: é\r\n\r\n'))
    expect(sizes).toEqual([11, 7 + 10 + 2])
  })

  it('starts from an initial lastEventId', () => {
    expect(parseChunks([bytes('data: a\n\n')], { lastEventId: 'x' })).toEqual([['event', undefined, 'message', 'a', 'x', undefined]])
  })
})

describe('SseParser: limits', () => {
  it('fails a 100 MB line without newline once it crosses maxSseLineBytes, with bounded memory', () => {
    const limit = 1 << 20
    const { parser, out } = collect({ maxLineBytes: limit })
    const chunk = new Uint8Array(64 * 1024).fill(0x61)
    const before = process.memoryUsage().arrayBuffers
    let fedWhenFailed = -1
    for (let fed = 0; fed < 100 * 1024 * 1024; fed += chunk.length) {
      parser.push(chunk)
      if (parser.failed && fedWhenFailed < 0) fedWhenFailed = fed + chunk.length
    }
    expect(out).toEqual([['error', 'WT_SSE_LINE_TOO_LONG']])
    expect(fedWhenFailed).toBeGreaterThan(limit)
    expect(fedWhenFailed).toBeLessThanOrEqual(limit + chunk.length)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * limit)
  })

  it('fails a complete line over the limit inside one chunk', () => {
    const out = parseChunks([bytes('data: ' + 'x'.repeat(200) + '\n\n')], { maxLineBytes: 100 })
    expect(out).toEqual([['error', 'WT_SSE_LINE_TOO_LONG']])
  })

  it('fails an event whose data exceeds maxSseEventBytes', () => {
    const line = 'data: ' + 'y'.repeat(50) + '\n'
    const out = parseChunks([bytes(line.repeat(10) + '\n')], { maxEventBytes: 300 })
    expect(out).toEqual([['error', 'WT_SSE_EVENT_TOO_LARGE']])
  })

  it('accepts data exactly at the limit', () => {
    const out = parseChunks([bytes('data: ' + 'z'.repeat(99) + '\n\n')], { maxEventBytes: 100, maxLineBytes: 105 })
    expect(out).toHaveLength(1)
  })
})

describe('SseParser: property, any chunking gives the same result as the reference', () => {
  it('matches the literal reference on 600 random streams, each in several random chunkings', () => {
    const r = rng(0x5eed)
    for (let n = 0; n < 600; n++) {
      const all = randomStream(r)
      const expected = reference(all)
      expect(parseChunks([all]), `stream #${n} whole`).toEqual(expected)
      for (let k = 0; k < 4; k++) {
        expect(parseChunks(randomChunks(all, r)), `stream #${n} chunking ${k}`).toEqual(expected)
      }
    }
  })

  it('every two-chunk split of a tricky stream gives the same result', () => {
    const all = Uint8Array.of(0xef, 0xbb, 0xbf, ...bytes('id: 1\r\ndata: é😀\r\r\n:c\rretry: 12\ndata\r\n\r\nevent: x\ndata: 2\r'), 10, 10)
    const expected = reference(all)
    expect(expected.length).toBeGreaterThan(2)
    for (let i = 0; i <= all.length; i++) {
      expect(parseChunks([all.slice(0, i), all.slice(i)]), `split at ${i}`).toEqual(expected)
    }
  })

  it('one byte at a time gives the same result', () => {
    const r = rng(7)
    for (let n = 0; n < 50; n++) {
      const all = randomStream(r)
      const chunks = Array.from(all, (b) => Uint8Array.of(b))
      expect(parseChunks(chunks)).toEqual(reference(all))
    }
  })
})
