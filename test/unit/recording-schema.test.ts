/** docs/recording.schema.json describes what the engine and the importers write. */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { EVENT_TYPES } from '../../shared/common/events/index.ts'
import { parseHarText } from '../../shared/common/recording/har-import.ts'
import { Redactor } from '../../shared/common/recording/redact-rules.ts'
import { fixture, readJsonl, randomRecording } from '../fixtures/recordings/helpers.ts'

const schema = JSON.parse(fs.readFileSync(path.join(fixture('.'), '../../../docs/recording.schema.json'), 'utf8'))
const ajv = new Ajv({ allErrors: true, strict: false })
;(addFormats as unknown as (a: Ajv) => void)(ajv)
ajv.addSchema(schema)
const header = ajv.getSchema(`${schema.$id}#/definitions/header`)!
const event = ajv.getSchema(`${schema.$id}#/definitions/event`)!

function check(h: unknown, events: unknown[]): void {
  expect(header(h), JSON.stringify(header.errors)).toBe(true)
  for (const e of events) expect(event(e), `${JSON.stringify(e).slice(0, 200)} ${JSON.stringify(event.errors)}`).toBe(true)
}

describe('recording JSON Schema', () => {
  it('lists every event type', () => {
    expect([...schema.definitions.event.properties.type.enum].sort()).toEqual([...EVENT_TYPES].sort())
  })

  it('accepts the v1 golden recordings, redacted exports and imports', () => {
    for (const f of ['v1-office-proxy.jsonl', 'v1-home-direct.jsonl', 'v0-basic.v1.jsonl']) {
      const r = readJsonl(fixture(f))
      check(r.header, r.events)
      const red = new Redactor({ rules: ['preset:payload-secrets'] })
      check(red.header(r.header), r.events.map((e) => red.event(e)))
    }
    const chrome = parseHarText(fs.readFileSync(fixture('chrome-ws.har'), 'utf8'))
    check(chrome.header, chrome.events)
    const toolkit = parseHarText(fs.readFileSync(fixture('httptoolkit-ws.har'), 'utf8'))
    check(toolkit.header, toolkit.events)
    const rnd = randomRecording(5, 300)
    check(rnd.header, rnd.events)
  })

  it('rejects broken events (the schema can fail)', () => {
    expect(event({ seq: 1, ts: 1, conn: 'c', type: 'ws.message', dir: 'sideways', opcode: 1, size: 1 })).toBe(false)
    expect(event({ seq: 1, ts: 1, conn: 'c', type: 'nope' })).toBe(false)
    expect(event({ seq: 1, ts: 1, conn: 'c', type: 'end' })).toBe(false)
    expect(header({ format: 'wiretrace', version: 1 })).toBe(false)
  })
})
