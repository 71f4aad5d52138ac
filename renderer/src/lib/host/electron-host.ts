/**
 * The Electron host link. The preload exposes `window.wiretrace` (verb methods only) and,
 * after `requestPort()`, hands the page a MessagePort to the engine's utility process with
 * `window.postMessage`. The API then runs over that port exactly as over a WebSocket.
 */
import { ChannelClient, type Channel, type HostClient, type HostMessage } from '../../../../shared/common/protocol/index.ts'

export interface PreloadApi {
  readonly platform: string
  readonly versions: { electron: string; chrome: string; app: string }
  requestPort(): void
  openExternal(url: string): Promise<boolean>
  onOpenFile?(fn: (path: string) => void): void
  showOpenDialog?(): Promise<boolean>
  showSaveDialog?(name: string): Promise<string | null>
  pathForFile?(file: File): string
}

declare global {
  interface Window {
    wiretrace?: PreloadApi
  }
}

export function connectElectron(api: PreloadApi): Promise<HostClient> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the engine process did not answer (no port within 10 s)')), 10_000)
    const onWindowMessage = (e: MessageEvent): void => {
      if (e.source !== window || (e.data as { type?: unknown } | null)?.type !== 'wiretrace:port' || !e.ports[0]) return
      window.removeEventListener('message', onWindowMessage)
      clearTimeout(timer)
      const port = e.ports[0]
      let onClose: (why: string) => void = () => {}
      const channel: Channel = {
        send: (m) => port.postMessage(m),
        onMessage: (fn) => {
          port.onmessage = (ev: MessageEvent) => fn(ev.data as HostMessage)
        },
        onClose: (fn) => (onClose = fn),
        close: () => port.close(),
      }
      port.addEventListener('close', () => onClose('the engine process went away'))
      port.start()
      resolve(new ChannelClient('electron', channel))
    }
    window.addEventListener('message', onWindowMessage)
    api.requestPort()
  })
}
