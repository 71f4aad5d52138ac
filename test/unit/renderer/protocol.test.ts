/**
 * The host API: runtime param validation, the channel client over an in-memory pair, and
 * the host adapter over a real engine with a real WebSocket server on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChannelClient, validateCommand, ParamError, type Channel, type ClientMessage, type HostMessage } from '../../../shared/common/protocol/index.ts'
import { Engine } from '../../../shared/node/engine/engine.ts'
import { HostAdapter, LIVE_PREVIEW_CHARS, livePreview } from '../../../shared/node/hosts/adapter.ts'
import { startDemoServers, type DemoServers } from '../../../shared/node/demo/servers.ts'
import type { LiveBatch } from '../../../shared/common/live.ts'
import type { WiretraceEvent } from '../../../shared/common/events/index.ts'

describe('validateCommand', () => {
  it('accepts well-formed params', () => {
    expect(() => validateCommand('session.open', { spec: { url: 'ws://127.0.0.1:1/', transport: 'ws' } })).not.toThrow()
    expect(() => validateCommand('session.send', { id: 'c1', item: { kind: 'binary', base64: 'AAEC' } })).not.toThrow()
    expect(() => validateCommand('events.range', { id: 'c1', fromSeq: 0, count: 100 })).not.toThrow()
  })
  it.each([
    ['nope', {}, /unknown command/],
    ['session.open', { spec: { url: 'ws://x', transport: 'carrier-pigeon' } }, /spec.transport/],
    ['session.open', { spec: { url: 'ws://x', transport: 'ws', headers: [['a']] } }, /spec.headers\[0\]/],
    ['session.open', { spec: { url: 'ws://x', transport: 'ws' }, extra: 1 }, /params.extra: unknown parameter/],
    ['session.send', { id: 'c1', item: { kind: 'json', text: '{' } }, /item.text: is not valid JSON/],
    ['session.send', { id: 'c1', item: { kind: 'ping', text: 'x'.repeat(126) } }, /125 bytes/],
    ['session.close', { id: 'c1', code: 999 }, /params.code/],
    ['events.range', { id: 'c1', fromSeq: -1, count: 1 }, /params.fromSeq/],
    ['events.range', { id: 'c1', fromSeq: 0, count: 1e9 }, /params.count/],
    ['targets.save', { target: { name: '', spec: { url: 'ws://x', transport: 'ws' } } }, /params.target.name/],
    ['session.open', JSON.parse('{"spec":{"url":"ws://x","transport":"ws","__proto__":{"polluted":1}}}'), /reserved key/],
  ])('rejects %s %j naming the field', (cmd, params, re) => {
    let err: unknown
    try {
      validateCommand(cmd, params)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ParamError)
    expect((err as ParamError).code).toBe('WT_USAGE')
    expect((err as Error).message).toMatch(re)
  })
})

/** An in-memory channel pair: client <-> adapter peer, with JSON round trips like the web host. */
function pair(adapter: HostAdapter): { client: ChannelClient; sent: ClientMessage[] } {
  let toClient: (m: HostMessage) => void = () => {}
  let closeFn: (why: string) => void = () => {}
  const sent: ClientMessage[] = []
  const peer = adapter.attach((m) => queueMicrotask(() => toClient(JSON.parse(JSON.stringify(m)) as HostMessage)))
  const channel: Channel = {
    send: (m) => {
      sent.push(m)
      queueMicrotask(() => peer.receive(JSON.parse(JSON.stringify(m))))
    },
    onMessage: (fn) => (toClient = fn),
    onClose: (fn) => (closeFn = fn),
    close: () => {
      peer.close()
      closeFn('closed')
    },
  }
  return { client: new ChannelClient('memory', channel, { credits: 1 }), sent }
}

describe('host adapter over a real engine', () => {
  let demo: DemoServers
  let engine: Engine
  let adapter: HostAdapter
  beforeAll(async () => {
    demo = await startDemoServers()
    engine = new Engine({ recordingsDir: null, host: 'test' })
    adapter = new HostAdapter({ engine, host: 'test', demo })
  })
  afterAll(async () => {
    await adapter.close()
    await engine.shutdown()
    await demo.close()
  })

  it('opens, streams batches with flow control, sends, fetches events and closes', async () => {
    const { client, sent } = pair(adapter)
    const batches: LiveBatch[] = []
    const seen: WiretraceEvent[] = []
    client.onBatch((b, ack) => {
      batches.push(b)
      seen.push(...b.events)
      setTimeout(ack, 30) // a slow renderer: the host must wait for the ack, not pile up
    })
    const s = await client.call('session.open', { spec: { url: `${demo.wsUrl}/echo`, transport: 'ws' }, record: false })
    expect(s.transport).toBe('ws')
    const until = async (pred: () => boolean, ms = 5000): Promise<void> => {
      const t0 = Date.now()
      while (!pred()) {
        if (Date.now() - t0 > ms) throw new Error('timed out')
        await new Promise((r) => setTimeout(r, 10))
      }
    }
    await until(() => seen.some((e) => e.type === 'open'))
    await client.call('session.send', { id: s.id, item: { kind: 'text', text: 'ping-pong' } })
    await until(() => seen.filter((e) => e.type === 'ws.message' && (e as { text?: string }).text === 'ping-pong').length === 2)
    const echo = seen.find((e) => e.type === 'ws.message' && (e as { dir?: string }).dir === 'in')!
    const full = await client.call('event.get', { id: s.id, seq: echo.seq })
    expect(full).toMatchObject({ type: 'ws.message', text: 'ping-pong', dir: 'in' })
    const range = await client.call('events.range', { id: s.id, fromSeq: 0, count: 3 })
    expect(range.map((e) => e.seq)).toEqual([0, 1, 2])
    await client.call('session.close', { id: s.id, code: 4000, reason: 'test' })
    await until(() => seen.some((e) => e.type === 'end'))
    const list = await client.call('session.list', {})
    expect(list.find((x) => x.id === s.id)?.state).toBe('closed')
    // Flow control: never more batches than acks + credits.
    const acks = sent.filter((m) => m.t === 'ack').length
    expect(batches.length).toBeLessThanOrEqual(acks + 1)
    client.close()
  })

  it('answers bad params and unknown ids with coded errors', async () => {
    const { client } = pair(adapter)
    await expect(client.call('session.send', { id: 'missing', item: { kind: 'text', text: 'x' } })).rejects.toMatchObject({ code: 'WT_USAGE' })
    await expect(client.call('session.open', { spec: { url: 'http://x', transport: 'ws' } })).rejects.toMatchObject({ code: 'WT_SCHEME_UNSUPPORTED' })
    client.close()
  })

  it('lists demo targets and keeps saved targets', async () => {
    const { client } = pair(adapter)
    const demoInfo = await client.call('demo.status', {})
    expect(demoInfo.running).toBe(true)
    expect(demoInfo.targets.map((t) => t.spec.transport)).toEqual(expect.arrayContaining(['ws', 'sse', 'poll', 'h2']))
    const after = await client.call('targets.save', { target: { name: 'mine', spec: { url: 'ws://127.0.0.1:1/', transport: 'ws' } } })
    expect(after.filter((t) => !t.demo).map((t) => t.name)).toEqual(['mine'])
    const deleted = await client.call('targets.delete', { name: 'mine' })
    expect(deleted.some((t) => t.name === 'mine')).toBe(false)
    client.close()
  })

  it('cuts long payloads in live batches, the full event stays fetchable', () => {
    const ev = { seq: 1, ts: 0, conn: 'c', type: 'ws.message', dir: 'in', opcode: 1, size: 10_000, text: 'y'.repeat(10_000) } as WiretraceEvent
    const cut = livePreview(ev) as WiretraceEvent & { text: string; elided?: boolean }
    expect(cut.text.length).toBe(LIVE_PREVIEW_CHARS)
    expect(cut.elided).toBe(true)
    expect((ev as { text: string }).text.length).toBe(10_000)
  })
})
