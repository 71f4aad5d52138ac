/**
 * `npm run bench`: every benchmark, each a ratio against a bare baseline measured in the
 * same run on the same machine. Figures only mean something side by side: this machine is
 * shared and noisy. `npm run bench -- ws sse` runs a subset.
 */
export {}

type Bench = () => Promise<Record<string, unknown>>

const BENCHES: Record<string, () => Promise<Bench>> = {
  ws: async () => (await import('./ws.ts')).benchWs as Bench,
  sse: async () => (await import('./sse.ts')).benchSse as Bench,
  h2: async () => (await import('./h2.ts')).benchH2 as Bench,
  poll: async () => (await import('./poll.ts')).benchPoll as Bench,
  recording: async () => (await import('./recording.ts')).benchRecording as Bench,
  ui: async () => (await import('./ui.ts')).benchUi as Bench,
}

const only = process.argv.slice(2)
const results: Record<string, unknown> = {}
for (const [name, load] of Object.entries(BENCHES)) {
  if (only.length && !only.includes(name)) continue
  process.stdout.write(`\n== ${name}\n`)
  let fn: Bench
  try {
    fn = await load()
    if (typeof fn !== 'function') throw new Error('no bench function exported')
  } catch (e) {
    process.stdout.write(`skipped: ${(e as Error).message}\n`)
    continue
  }
  try {
    const r = await fn()
    results[name] = r
    for (const [k, v] of Object.entries(r)) process.stdout.write(`  ${k.padEnd(28)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`)
  } catch (e) {
    results[name] = { error: (e as Error).message }
    process.stdout.write(`FAILED: ${(e as Error).stack ?? e}\n`)
  }
}
process.stdout.write(`\n${JSON.stringify(results)}\n`)
process.exit(0)
