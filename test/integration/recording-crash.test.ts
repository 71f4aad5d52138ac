/** SIGKILL during an export never leaves a half-written file under the final name. */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { toJsonl } from '../../shared/common/recording/native.ts'
import { fixture, randomRecording, tmpDir } from '../fixtures/recordings/helpers.ts'

const ROOT = path.resolve(fixture('.'), '../../..')

describe('crash during export', () => {
  it('killed mid-write: the final name holds the previous file, never a partial one', async () => {
    const dir = tmpDir()
    const rec = randomRecording(3, 200_000)
    const src = path.join(dir, 'big.jsonl')
    fs.writeFileSync(src, toJsonl(rec.header, rec.events))
    const out = path.join(dir, 'big.har')
    fs.writeFileSync(out, 'previous')
    const script = path.join(dir, 'run.mts')
    fs.writeFileSync(script, `import { exportRecording } from ${JSON.stringify(path.join(ROOT, 'shared/node/recording/export.ts'))}\nawait exportRecording(${JSON.stringify(src)}, { format: 'har', out: ${JSON.stringify(out)} })\nconsole.log('done')\n`)
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    // Kill as soon as the temp file has content.
    const killed = await new Promise<boolean>((resolve) => {
      const t = setInterval(() => {
        const tmp = fs.readdirSync(dir).find((n) => n.startsWith('.big.har.') && n.endsWith('.tmp'))
        if (tmp && fs.statSync(path.join(dir, tmp)).size > 0) {
          clearInterval(t)
          child.kill('SIGKILL')
          resolve(true)
        }
      }, 2)
      child.on('exit', () => {
        clearInterval(t)
        resolve(false)
      })
    })
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)))
    expect(killed).toBe(true)
    expect(fs.readFileSync(out, 'utf8')).toBe('previous')
    // Without the kill the export completes and replaces it.
    const ok = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: 'ignore' })
    await new Promise((r) => ok.on('exit', r))
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).log.version).toBe('1.2')
  }, 60_000)
})
