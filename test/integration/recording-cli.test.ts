/** The recording commands as the CLI runs them (argv in, text and exit status out). */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { exportRun, importRun, diffRun, replayRun } from '../../shared/node/recording/cli-runs.ts'
import { toErrorData, exitCodeFor } from '../../shared/common/errors/index.ts'
import { fixture, tmpDir } from '../fixtures/recordings/helpers.ts'

function io() {
  let out = ''
  const w = new Writable({ write: (c, _e, cb) => ((out += c.toString()), cb()) })
  return { io: { stdout: w, stderr: w }, text: () => out }
}

/** Like main(): errors become "code: message" and their exit status. */
async function cli(run: (argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }) => Promise<number>, argv: string[]) {
  const o = io()
  try {
    const code = await run(argv, o.io)
    return { code, text: o.text() }
  } catch (e) {
    const d = toErrorData(e)
    return { code: d.code === 'WT_USAGE' ? 2 : exitCodeFor(d.code), text: `${d.code}: ${d.message}` }
  }
}

describe('recording CLI', () => {
  it('export --format har|native|md, --no-redact, --redact-rule, -o', async () => {
    const dir = tmpDir()
    const src = fixture('v1-office-proxy.jsonl')
    const har = await cli(exportRun, [src, '--format', 'har', '--redact-rule', 'json:$..password', '--redact-rule', 'preset:payload-secrets', '-o', path.join(dir, 'o.har')])
    expect(har.code).toBe(0)
    expect(har.text).toMatch(/wrote .*o\.har \(har, 27 events/)
    expect(har.text).toContain('json:$..password')
    expect(fs.readFileSync(path.join(dir, 'o.har'), 'utf8')).not.toContain('pw1')
    const raw = await cli(exportRun, [src, '--no-redact', '-o', path.join(dir, 'o.wtrace.gz')])
    expect(raw.text).toContain('redaction: off')
    const md = await cli(exportRun, [src, '-f', 'md', '-o', path.join(dir, 'o.md')])
    expect(md.code).toBe(0)
  })

  it('import, diff and their exit statuses', async () => {
    const dir = tmpDir()
    const imp = await cli(importRun, [fixture('chrome-ws.har'), '-o', path.join(dir, 'c.jsonl')])
    expect(imp.code).toBe(0)
    expect(imp.text).toContain('(chrome)')
    expect(imp.text).toContain('1 HAR entry without a WebSocket or event stream left out')
    const d = await cli(diffRun, [fixture('v1-home-direct.jsonl'), fixture('v1-office-proxy.jsonl')])
    expect(d.code).toBe(1)
    expect((await cli(diffRun, [fixture('v1-home-direct.jsonl'), fixture('v1-home-direct.jsonl')])).code).toBe(0)
  })

  it('bad input: usage errors exit 2, unreadable recordings exit 5 naming the line', async () => {
    const dir = tmpDir()
    expect((await cli(exportRun, [fixture('v1-home-direct.jsonl'), '--format', 'pdf'])).code).toBe(2)
    expect((await cli(exportRun, [fixture('v1-home-direct.jsonl'), '--redact-rule', 'regex:/(/', '-o', path.join(dir, 'x')])).text).toContain('WT_OPTION_INVALID')
    expect((await cli(diffRun, [fixture('v1-home-direct.jsonl')])).code).toBe(2)
    const bad = path.join(dir, 'bad.jsonl')
    fs.writeFileSync(bad, 'hello world\n')
    const r = await cli(importRun, [bad, '-o', path.join(dir, 'y.jsonl')])
    expect(r.code).toBe(5)
    expect(r.text).toMatch(/WT_RECORDING_HEADER: .*neither a Wiretrace recording nor a HAR file \(it starts with 68 65 6c 6c 6f/)
    expect((await cli(replayRun, ['--help'])).text).toContain('--as-fast')
  })
})
