/**
 * `npm test`: type checks, lint, the Electron build (main, preload, renderer), then every
 * vitest suite (unit, integration with real servers and proxies, e2e in Chromium). Ends
 * with one plain line "N passed, N failed, N skipped" that CI reads.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'

const steps: Array<[string, string[]]> = [
  ['typecheck', ['npm', 'run', '--silent', 'typecheck']],
  ['lint', ['npx', 'eslint', '.']],
  ['build', ['npx', 'electron-vite', 'build']],
]

let failedSteps = 0
for (const [name, cmd] of steps) {
  const t0 = Date.now()
  process.stdout.write(`\n== ${name}: ${cmd.join(' ')}\n`)
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'inherit' })
  const ok = r.status === 0
  process.stdout.write(`== ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  if (!ok) failedSteps++
}

fs.mkdirSync('test-results', { recursive: true })
const report = 'test-results/vitest.json'
fs.rmSync(report, { force: true })
process.stdout.write('\n== vitest\n')
const extra = process.argv.slice(2)
const v = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra], { stdio: 'inherit' })

let passed = 0
let failed = 0
let skipped = 0
try {
  const j = JSON.parse(fs.readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number }
  passed = j.numPassedTests
  failed = j.numFailedTests
  skipped = j.numPendingTests + j.numTodoTests
} catch {
  failed++
}
// A failed build, lint or type check counts as a failed test: CI must not pass on it.
failed += failedSteps
if (v.status !== 0 && failed === 0) failed = 1
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
process.exit(failed > 0 ? 1 : 0)
