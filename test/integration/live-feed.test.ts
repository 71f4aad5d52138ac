// The live feed: bounded per frame, says how much it coalesced, and reads old ranges back from the recording.
import { afterEach, describe, expect, it } from 'vitest'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { Engine } from '../../shared/node/engine/engine.ts'
import { tmpFile } from '../fixtures/engine.ts'

const servers: Running[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('LiveFeed', () => {
  it('delivers at most maxBatchEvents, counts the rest as coalesced, and serves any range from ring or disk', async () => {
    const s = await wsServer((ws) => {
      for (let i = 0; i < 30_000; i++) ws.send(`m${i}`)
    })
    servers.push(s)
    const engine = new Engine({ host: 'test', limits: { liveRingSize: 2000, maxBatchEvents: 500 } })
    const live = engine.live()
    const conn = engine.open({ url: s.url, transport: 'ws', maxMessages: 30_000, statsIntervalMs: 0 }, { recordingPath: tmpFile() })
    let delivered = 0
    let coalesced = 0
    let maxBatch = 0
    const timer = setInterval(() => {
      const b = live.drain()
      delivered += b.events.length
      coalesced += b.coalesced[conn.id] ?? 0
      maxBatch = Math.max(maxBatch, b.events.length)
    }, 16)
    const end = await conn.done
    clearInterval(timer)
    const b = live.drain()
    delivered += b.events.length
    coalesced += b.coalesced[conn.id] ?? 0
    const total = end.seq + 1
    // Every event is either delivered or counted as coalesced: nothing silently vanishes.
    expect(delivered + coalesced).toBe(total)
    expect(maxBatch).toBeLessThanOrEqual(500)
    expect(coalesced).toBeGreaterThan(0)
    // Old events come back from the recording, byte-identical to what the ring would have held.
    const early = live.range(conn.id, 100, 50)
    expect(early.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i))
    const msgs = live.range(conn.id, 0, total).filter((e) => e.type === 'ws.message' && e.dir === 'in')
    expect(msgs).toHaveLength(30_000)
    expect(msgs.map((m) => (m as { text: string }).text).slice(0, 3)).toEqual(['m0', 'm1', 'm2'])
    expect(live.event(conn.id, total - 1)!.type).toBe('end')
    expect(live.summaries()[0]!.msgsIn).toBe(30_000)
    live.close()
  })
})
