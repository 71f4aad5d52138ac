/** Opening a recording read-only: summaries, streaming through batches, reads by seq, no writes. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../../shared/node/engine/engine.ts'
import { HostAdapter } from '../../../shared/node/hosts/adapter.ts'
import { INDEX_STRIDE } from '../../../shared/node/hosts/recordings.ts'
import { startDemoServers, type DemoServers } from '../../../shared/node/demo/servers.ts'
import type { HostMessage } from '../../../shared/common/protocol/index.ts'
import type { WiretraceEvent } from '../../../shared/common/events/index.ts'

let demo: DemoServers
let tmp: string
let file: string
const N = INDEX_STRIDE * 2 + 10

beforeAll(async () => {
  demo = await startDemoServers()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-rec-'))
  const engine = new Engine({ recordingsDir: tmp, host: 'test' })
  const c = engine.open({ url: `${demo.wsUrl}/echo`, transport: 'ws' })
  file = c.writer!.path
  await new Promise<void>((resolve) => engine.onEvent((ev) => ev.type === 'open' && resolve()))
  for (let i = 0; i < N; i++) c.send({ kind: 'text', text: `m${i}` })
  await new Promise<void>((resolve) => {
    let echoes = 0
    engine.onEvent((ev) => {
      if (ev.type === 'ws.message' && ev.dir === 'in' && ++echoes === N) resolve()
    })
  })
  c.close(1000, 'done')
  await c.done
  await engine.shutdown()
})

afterAll(async () => {
  await demo.close()
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('opened recordings', () => {
  it('summarise, stream through batches, read back any event, and refuse writes', async () => {
    const engine = new Engine({ recordingsDir: null, host: 'test' })
    const adapter = new HostAdapter({ engine, host: 'test' })
    const [summary] = await adapter.openRecording(file)
    expect(summary!.id).toMatch(/^r1:/)
    expect(summary!.readOnly).toBe(true)
    const received: WiretraceEvent[] = []
    let summaryState = ''
    const peer = adapter.attach((m: HostMessage) => {
      if (m.t !== 'batch') return
      received.push(...m.batch.events)
      for (const s of m.batch.summaries) summaryState = s.state
      queueMicrotask(() => peer.receive({ t: 'ack' }))
    })
    peer.receive({ t: 'subscribe', credits: 1 })
    const t0 = Date.now()
    while (!received.some((e) => e.type === 'end') && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20))
    peer.close()
    const msgs = received.filter((e) => e.type === 'ws.message')
    expect(msgs.length).toBe(2 * N)
    expect(received.every((e) => e.conn === summary!.id)).toBe(true)
    expect(received.map((e) => e.seq)).toEqual(received.map((_, i) => i))
    expect(summaryState).toBe('closed')
    // Any event by seq through the sparse index, including past the first stride.
    const target = msgs[msgs.length - 1]!
    const got = await adapter.dispatch('event.get', { id: summary!.id, seq: target.seq })
    expect(got).toMatchObject({ ok: true, result: { seq: target.seq, type: 'ws.message' } })
    const range = await adapter.dispatch('events.range', { id: summary!.id, fromSeq: INDEX_STRIDE + 5, count: 3 })
    expect(range.ok && (range.result as WiretraceEvent[]).map((e) => e.seq)).toEqual([INDEX_STRIDE + 5, INDEX_STRIDE + 6, INDEX_STRIDE + 7])
    const send = await adapter.dispatch('session.send', { id: summary!.id, item: { kind: 'text', text: 'x' } })
    expect(send).toMatchObject({ ok: false, error: { code: 'WT_USAGE' } })
    expect((await adapter.dispatch('session.list', {})) as { result: Array<{ id: string }> }).toMatchObject({ ok: true })
    await adapter.close()
    await engine.shutdown()
  })

  it('says clearly when a file is not a recording', async () => {
    const engine = new Engine({ recordingsDir: null, host: 'test' })
    const adapter = new HostAdapter({ engine, host: 'test' })
    const bogus = path.join(tmp, 'bogus.jsonl')
    fs.writeFileSync(bogus, 'hello\n')
    const r = await adapter.dispatch('recording.open', { path: bogus })
    expect(r).toMatchObject({ ok: false, error: { code: 'WT_RECORDING_HEADER' } })
    const missing = await adapter.dispatch('recording.open', { path: path.join(tmp, 'nope.jsonl') })
    expect(missing).toMatchObject({ ok: false, error: { code: 'WT_RECORDING_NOT_FOUND' } })
    await adapter.close()
    await engine.shutdown()
  })
})
