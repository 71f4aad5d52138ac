// The "system" network profile: the desktop host resolves the proxy (Electron's
// session.resolveProxy, here a stand-in resolver) before the engine opens, and the recording
// shows the system's answer as the rule that chose the route. A lookup that fails or never
// answers is recorded as such: the host puts the failure in network.resolveError and the engine
// routes DIRECT with the rule "system proxy lookup failed: …" and one warning diagnosis.
import { afterAll, describe, expect, it } from 'vitest'
import { Engine } from '../../shared/node/engine/engine.ts'
import { HostAdapter } from '../../shared/node/hosts/adapter.ts'
import { ChannelClient, type Channel, type HostMessage } from '../../shared/common/protocol/index.ts'
import { runLab } from '../../shared/node/lab/index.ts'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'
import { run } from '../fixtures/engine.ts'

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

  /** Opens a ws connection with the System profile through an adapter whose lookup misbehaves. */
  async function openWithLookup(resolveSystemProxy: (url: string) => Promise<string>, systemProxyTimeoutMs?: number): Promise<{ events: WiretraceEvent[]; resolution: unknown }> {
    const origin: Running = await wsServer((ws) => ws.send('direct after all'))
    cleanup.push(() => origin.close())
    const engine = new Engine({ host: 'test' })
    const events: WiretraceEvent[] = []
    engine.onEvent((e) => events.push(e))
    const adapter = new HostAdapter({ engine, host: 'test', targetsFile: null, resolveSystemProxy, ...(systemProxyTimeoutMs ? { systemProxyTimeoutMs } : {}) })
    cleanup.push(() => adapter.close())
    const r = await adapter.dispatch('session.open', { spec: { url: origin.url, transport: 'ws', network: { mode: 'system' }, maxMessages: 1 }, record: false })
    expect(r.ok).toBe(true)
    const id = (r as { result: { id: string } }).result.id
    await engine.get(id)!.done
    const resolution = await adapter.dispatch('proxy.resolve', { url: origin.url, network: { mode: 'system' } })
    return { events, resolution }
  }

  it.each([
    ['fails', () => Promise.reject(new Error('net::ERR_PAC_SCRIPT_FAILED')), undefined, /ERR_PAC_SCRIPT_FAILED/],
    ['never answers', () => new Promise<string>(() => {}), 300, /no answer within 300 ms/],
  ])('when the lookup %s, the route says so and a warning diagnosis explains it (never a silent DIRECT)', async (_what, resolver, timeout, why) => {
    const t0 = Date.now()
    const { events, resolution } = await openWithLookup(resolver as (url: string) => Promise<string>, timeout)
    const rule = events.find((e) => e.type === 'proxy.rule')
    expect(rule).toMatchObject({ source: 'system', chosen: 'DIRECT', rule: expect.stringMatching(/^system proxy lookup failed: /) })
    expect((rule as { rule: string }).rule).toMatch(why)
    // Exactly one warning: the engine's, from the spec's resolveError (the host adds none of its own).
    const diags = events.filter((e) => e.type === 'diagnosis')
    expect(diags.map((d) => (d as { code: string }).code)).toEqual(['WT_SYSTEM_PROXY_LOOKUP'])
    const diag = diags[0]
    expect(diag).toMatchObject({ code: 'WT_SYSTEM_PROXY_LOOKUP', severity: 'warning', title: 'The system proxy could not be looked up: going DIRECT' })
    expect((diag as { explanation: string }).explanation).toMatch(why)
    // The diagnosis comes before the route it explains, and the connection still works (DIRECT).
    expect(diag!.seq).toBeLessThan(rule!.seq)
    expect(events.find((e) => e.type === 'ws.message' && e.dir === 'in')).toMatchObject({ text: 'direct after all' })
    const start = events.find((e) => e.type === 'conn.start') as { spec: { network: { resolveError?: string; resolved?: string } } }
    expect(start.spec.network.resolveError).toMatch(why)
    // The failure is in resolveError only; resolved stays for a real answer.
    expect(start.spec.network.resolved).toBeUndefined()
    // proxy.resolve (the composer's "before connecting" answer) reports the failure as a failure.
    expect(resolution).toMatchObject({ ok: true, result: { available: true, source: 'system', rule: expect.stringMatching(/^system proxy lookup failed: /), routes: ['DIRECT'], error: { code: 'WT_SYSTEM_PROXY_LOOKUP' } } })
    if (timeout) expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('resolves the system proxy for the composer before connecting, and says why web mode cannot', async () => {
    const engine = new Engine({ host: 'test' })
    const desktop = new HostAdapter({ engine, host: 'desktop', targetsFile: null, resolveSystemProxy: async () => 'PROXY 127.0.0.1:3128; DIRECT' })
    const web = new HostAdapter({ engine, host: 'web', targetsFile: null })
    cleanup.push(() => desktop.close(), () => web.close())
    const d = await desktop.dispatch('proxy.resolve', { url: 'wss://example.test/socket', network: { mode: 'system' } })
    expect(d).toMatchObject({ ok: true, result: { available: true, source: 'system', rule: 'PROXY 127.0.0.1:3128; DIRECT', routes: ['http://127.0.0.1:3128', 'DIRECT'] } })
    const w = await web.dispatch('proxy.resolve', { url: 'wss://example.test/socket', network: { mode: 'system' } })
    expect(w).toMatchObject({ ok: true, result: { available: false, routes: ['DIRECT'] } })
    expect((w as { result: { why: string } }).result.why).toMatch(/desktop app/)
  })

  it('the engine reads resolveError itself (no host involved): DIRECT, the rule says why, one warning, secrets masked', async () => {
    const origin: Running = await wsServer((ws) => ws.send('direct'))
    cleanup.push(() => origin.close())
    const why = 'net::ERR_PAC_NOT_FETCHED for http://corp:pac-SECRET-1@wpad.corp/proxy.pac?token=tok-SECRET-2'
    // A spec from an older host may carry both; the failure wins over the text put in resolved.
    for (const network of [{ mode: 'system' as const, resolveError: why }, { mode: 'system' as const, resolveError: why, resolved: `system proxy lookup failed: ${why}` }]) {
      const r = await run({ url: origin.url, transport: 'ws', network, maxMessages: 1 })
      expect(r.end.exitCode, JSON.stringify(r.of('error'))).toBe(0)
      const rules = r.of('proxy.rule')
      expect(rules).toHaveLength(1)
      expect(rules[0]).toMatchObject({ source: 'system', chosen: 'DIRECT', fallbacks: [], rule: 'system proxy lookup failed: net::ERR_PAC_NOT_FETCHED for http://corp:***@wpad.corp/proxy.pac?token=***' })
      const ds = r.of('diagnosis')
      expect(ds.map((d) => [d.code, d.severity])).toEqual([['WT_SYSTEM_PROXY_LOOKUP', 'warning']])
      expect(ds[0]!.explanation).toContain('failed: net::ERR_PAC_NOT_FETCHED for http://corp:***@wpad.corp/proxy.pac?token=***. The connection goes DIRECT')
      expect(ds[0]!.seq).toBeLessThan(rules[0]!.seq)
      const shown = JSON.stringify([...rules, ...ds])
      expect(shown).not.toContain('SECRET')
      expect(r.of('ws.message').find((m) => m.dir === 'in')).toMatchObject({ text: 'direct' })
    }
  })
})

describe('system proxy answer with credentials', () => {
  it('is not shown raw as the rule, nor kept raw in the recording header; it still routes', async () => {
    const lab = await runLab({})
    cleanup.push(() => lab.close())
    const origin: Running = await wsServer((ws) => ws.send('via system'))
    cleanup.push(() => origin.close())
    const answer = `PROXY 127.0.0.1:${lab.port}; DIRECT u:SysSecret-9@h:80`
    const r = await run({ url: origin.url, transport: 'ws', network: { mode: 'system', resolved: answer }, maxMessages: 1 })
    const rules = r.of('proxy.rule')
    expect(rules[0]).toMatchObject({ source: 'system', chosen: `http://127.0.0.1:${lab.port}`, rule: expect.stringContaining(`PROXY 127.0.0.1:${lab.port}`) })
    expect(r.of('ws.message').find((m) => m.dir === 'in')).toMatchObject({ text: 'via system' })
    expect(JSON.stringify(r.events)).not.toContain('SysSecret-9')
    const { readFileSync } = await import('node:fs')
    expect(readFileSync(r.file, 'utf8')).not.toContain('SysSecret-9')
    const engine = new Engine({ host: 'test' })
    const desktop = new HostAdapter({ engine, host: 'desktop', targetsFile: null, resolveSystemProxy: async () => 'PROXY u:SysSecret-8@127.0.0.1:3128' })
    cleanup.push(() => desktop.close())
    const d = await desktop.dispatch('proxy.resolve', { url: 'wss://example.test/socket', network: { mode: 'system' } })
    expect(d).toMatchObject({ ok: true, result: { source: 'system', rule: expect.stringContaining('PROXY u:***@127.0.0.1:3128') } })
    expect(JSON.stringify(d)).not.toContain('SysSecret-8')
  })
})
