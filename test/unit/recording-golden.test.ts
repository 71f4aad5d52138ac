/**
 * Golden outputs per format version: the committed HAR and Markdown exports of the v1
 * fixtures. Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff.
 */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import { toHar } from '../../shared/common/recording/har.ts'
import { toMarkdown } from '../../shared/common/recording/markdown.ts'
import { Redactor } from '../../shared/common/recording/redact-rules.ts'
import { diffRecordings, renderDiff } from '../../shared/common/recording/diff.ts'
import { fixture, readJsonl } from '../fixtures/recordings/helpers.ts'

function golden(name: string, text: string): void {
  const file = fixture(name)
  if (process.env.UPDATE_GOLDEN || !fs.existsSync(file)) fs.writeFileSync(file, text)
  expect(text).toBe(fs.readFileSync(file, 'utf8'))
}

describe('golden exports (format v1)', () => {
  for (const name of ['v1-office-proxy', 'v1-home-direct']) {
    it(`${name}: HAR and Markdown, redacted by default`, () => {
      const rec = readJsonl(fixture(`${name}.jsonl`))
      const r = new Redactor()
      const header = r.header(rec.header)
      const events = rec.events.map((e) => r.event(e))
      golden(`${name}.golden.har`, JSON.stringify(toHar(header, events, { redaction: r.manifest() }), null, 2) + '\n')
      golden(`${name}.golden.md`, toMarkdown(header, events, { redaction: r.manifest(), source: `${name}.jsonl` }))
    })
  }

  it('home vs office diff text', () => {
    const a = readJsonl(fixture('v1-home-direct.jsonl'))
    const b = readJsonl(fixture('v1-office-proxy.jsonl'))
    golden('home-vs-office.golden.txt', renderDiff(diffRecordings({ label: 'home', ...a }, { label: 'office', ...b })))
  })
})
