/**
 * The Electron main process: a thin, locked-down shell. It owns the window and brokers a
 * MessagePort between the renderer and the engine, which runs in a utilityProcess so the
 * UI thread never does connection work. IPC handlers check the sender and validate params.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, MessageChannelMain, session, shell, utilityProcess, type IpcMainEvent, type IpcMainInvokeEvent, type MenuItemConstructorOptions, type UtilityProcess } from 'electron'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CSP, isOurPage, isSafeExternal, recordingArgs, rendererUrl, safeSaveName } from './security.ts'
import { configDir } from '../../shared/node/hosts/paths.ts'

// One config folder for the desktop app, web mode and the CLI (profiles.json, targets.json), so
// `wiretrace record --profile NAME` finds the profiles saved in the app. Electron would name it
// after the app, whose case differs between a dev run and a packaged one on Linux. A
// --user-data-dir (tests, portable setups) still wins.
if (!app.commandLine.hasSwitch('user-data-dir')) app.setPath('userData', configDir())

const here = path.dirname(fileURLToPath(import.meta.url))
const PAGE = rendererUrl(path.join(here, '..', 'renderer'), app.isPackaged)
const PRELOAD = path.join(here, '..', 'preload', 'index.cjs')
const ENGINE = path.join(here, 'engine.js')

let engine: UtilityProcess | null = null
let engineExits = 0
const windows = new Set<BrowserWindow>()

function startEngine(): UtilityProcess {
  const child = utilityProcess.fork(ENGINE, [], {
    serviceName: 'Wiretrace engine',
    stdio: 'inherit',
    env: { ...process.env, WIRETRACE_USER_DATA: app.getPath('userData'), WIRETRACE_APP_VERSION: app.getVersion() },
  })
  // The engine asks for the system proxy of a URL (network profile "system"); answer with
  // Chromium's resolution (PAC, WPAD, OS settings), e.g. "PROXY proxy:3128; DIRECT". A failure is
  // answered as a failure (the engine records "lookup failed", never a silent DIRECT).
  child.on('message', (msg: { type?: unknown; id?: unknown; url?: unknown }) => {
    if (msg?.type !== 'resolve-proxy' || typeof msg.id !== 'number') return
    const id = msg.id
    if (typeof msg.url !== 'string' || !/^https?:\/\//i.test(msg.url)) {
      child.postMessage({ type: 'proxy-resolved', id, error: 'not an http(s) URL' })
      return
    }
    session.defaultSession
      .resolveProxy(msg.url)
      .then((rule) => child.postMessage({ type: 'proxy-resolved', id, rule }))
      .catch((e: unknown) => child.postMessage({ type: 'proxy-resolved', id, error: String((e as Error)?.message ?? e).slice(0, 500) }))
  })
  child.on('exit', (code) => {
    if (engine !== child) return
    engine = null
    // Restart a crashed engine a few times; each window then asks for a fresh port.
    if (!quitting && ++engineExits <= 3) {
      console.error(`wiretrace: the engine process exited (${code}); restarting`)
      engine = startEngine()
      for (const w of windows) w.webContents.reload()
    }
  })
  return child
}

/** Only our own window's top frame, showing our page, may use the IPC verbs. */
function trusted(event: IpcMainEvent | IpcMainInvokeEvent): boolean {
  const win = BrowserWindow.fromWebContents(event.sender)
  if (!win || !windows.has(win)) return false
  const frame = event.senderFrame
  return frame !== null && frame === event.sender.mainFrame && isOurPage(frame.url, PAGE)
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 900,
    minHeight: 560,
    show: false,
    title: 'Wiretrace',
    autoHideMenuBar: true,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  })
  windows.add(win)
  win.on('closed', () => windows.delete(win))
  win.once('ready-to-show', () => win.show())
  void win.loadURL(PAGE)
}

let quitting = false

/**
 * Files to open (file association double-click, `wiretrace FILE`, File > Open) wait here
 * until a window's renderer says it is ready for them ('wiretrace:open-ready').
 */
const pendingOpen: string[] = recordingArgs(process.argv.slice(1))
const readyWindows = new WeakSet<BrowserWindow>()

function openInApp(files: string[]): void {
  const win = [...windows].find((w) => readyWindows.has(w))
  if (!win) {
    pendingOpen.push(...files)
    return
  }
  for (const f of files) win.webContents.send('wiretrace:open-file', f)
  if (win.isMinimized()) win.restore()
  win.focus()
}

async function chooseAndOpen(): Promise<void> {
  const win = BrowserWindow.getFocusedWindow() ?? [...windows][0]
  const opts: Electron.OpenDialogOptions = {
    title: 'Open a recording',
    properties: ['openFile', 'multiSelections'],
    filters: [
      { name: 'Recordings', extensions: ['jsonl', 'wtrace', 'gz', 'har'] },
      { name: 'All files', extensions: ['*'] },
    ],
  }
  const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts)
  if (!r.canceled && r.filePaths.length) openInApp(r.filePaths)
}

function buildMenu(): void {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Recording…', accelerator: 'CmdOrCtrl+O', click: () => void chooseAndOpen() },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}

// One instance: a second launch (double-click on another recording) hands its files to us.
if (!app.requestSingleInstanceLock()) app.quit()
app.on('second-instance', (_e, argv) => openInApp(recordingArgs(argv.slice(1))))
// macOS delivers file-association opens as an event (possibly before ready).
app.on('open-file', (e, file) => {
  e.preventDefault()
  openInApp([file])
})

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e, url) => {
    if (!isOurPage(url, PAGE)) e.preventDefault()
  })
  contents.on('will-redirect', (e, url) => {
    if (!isOurPage(url, PAGE)) e.preventDefault()
  })
  contents.on('will-attach-webview', (e) => e.preventDefault())
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternal(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
})

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } })
  })
  session.defaultSession.setPermissionRequestHandler((_wc, permission, cb) => cb(permission === 'clipboard-sanitized-write'))
  session.defaultSession.setPermissionCheckHandler((_wc, permission) => permission === 'clipboard-sanitized-write')

  engine = startEngine()

  // The event-port handshake: the renderer asks, main checks it, then hands one end of a
  // fresh channel to the engine and the other to that renderer.
  ipcMain.on('wiretrace:port-request', (event) => {
    if (!trusted(event) || !engine) return
    const { port1, port2 } = new MessageChannelMain()
    engine.postMessage({ type: 'port' }, [port1])
    event.sender.postMessage('wiretrace:port', null, [port2])
  })
  ipcMain.handle('wiretrace:open-external', async (event, url: unknown) => {
    if (!trusted(event)) throw new Error('refused: unknown sender')
    if (!isSafeExternal(url)) throw new Error('refused: only http(s) links without credentials open in the browser')
    await shell.openExternal(url)
    return true
  })

  ipcMain.on('wiretrace:open-ready', (event) => {
    if (!trusted(event)) return
    const win = BrowserWindow.fromWebContents(event.sender)
    if (!win) return
    readyWindows.add(win)
    if (pendingOpen.length) openInApp(pendingOpen.splice(0))
  })
  ipcMain.handle('wiretrace:open-dialog', async (event) => {
    if (!trusted(event)) throw new Error('refused: unknown sender')
    await chooseAndOpen()
    return true
  })
  ipcMain.handle('wiretrace:save-dialog', async (event, name: unknown) => {
    if (!trusted(event)) throw new Error('refused: unknown sender')
    const win = BrowserWindow.fromWebContents(event.sender)!
    const r = await dialog.showSaveDialog(win, { title: 'Export recording', defaultPath: safeSaveName(name), properties: ['createDirectory', 'showOverwriteConfirmation'] })
    return r.canceled || !r.filePath ? null : r.filePath
  })

  buildMenu()
  createWindow()
  app.on('activate', () => {
    if (windows.size === 0) createWindow()
  })
})

app.on('before-quit', () => {
  quitting = true
  engine?.kill()
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
