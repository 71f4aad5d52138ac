/**
 * WebSocket recording throughput: 1,000,000 x 64 B messages from a blasting server,
 * recorded by the engine to disk, vs a bare ws client that only counts the same stream.
 * Both runs in the same process run, alternating, best of N. Target: >= 0.5x, zero loss,
 * memory flat in the number of messages. Also reported, from the same rounds: the engine
 * without a recording (the ceiling) and with the in-thread writer (no worker thread).
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import { beforeTimedRun, freshRecording } from './files.ts'
import os from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import { Engine } from '../../shared/node/engine/engine.ts'
import { readRecording } from '../../shared/common/recording/reader.ts'

async function blaster(total: number, size: number): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(path.join(import.meta.dirname, 'blaster.ts'), [String(total), String(size)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))))
  return { port, child }
}

export async function bare(total: number, size: number): Promise<number> {
  const { port, child } = await blaster(total, size)
  beforeTimedRun()
  const t0 = performance.now()
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false })
    let n = 0
    ws.on('message', () => {
      if (++n === total) {
        ws.terminate()
        resolve()
      }
    })
  })
  const dt = performance.now() - t0
  child.kill()
  return total / (dt / 1000)
}

export async function engine(total: number, size: number, file: string | null): Promise<{ rate: number; rssGrowthMb: number; peakRssMb: number }> {
  const { port, child } = await blaster(total, size)
  const e = new Engine({ host: 'test' })
  await freshRecording(file)
  const t0 = performance.now()
  const rss: number[] = []
  const timer = setInterval(() => rss.push(process.memoryUsage().rss), 100)
  // Timed to the last message (the blaster does not answer the close handshake), read when the
  // total-th message arrives, as the bare client does (not a clock read per message).
  let lastAt = 0
  let seen = 0
  e.onEvent((ev) => {
    if (ev.type === 'ws.message' && ev.dir === 'in' && ++seen === total) lastAt = performance.now()
  })
  const c = e.open({ url: `ws://127.0.0.1:${port}/`, transport: 'ws', maxMessages: total, ws: { deflate: false }, statsIntervalMs: 1000 }, { recordingPath: file })
  const stopAt = setInterval(() => {
    if (c.counters.msgsIn >= total) c.stop('benchmark done')
  }, 20)
  const end = await c.done
  clearInterval(stopAt)
  if (!lastAt) lastAt = performance.now()
  const dt = lastAt - t0
  clearInterval(timer)
  child.kill()
  if (end.msgsIn !== total) throw new Error(`engine received ${end.msgsIn} of ${total}`)
  const q = Math.floor(rss.length / 4)
  const early = Math.max(...rss.slice(0, Math.max(1, q)))
  const late = Math.max(...rss.slice(-Math.max(1, q)))
  return { rate: total / (dt / 1000), rssGrowthMb: (late - early) / 1e6, peakRssMb: Math.max(...rss) / 1e6 }
}

export async function benchWs(opts: { total?: number; rounds?: number; noRecording?: boolean; inThread?: boolean } = {}): Promise<Record<string, number | string>> {
  const total = opts.total ?? 1_000_000
  const rounds = opts.rounds ?? 3
  const noRecording = opts.noRecording ?? true
  const inThread = opts.inThread ?? true
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-'))
  const file = path.join(dir, 'ws.jsonl')
  let bestBare = 0
  let bestEng = { rate: 0, rssGrowthMb: 0, peakRssMb: 0 }
  // The engine without a recording (the ceiling the recording writer is measured against) and
  // with the in-thread writer (WIRETRACE_RECORDING_WORKER=0: the writer before it had a worker).
  let bestNoRec = 0
  let bestInThread = 0
  for (let i = 0; i < rounds; i++) {
    bestBare = Math.max(bestBare, await bare(total, 64))
    const r = await engine(total, 64, file)
    if (r.rate > bestEng.rate) bestEng = r
    if (noRecording) bestNoRec = Math.max(bestNoRec, (await engine(total, 64, null)).rate)
    if (inThread) {
      const saved = process.env.WIRETRACE_RECORDING_WORKER
      process.env.WIRETRACE_RECORDING_WORKER = '0'
      try {
        bestInThread = Math.max(bestInThread, (await engine(total, 64, file + '.in-thread')).rate)
      } finally {
        if (saved === undefined) delete process.env.WIRETRACE_RECORDING_WORKER
        else process.env.WIRETRACE_RECORDING_WORKER = saved
      }
    }
  }
  // Zero loss: every message is in the recording, in order.
  const rec = readRecording(fs.readFileSync(file))
  const recorded = rec.events.filter((e) => e.type === 'ws.message').length
  const size = fs.statSync(file).size
  fs.rmSync(dir, { recursive: true, force: true })
  return {
    workload: `${total} x 64 B WebSocket messages`,
    bareWsMsgsPerSec: Math.round(bestBare),
    engineRecordedMsgsPerSec: Math.round(bestEng.rate),
    ratio: Number((bestEng.rate / bestBare).toFixed(2)),
    target: '>= 0.5',
    ...(noRecording ? { engineNoRecordingMsgsPerSec: Math.round(bestNoRec), noRecordingRatio: Number((bestNoRec / bestBare).toFixed(2)) } : {}),
    ...(inThread ? { engineInThreadWriterMsgsPerSec: Math.round(bestInThread), inThreadRatio: Number((bestInThread / bestBare).toFixed(2)) } : {}),
    recordedMessages: recorded,
    lost: total - recorded,
    recordingMb: Number((size / 1e6).toFixed(1)),
    rssGrowthMb: Number(bestEng.rssGrowthMb.toFixed(1)),
    peakRssMb: Number(bestEng.peakRssMb.toFixed(1)),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const total = Number(process.argv[2] ?? 1_000_000)
  console.log(await benchWs({ total, rounds: Number(process.argv[3] ?? 2) }))
}
