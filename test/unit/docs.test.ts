// The docs tables are generated from the code; they must not drift.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { errorsDoc, limitsDoc } from '../gen-docs.ts'
import { EVENT_TYPES } from '../../shared/common/events/index.ts'

describe('docs', () => {
  it('docs/errors.md lists every error code (run npx tsx test/gen-docs.ts)', () => {
    expect(fs.readFileSync('docs/errors.md', 'utf8')).toBe(errorsDoc())
  })
  it('docs/limits.md lists every limit (run npx tsx test/gen-docs.ts)', () => {
    expect(fs.readFileSync('docs/limits.md', 'utf8')).toBe(limitsDoc())
  })
  it('docs/recording-format.md names every event type', () => {
    const doc = fs.readFileSync('docs/recording-format.md', 'utf8')
    const missing = EVENT_TYPES.filter((t) => !doc.includes(`\`${t}\``))
    expect(missing).toEqual([])
  })
})
