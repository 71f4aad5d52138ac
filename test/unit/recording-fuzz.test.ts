/**
 * Property test of the importers (seeded, reproducible: set WT_FUZZ_SEED to replay one
 * seed): random bytes and mutated valid files (native, gzip, HAR; byte flips, cuts, spliced
 * lines, JSON values swapped for other types) never crash an importer. Every outcome is a
 * result or a WiretraceError whose code is in the ERRORS table and which names where.
 */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { importRecording } from '../../shared/node/recording/import.ts'
import { loadRecording } from '../../shared/node/recording/files.ts'
import { exportRecording } from '../../shared/node/recording/export.ts'
import { diffCommand } from '../../shared/node/recording/commands.ts'
import { toHar } from '../../shared/common/recording/har.ts'
import { parseHarText, fromHar } from '../../shared/common/recording/har-import.ts'
import { WiretraceError, isErrorCode } from '../../shared/common/errors/index.ts'
import { fixture, prng, randomBytes, randomText, tmpDir, readJsonl } from '../fixtures/recordings/helpers.ts'

const BASE_SEED = Number(process.env.WT_FUZZ_SEED ?? 20261127)

function assertCoded(e: unknown, ctx: string): void {
  if (!(e instanceof WiretraceError)) throw new Error(`${ctx}: not a coded error: ${(e as Error)?.stack ?? String(e)}`)
  expect(isErrorCode(e.code), ctx).toBe(true)
  expect(e.message.length, ctx).toBeGreaterThan(5)
}

function mutateBytes(rnd: () => number, src: Buffer): Buffer {
  const b = Buffer.from(src)
  const kind = Math.floor(rnd() * 6)
  if (kind === 0) {
    for (let i = 0; i < 1 + rnd() * 8; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
    return b
  }
  if (kind === 1) return b.subarray(0, Math.floor(rnd() * b.length))
  if (kind === 2) {
    const at = Math.floor(rnd() * b.length)
    return Buffer.concat([b.subarray(0, at), Buffer.from(randomBytes(rnd, 200)), b.subarray(at)])
  }
  if (kind === 3) {
    const lines = b.toString('utf8').split('\n')
    const i = Math.floor(rnd() * lines.length)
    const j = Math.floor(rnd() * lines.length)
    lines.splice(i, 0, lines[j]!)
    if (rnd() < 0.5) lines.splice(Math.floor(rnd() * lines.length), 1)
    return Buffer.from(lines.join(rnd() < 0.2 ? '\r\n' : '\n'))
  }
  if (kind === 4) {
    const at = Math.floor(rnd() * b.length)
    const len = Math.floor(rnd() * 50)
    return Buffer.concat([b.subarray(0, at), b.subarray(at + len)])
  }
  return Buffer.from(b.toString('utf8').replace(/\d+/, () => (rnd() < 0.5 ? '-1e309' : '"x"')))
}

const WEIRD = [null, 0, -1, 1e308, 'x', '', [], {}, [[]], { __proto__: { polluted: 1 } }, true, '\u0000', 'AAAA=', { length: 1e9 }]

function mutateJson(rnd: () => number, v: unknown, depth = 0): unknown {
  if (depth > 8 || rnd() < 0.08) return WEIRD[Math.floor(rnd() * WEIRD.length)]
  if (Array.isArray(v)) {
    const out = v.map((x) => mutateJson(rnd, x, depth + 1))
    if (rnd() < 0.1) out.push(WEIRD[Math.floor(rnd() * WEIRD.length)])
    return out
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (rnd() > 0.05) out[k] = mutateJson(rnd, x, depth + 1)
    if (rnd() < 0.05) out[randomText(rnd, 8)] = WEIRD[Math.floor(rnd() * WEIRD.length)]
    return out
  }
  return v
}

describe('importers never crash', () => {
  const office = fs.readFileSync(fixture('v1-office-proxy.jsonl'))
  const sources: Array<[string, Buffer]> = [
    ['native', office],
    ['v0', fs.readFileSync(fixture('v0-basic.jsonl'))],
    ['gz', zlib.gzipSync(office)],
    ['har', Buffer.from(JSON.stringify(toHar(readJsonl(fixture('v1-office-proxy.jsonl')).header, readJsonl(fixture('v1-office-proxy.jsonl')).events)))],
    ['chrome', fs.readFileSync(fixture('chrome-ws.har'))],
    ['toolkit', fs.readFileSync(fixture('httptoolkit-ws.har'))],
  ]

  it('random bytes and mutated files through importRecording and loadRecording (files)', async () => {
    const dir = tmpDir('wt-fuzz-')
    const rnd = prng(BASE_SEED)
    let ok = 0
    let coded = 0
    const codes = new Set<string>()
    for (let i = 0; i < 400; i++) {
      const [name, src] = sources[i % sources.length]!
      const data = i % 5 === 0 ? Buffer.from(randomBytes(rnd, 2000)) : mutateBytes(rnd, src)
      const file = path.join(dir, `in-${i}`)
      fs.writeFileSync(file, data)
      const ctx = `seed ${BASE_SEED} case ${i} (${name}, ${data.length} bytes)`
      const imported = path.join(dir, `out-${i}.jsonl`)
      const runs = [
        () => importRecording(file, { out: imported }),
        () => loadRecording(file),
        // What an import accepted must also export and compare without crashing.
        () => (fs.existsSync(imported) ? exportRecording(imported, { format: 'har', out: path.join(dir, `e-${i}.har`), rules: ['json:$..token', 'regex:/x+/'] }) : Promise.resolve()),
        () => (fs.existsSync(imported) ? exportRecording(imported, { format: 'md', out: path.join(dir, `e-${i}.md`) }) : Promise.resolve()),
        () => (fs.existsSync(imported) ? exportRecording(imported, { format: 'native', out: path.join(dir, `e-${i}.wtrace.gz`), rules: ['json:$..token'] }) : Promise.resolve()),
        () => (fs.existsSync(imported) ? diffCommand(imported, fixture('v1-home-direct.jsonl')) : Promise.resolve()),
      ]
      for (const run of runs) {
        try {
          await run()
          ok++
        } catch (e) {
          assertCoded(e, ctx)
          codes.add((e as WiretraceError).code)
          coded++
        }
      }
    }
    expect(ok).toBeGreaterThan(50)
    expect(coded).toBeGreaterThan(50)
    expect([...codes].every((c) => c.startsWith('WT_RECORDING_'))).toBe(true)
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
  }, 60_000)

  it('structurally mutated HAR documents through fromHar and parseHarText (pure)', () => {
    const rnd = prng(BASE_SEED + 1)
    const hars = sources.filter(([n]) => ['har', 'chrome', 'toolkit'].includes(n)).map(([, b]) => JSON.parse(b.toString('utf8')))
    let ok = 0
    for (let i = 0; i < 3000; i++) {
      const doc = mutateJson(rnd, hars[i % hars.length])
      try {
        const r = i % 2 ? fromHar(doc) : parseHarText(JSON.stringify(doc))
        for (const ev of r.events) {
          expect(typeof ev.seq).toBe('number')
          expect(typeof ev.type).toBe('string')
        }
        ok++
      } catch (e) {
        assertCoded(e, `seed ${BASE_SEED + 1} case ${i}`)
      }
    }
    expect(ok).toBeGreaterThan(100)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
