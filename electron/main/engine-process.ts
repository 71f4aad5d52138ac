/**
 * The engine in an Electron utilityProcess. Main sends it one MessagePort per renderer;
 * each port gets a Peer of the shared host adapter (same dispatch as web mode).
 * Uses only Node and the parentPort Electron gives utility processes.
 */
import path from 'node:path'
import type { MessagePortMain } from 'electron'
import { Engine } from '../../shared/node/engine/engine.ts'
import { HostAdapter, SYSTEM_PROXY_TIMEOUT_MS } from '../../shared/node/hosts/adapter.ts'
import { defaultRecordingsDir, defaultTargetsFile } from '../../shared/node/hosts/paths.ts'

const userData = process.env.WIRETRACE_USER_DATA
const engine = new Engine({ recordingsDir: userData ? path.join(userData, 'recordings') : defaultRecordingsDir(), host: 'desktop' })
// The system proxy is known to Chromium's network stack in the main process: ask it. A failed
// or unanswered lookup rejects (never a silent "DIRECT"): the adapter records it as such.
const pending = new Map<number, (answer: { rule?: unknown; error?: unknown }) => void>()
let nextAsk = 0
function resolveSystemProxy(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = ++nextAsk
    const timer = setTimeout(() => {
      pending.delete(id)
      reject(new Error(`session.resolveProxy did not answer within ${SYSTEM_PROXY_TIMEOUT_MS} ms`))
    }, SYSTEM_PROXY_TIMEOUT_MS)
    pending.set(id, (answer) => {
      clearTimeout(timer)
      pending.delete(id)
      if (typeof answer.rule === 'string') resolve(answer.rule)
      else reject(new Error(`session.resolveProxy failed: ${typeof answer.error === 'string' ? answer.error : 'no answer'}`))
    })
    process.parentPort.postMessage({ type: 'resolve-proxy', id, url })
  })
}
const adapter = new HostAdapter({ engine, host: 'desktop', targetsFile: userData ? path.join(userData, 'targets.json') : defaultTargetsFile(), resolveSystemProxy })

// The demo servers are one click away from the first start: run them now (loopback only).
adapter.startDemo().catch((e: unknown) => console.error('wiretrace: demo servers did not start:', (e as Error).message))

process.parentPort.on('message', (e: { data: unknown; ports: MessagePortMain[] }) => {
  const msg = e.data as { type?: unknown; id?: unknown; rule?: unknown; error?: unknown } | null
  if (msg?.type === 'proxy-resolved' && typeof msg.id === 'number') {
    pending.get(msg.id)?.({ rule: msg.rule, error: msg.error })
    return
  }
  if (msg?.type !== 'port') return
  const port = e.ports[0]
  if (!port) return
  const peer = adapter.attach((m) => port.postMessage(m))
  port.on('message', (ev) => peer.receive(ev.data))
  port.on('close', () => peer.close())
  port.start()
})

const shutdown = (): void => {
  void adapter.close().then(() => engine.shutdown()).finally(() => process.exit(0))
}
process.on('SIGTERM', shutdown)
