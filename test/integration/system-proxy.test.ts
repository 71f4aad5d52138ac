// The "system" network profile: the desktop host resolves the proxy (Electron's
// session.resolveProxy, here a stand-in resolver) before the engine opens, and the recording
// shows the system's answer as the rule that chose the route.
import { afterAll, describe, expect, it } from 'vitest'
import { Engine } from '../../shared/node/engine/engine.ts'
import { HostAdapter } from '../../shared/node/hosts/adapter.ts'
import { ChannelClient, type Channel, type HostMessage } from '../../shared/common/protocol/index.ts'
import { runLab } from '../../shared/node/lab/index.ts'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'

const cleanup: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanup.splice(0)) await c()
})

describe('system proxy (desktop host)', () => {
  it('asks the host for the system proxy and goes through it, recording the rule', async () => {
    const lab = await runLab({})
    cleanup.push(() => lab.close())
    const origin: Running = await wsServer((ws) => ws.send('through the system proxy'))
    cleanup.push(() => origin.close())
    const asked: string[] = []
    const engine = new Engine({ host: 'test' })
    const events: WiretraceEvent[] = []
    engine.onEvent((e) => events.push(e))
    const adapter = new HostAdapter({
      engine,
      host: 'test',
      targetsFile: null,
      resolveSystemProxy: async (url) => {
        asked.push(url)
        return `PROXY 127.0.0.1:${lab.port}; DIRECT`
      },
    })
    let toClient: (m: HostMessage) => void = () => {}
    const peer = adapter.attach((m) => queueMicrotask(() => toClient(JSON.parse(JSON.stringify(m)) as HostMessage)))
    const channel: Channel = {
      send: (m) => queueMicrotask(() => peer.receive(JSON.parse(JSON.stringify(m)))),
      onMessage: (fn) => (toClient = fn),
      onClose: () => {},
      close: () => peer.close(),
    }
    const client = new ChannelClient('memory', channel, { credits: 1 })
    const s = await client.call('session.open', { spec: { url: origin.url, transport: 'ws', network: { mode: 'system' }, maxMessages: 1 }, record: false })
    await engine.get(s.id)!.done
    expect(asked).toEqual([origin.url.replace('ws://', 'http://')])
    const rule = events.find((e) => e.type === 'proxy.rule')
    expect(rule).toMatchObject({ source: 'system', rule: expect.stringContaining(`PROXY 127.0.0.1:${lab.port}`) })
    expect(events.some((e) => e.type === 'proxy.connect' && e.status === 200)).toBe(true)
    expect(events.find((e) => e.type === 'ws.message' && e.dir === 'in')).toMatchObject({ text: 'through the system proxy' })
    channel.close()
    await adapter.close()
  })
})
