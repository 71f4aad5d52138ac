import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import { migrateRecording, migrationSteps, MIGRATIONS } from '../../shared/common/recording/migrate.ts'
import { RECORDING_VERSION } from '../../shared/common/recording/format.ts'
import { toJsonl } from '../../shared/common/recording/native.ts'
import { WiretraceError } from '../../shared/common/errors/index.ts'
import { fixture, readJsonl } from '../fixtures/recordings/helpers.ts'

describe('migration chain', () => {
  it('has one step per version up to the current one', () => {
    expect(MIGRATIONS.length).toBe(RECORDING_VERSION)
    MIGRATIONS.forEach((m, i) => expect([m.from, m.to]).toEqual([i, i + 1]))
  })

  it('v0 golden file migrates to the committed v1 golden file', () => {
    const v0 = readJsonl(fixture('v0-basic.jsonl'))
    const r = migrateRecording(v0.header, v0.events)
    expect(r.steps).toEqual(['v0->v1'])
    const text = toJsonl(r.header, r.events)
    const golden = fixture('v0-basic.v1.jsonl')
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, text)
    expect(text).toBe(fs.readFileSync(golden, 'utf8'))
    const msg = r.events.find((e) => e.type === 'ws.message' && e.dir === 'out') as { text: string; size: number }
    expect(msg).toMatchObject({ text: 'hi ☃', size: 6 })
    expect(r.events.find((e) => e.type === 'ws.message' && e.dir === 'in')).toMatchObject({ base64: 'AAEC', size: 3, opcode: 2 })
    expect(r.events.find((e) => e.type === 'ws.close')).toMatchObject({ initiator: 'remote', wasClean: true, code: 1001 })
    expect(r.header).toMatchObject({ version: 1, secrets: 'redacted', timeOrigin: Date.parse('2026-11-18T11:06:40.000Z') })
  })

  it('current files pass through untouched (same objects)', () => {
    const v1 = readJsonl(fixture('v1-home-direct.jsonl'))
    const r = migrateRecording(v1.header, v1.events)
    expect(r.steps).toEqual([])
    expect(r.events).toBe(v1.events)
  })

  it('a newer or invalid version is a coded error', () => {
    for (const v of [RECORDING_VERSION + 1, -1, 1.5]) {
      try {
        migrationSteps(v)
        expect.unreachable()
      } catch (e) {
        expect((e as WiretraceError).code).toBe('WT_RECORDING_VERSION')
      }
    }
  })
})
