import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
import { connectHost } from './lib/host/index.ts'
import { AppState } from './lib/state/app.svelte.ts'

const target = document.getElementById('app')!

async function start(): Promise<void> {
  try {
    const host = await connectHost()
    const app = new AppState(host)
    await app.init()
    mount(App, { target, props: { app } })
    // Electron: File > Open, the file association and the command line hand us paths.
    window.wiretrace?.onOpenFile?.((path) => void app.openRecording(path))
  } catch (e) {
    // No host: say why in plain words (never as HTML).
    const box = document.createElement('div')
    box.className = 'fatal'
    const h = document.createElement('h1')
    h.textContent = 'Wiretrace cannot reach its engine'
    const p = document.createElement('p')
    p.textContent = (e as Error).message
    box.append(h, p)
    target.replaceChildren(box)
  }
}

void start()
