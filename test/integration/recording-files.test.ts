/** Export, import, atomic writes and crash recovery on real files. */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { exportCommand, importCommand, diffCommand, scanRecordings, recoverRecording } from '../../shared/node/recording/commands.ts'
import { exportRecording } from '../../shared/node/recording/export.ts'
import { importRecording } from '../../shared/node/recording/import.ts'
import { loadRecording } from '../../shared/node/recording/files.ts'
import { writeFileAtomic, AtomicFile, cleanStaleTemps } from '../../shared/node/recording/atomic.ts'
import { toJsonl } from '../../shared/common/recording/native.ts'
import { errorCode, fixture, readJsonl, tmpDir, randomRecording } from '../fixtures/recordings/helpers.ts'

const office = fixture('v1-office-proxy.jsonl')

const code = errorCode

describe('native export', () => {
  it('--no-redact: gunzip gives the original bytes exactly', async () => {
    const dir = tmpDir()
    const out = path.join(dir, 'o.wtrace.gz')
    const r = await exportCommand(office, { format: 'native', redact: false, out })
    expect(r.exitCode).toBe(0)
    expect(zlib.gunzipSync(fs.readFileSync(out)).equals(fs.readFileSync(office))).toBe(true)
    expect(r.text).toContain('redaction: off')
  })

  it('redacted: untouched lines are byte-identical, secret lines changed, re-importable', async () => {
    const dir = tmpDir()
    const out = path.join(dir, 'o.wtrace.gz')
    const r = await exportCommand(office, { format: 'native', out, rules: ['json:$..password'] })
    const text = zlib.gunzipSync(fs.readFileSync(out)).toString('utf8')
    const orig = fs.readFileSync(office, 'utf8').split('\n')
    const got = text.split('\n')
    expect(got.length).toBe(orig.length)
    const unchanged = orig.filter((l, i) => l === got[i]).length
    expect(unchanged).toBe(orig.length - 1 - r.result.manifest.events) // header changed too
    for (const s of ['hunter2', 'abc123', 's3cr3t', 'pw1']) expect(text).not.toContain(s)
    const back = path.join(dir, 'back.jsonl')
    const imp = await importCommand(out, { out: back })
    expect(imp.result.kind).toBe('native-gz')
    expect(imp.result.events).toBe(27)
  })

  it('HAR and Markdown files round-trip through import', async () => {
    const dir = tmpDir()
    const rec = randomRecording(7, 500)
    const src = path.join(dir, 'r.jsonl')
    fs.writeFileSync(src, toJsonl(rec.header, rec.events))
    await exportCommand(src, { format: 'har', redact: false, out: path.join(dir, 'r.har') })
    await importCommand(path.join(dir, 'r.har'), { out: path.join(dir, 'r2.jsonl') })
    expect(readJsonl(path.join(dir, 'r2.jsonl')).events).toEqual(rec.events)
    // A small recording's HAR is one line under 4 KiB with "format":"wiretrace" inside: still a HAR.
    const small = randomRecording(3, 4)
    fs.writeFileSync(path.join(dir, 's.jsonl'), toJsonl(small.header, small.events))
    await exportCommand(path.join(dir, 's.jsonl'), { format: 'har', redact: false, out: path.join(dir, 's.har') })
    expect(fs.statSync(path.join(dir, 's.har')).size).toBeLessThan(4096)
    const back2 = await importCommand(path.join(dir, 's.har'), { out: path.join(dir, 's2.jsonl') })
    expect(back2.result.kind).toBe('har')
    expect(readJsonl(path.join(dir, 's2.jsonl')).events).toEqual(small.events)
    const md = await exportCommand(src, { format: 'md', out: path.join(dir, 'r.md') })
    expect(fs.readFileSync(md.result.out, 'utf8')).toContain('# Wiretrace recording')
  })
})

describe('bad input', () => {
  it('a truncated last line is reported with its line and everything before is kept', async () => {
    const dir = tmpDir()
    const src = path.join(dir, 't.jsonl')
    const text = fs.readFileSync(office, 'utf8')
    fs.writeFileSync(src, text.slice(0, text.length - 30))
    const r = await importRecording(src, { out: path.join(dir, 'o.jsonl') })
    expect(r.events).toBe(26)
    expect(r.issues[0]).toMatchObject({ code: 'WT_RECORDING_TRUNCATED', line: 28 })
    const e = await exportRecording(src, { format: 'native', out: path.join(dir, 'o.wtrace.gz') })
    expect(e.issues[0]).toMatchObject({ code: 'WT_RECORDING_TRUNCATED', line: 28 })
  })

  it('a corrupt middle line is named and skipped', async () => {
    const dir = tmpDir()
    const src = path.join(dir, 'c.jsonl')
    const lines = fs.readFileSync(office, 'utf8').split('\n')
    lines[5] = '{"seq": 4, "ts": oops'
    lines[7] = '[1,2,3]'
    fs.writeFileSync(src, lines.join('\n'))
    const r = await importRecording(src, { out: path.join(dir, 'o.jsonl') })
    expect(r.issues.map((i) => [i.code, i.line])).toEqual([['WT_RECORDING_LINE', 6], ['WT_RECORDING_LINE', 8]])
    expect(r.events).toBe(25)
  })

  it('foreign, empty, missing and newer-version files fail with codes', async () => {
    const dir = tmpDir()
    const f = (name: string, data: string | Buffer): string => {
      fs.writeFileSync(path.join(dir, name), data)
      return path.join(dir, name)
    }
    const out = path.join(dir, 'out.jsonl')
    expect(await code(importRecording(f('png', Buffer.from('89504e470d0a1a0a', 'hex')), { out }))).toBe('WT_RECORDING_HEADER')
    expect(await code(importRecording(f('empty', ''), { out }))).toBe('WT_RECORDING_HEADER')
    expect(await code(importRecording(path.join(dir, 'nope'), { out }))).toBe('WT_RECORDING_NOT_FOUND')
    expect(await code(importRecording(f('json', '{"format":"wiretrace","version":99,"connections":[]}\n'), { out }))).toBe('WT_RECORDING_VERSION')
    expect(await code(importRecording(f('obj', '{"format":"wiretrace"}\n'), { out }))).toBe('WT_RECORDING_HEADER')
    const gz = zlib.gzipSync(fs.readFileSync(office))
    expect(await code(importRecording(f('cut.gz', gz.subarray(0, gz.length - 40)), { out }))).toMatch(/WT_RECORDING_(TRUNCATED|LINE)/)
    const bad = Buffer.from(gz)
    bad[40] = bad[40]! ^ 0xff
    bad[41] = bad[41]! ^ 0xff
    expect(await code(importRecording(f('bad.gz', bad), { out }))).toMatch(/WT_RECORDING_(LINE|TRUNCATED)/)
    expect(fs.existsSync(out)).toBe(false)
  })

  it('absurd sizes hit the documented limits', async () => {
    const dir = tmpDir()
    const out = path.join(dir, 'out.jsonl')
    // A gzip bomb: 64 MiB of zeros compresses to ~64 KiB.
    const bomb = path.join(dir, 'bomb.wtrace.gz')
    fs.writeFileSync(bomb, Buffer.concat([zlib.gzipSync(Buffer.from('{"format":"wiretrace","version":1,"connections":[]}\n')), zlib.gzipSync(Buffer.alloc(64 << 20, 0x20))]))
    expect(await code(importRecording(bomb, { out, limits: { maxInflatedBytes: 8 << 20 } }))).toBe('WT_RECORDING_TOO_LARGE')
    const long = path.join(dir, 'long.jsonl')
    fs.writeFileSync(long, '{"format":"wiretrace","version":1,"connections":[]}\n{"x":"' + 'a'.repeat(5 << 20) + '"}\n')
    expect(await code(importRecording(long, { out, limits: { maxLineBytes: 1 << 20 } }))).toBe('WT_RECORDING_TOO_LARGE')
    const har = path.join(dir, 'big.har')
    fs.writeFileSync(har, '{"log":{"entries":[]},"pad":"' + 'a'.repeat(2 << 20) + '"}')
    expect(await code(importRecording(har, { out, limits: { maxDocumentBytes: 1 << 20 } }))).toBe('WT_RECORDING_TOO_LARGE')
    expect(await code(importRecording(fixture('v1-office-proxy.jsonl'), { out, limits: { maxEvents: 10 } }))).toBe('WT_RECORDING_TOO_LARGE')
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
  })
})

describe('atomic writes', () => {
  it('a failure during export leaves neither the final file nor a temp file', async () => {
    const dir = tmpDir()
    const gz = zlib.gzipSync(Buffer.concat([fs.readFileSync(office), Buffer.alloc(4 << 20, 0x0a)]))
    const src = path.join(dir, 'src.wtrace.gz')
    fs.writeFileSync(src, gz.subarray(0, gz.length - 100)) // fails late, after output was written
    const out = path.join(dir, 'out.wtrace.gz')
    fs.writeFileSync(out, 'previous content')
    expect(await code(exportRecording(src, { format: 'native', out }))).toMatch(/WT_RECORDING_(TRUNCATED|LINE)/)
    expect(fs.readFileSync(out, 'utf8')).toBe('previous content')
    expect(fs.readdirSync(dir).sort()).toEqual(['out.wtrace.gz', 'src.wtrace.gz'])
  })

  it('commit replaces, abort leaves the old file', () => {
    const dir = tmpDir()
    const f = path.join(dir, 'x')
    writeFileAtomic(f, 'one')
    const a = new AtomicFile(f)
    a.write('two')
    expect(fs.readFileSync(f, 'utf8')).toBe('one')
    a.abort()
    expect(fs.readFileSync(f, 'utf8')).toBe('one')
    writeFileAtomic(f, ['a', Buffer.from('b'), 'c'])
    expect(fs.readFileSync(f, 'utf8')).toBe('abc')
    // Through the 4 MiB buffer and past it: small pieces across its end, one piece bigger than it, bytes between.
    const pieces: Array<string | Buffer> = []
    for (let i = 0; i < 60_000; i++) pieces.push(`{"n":${i},"é":"\u{1f600}${'x'.repeat(i % 97)}"}\n`)
    pieces.splice(30_000, 0, 'y'.repeat(3 << 20), Buffer.from('[raw]'))
    const bytes = writeFileAtomic(f, pieces)
    const want = Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)))
    expect(bytes).toBe(want.length)
    expect(fs.readFileSync(f).equals(want)).toBe(true)
    expect(fs.readdirSync(dir)).toEqual(['x'])
    expect(() => writeFileAtomic(path.join(dir, 'no/such/dir/x'), 'z')).toThrow(/cannot write/)
  })

  it('stale temp files from a crash are cleaned, fresh ones (a write in progress) are left', () => {
    const dir = tmpDir()
    fs.writeFileSync(path.join(dir, '.x.har.123.0badcafe.tmp'), 'partial')
    fs.writeFileSync(path.join(dir, '.y.har.124.0badcafe.tmp'), 'in progress')
    fs.writeFileSync(path.join(dir, 'keep.tmp'), 'not ours')
    const old = Date.now() / 1000 - 7200
    fs.utimesSync(path.join(dir, '.x.har.123.0badcafe.tmp'), old, old)
    expect(cleanStaleTemps(dir)).toEqual(['.x.har.123.0badcafe.tmp'])
    expect(fs.readdirSync(dir).sort()).toEqual(['.y.har.124.0badcafe.tmp', 'keep.tmp'])
  })
})

describe('crash recovery', () => {
  it('finds unfinished recordings, reports why, and repairs them', async () => {
    const dir = tmpDir()
    const text = fs.readFileSync(office, 'utf8')
    const lines = text.split('\n')
    fs.writeFileSync(path.join(dir, 'finished.jsonl'), text)
    fs.writeFileSync(path.join(dir, 'cut.jsonl'), text.slice(0, text.length - 25))
    fs.writeFileSync(path.join(dir, 'noend.jsonl'), lines.slice(0, 20).join('\n') + '\n')
    fs.writeFileSync(path.join(dir, 'noheader.jsonl'), '{"format":"wire')
    fs.writeFileSync(path.join(dir, 'live.jsonl'), lines.slice(0, 5).join('\n') + '\n')
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x')
    const found = scanRecordings(dir, { exclude: [path.join(dir, 'live.jsonl')] })
    const byName = Object.fromEntries(found.map((c) => [path.basename(c.path), c]))
    expect(Object.keys(byName).sort()).toEqual(['cut.jsonl', 'noend.jsonl', 'noheader.jsonl'])
    expect(byName['cut.jsonl']).toMatchObject({ reason: 'truncated-line', unfinished: ['c1-a1b2c3'], url: expect.stringContaining('echo.example.test') })
    expect(byName['noend.jsonl']).toMatchObject({ reason: 'no-end', lastSeq: 18 })
    expect(byName['noheader.jsonl']!.reason).toBe('bad-header')

    const r = recoverRecording(path.join(dir, 'cut.jsonl'))
    expect(r).toMatchObject({ appended: 1 })
    expect(r.droppedBytes).toBeGreaterThan(0)
    const rec = await loadRecording(path.join(dir, 'cut.jsonl'))
    expect(rec.issues).toEqual([])
    expect(rec.events.at(-1)).toMatchObject({ type: 'end', seq: 26, reason: expect.stringContaining('recovered') })
    recoverRecording(path.join(dir, 'noend.jsonl'))
    expect(scanRecordings(dir, { exclude: [path.join(dir, 'live.jsonl')] }).map((c) => path.basename(c.path))).toEqual(['noheader.jsonl'])
    expect(await code(Promise.resolve().then(() => recoverRecording(path.join(dir, 'noheader.jsonl'))))).toBe('WT_RECORDING_HEADER')
  })
})

describe('diff command', () => {
  it('exit 1 when the paths diverge, 0 when the same', async () => {
    const a = await diffCommand(fixture('v1-home-direct.jsonl'), office)
    expect(a.exitCode).toBe(1)
    expect(a.text).toContain('First divergence: route / proxy chosen')
    const b = await diffCommand(office, office)
    expect(b.exitCode).toBe(0)
  })
})
