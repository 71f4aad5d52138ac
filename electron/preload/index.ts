/**
 * Sandboxed CommonJS preload. Exposes verb methods only, never ipcRenderer itself, plus
 * the one event-port handshake: `requestPort()` asks main for a MessagePort to the engine,
 * which arrives here and is handed to the page with window.postMessage.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron'

let openHandler: ((path: string) => void) | null = null
ipcRenderer.on('wiretrace:open-file', (_e, file: unknown) => {
  if (typeof file === 'string' && openHandler) openHandler(file)
})

contextBridge.exposeInMainWorld('wiretrace', {
  platform: process.platform,
  versions: { electron: process.versions.electron ?? '', chrome: process.versions.chrome ?? '', app: '' },
  requestPort: (): void => ipcRenderer.send('wiretrace:port-request'),
  openExternal: (url: string): Promise<boolean> => ipcRenderer.invoke('wiretrace:open-external', String(url)) as Promise<boolean>,
  /** Files to open (File > Open, file association, command line) arrive here once the page is ready. */
  onOpenFile: (fn: (path: string) => void): void => {
    openHandler = fn
    ipcRenderer.send('wiretrace:open-ready')
  },
  showOpenDialog: (): Promise<boolean> => ipcRenderer.invoke('wiretrace:open-dialog') as Promise<boolean>,
  /** The save dialog for an export: the chosen path, or null when cancelled. */
  showSaveDialog: (name: string): Promise<string | null> => ipcRenderer.invoke('wiretrace:save-dialog', String(name)) as Promise<string | null>,
  /** The path of a file dropped on the window. */
  pathForFile: (file: unknown): string => {
    try {
      return webUtils.getPathForFile(file as Parameters<typeof webUtils.getPathForFile>[0])
    } catch {
      return ''
    }
  },
})

/** The page's window (tsconfig.electron has no DOM lib; the sandboxed preload runs in a renderer). */
const page = globalThis as unknown as {
  location: { origin: string }
  postMessage(message: unknown, targetOrigin: string, transfer?: unknown[]): void
}

ipcRenderer.on('wiretrace:port', (event) => {
  const port = event.ports[0]
  if (!port) return
  // file:// pages have an opaque origin ("null"); the message stays within this window either way.
  page.postMessage({ type: 'wiretrace:port' }, page.location.origin === 'null' ? '*' : page.location.origin, [port])
})
