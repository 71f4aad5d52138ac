// The sans-IO recording reader, fed bytes in every chunking.
import { describe, expect, it } from 'vitest'
import { RecordingReader, readRecording } from '../../shared/common/recording/reader.ts'

const header = JSON.stringify({ format: 'wiretrace', version: 1, app: 't', created: '', timeOrigin: 0, env: {}, connections: [], secrets: 'redacted' })
const ev = (seq: number, extra: Record<string, unknown> = {}): string => JSON.stringify({ seq, ts: seq, conn: 'c', type: 'note', text: `héllo ${seq} ✓`, source: 'user', ...extra })
const file = [header, ev(0), ev(1), ev(2, { text: 'x'.repeat(5000) }), ev(3)].join('\n') + '\n'
const bytes = new TextEncoder().encode(file)

describe('RecordingReader', () => {
  it('reads the same events whatever the chunking, including splits inside multi-byte characters', () => {
    for (const size of [1, 2, 3, 7, 64, 1000, bytes.length]) {
      const r = new RecordingReader()
      const got = []
      for (let i = 0; i < bytes.length; i += size) got.push(...r.push(bytes.subarray(i, i + size)))
      got.push(...r.end())
      expect(r.issues).toEqual([])
      expect(r.header?.format).toBe('wiretrace')
      expect(got.map((e) => e.seq)).toEqual([0, 1, 2, 3])
      expect((got[0] as { text: string }).text).toBe('héllo 0 ✓')
    }
  })

  it('copies what it keeps: a caller may reuse its read buffer (as fs.readSync loops do)', () => {
    const r = new RecordingReader()
    const buf = Buffer.alloc(37)
    const got = []
    for (let i = 0; i < bytes.length; i += buf.length) {
      const n = Buffer.from(bytes.subarray(i, i + buf.length)).copy(buf)
      got.push(...r.push(buf.subarray(0, n)))
      buf.fill(0x7b)
    }
    got.push(...r.end())
    expect(r.issues).toEqual([])
    expect(got.map((e) => e.seq)).toEqual([0, 1, 2, 3])
  })

  it('tolerates a torn last line and says so with its line number', () => {
    const torn = bytes.subarray(0, bytes.length - 10)
    const r = readRecording(torn)
    expect(r.events.map((e) => e.seq)).toEqual([0, 1, 2])
    expect(r.issues).toEqual([{ code: 'WT_RECORDING_TRUNCATED', line: 5, message: expect.stringContaining('incomplete') }])
  })

  it('names bad lines and keeps reading', () => {
    const text = [header, ev(0), '{not json', '[1,2]', JSON.stringify({ seq: 5 }), ev(1), ev(1)].join('\n') + '\n'
    const r = readRecording(new TextEncoder().encode(text))
    expect(r.events.map((e) => e.seq)).toEqual([0, 1, 1])
    expect(r.issues.map((i) => [i.code, i.line])).toEqual([
      ['WT_RECORDING_LINE', 3],
      ['WT_RECORDING_LINE', 4],
      ['WT_RECORDING_LINE', 5],
      ['WT_RECORDING_LINE', 7],
    ])
  })

  it('refuses a foreign file at line 1, a newer version, an empty file, and an endless line', () => {
    expect(readRecording(new TextEncoder().encode('hello\n')).issues[0]!.code).toBe('WT_RECORDING_HEADER')
    const newer = JSON.stringify({ format: 'wiretrace', version: 99, connections: [] }) + '\n'
    expect(readRecording(new TextEncoder().encode(newer)).issues[0]!.code).toBe('WT_RECORDING_VERSION')
    expect(readRecording(new Uint8Array(0)).issues[0]!.code).toBe('WT_RECORDING_HEADER')
    const r = new RecordingReader({ maxLineBytes: 1000 })
    r.push(new TextEncoder().encode(header + '\n'))
    for (let i = 0; i < 100; i++) r.push(new Uint8Array(100).fill(97))
    r.push(new TextEncoder().encode('\n' + ev(0) + '\n'))
    expect(r.issues[0]!.code).toBe('WT_RECORDING_TOO_LARGE')
  })
})
