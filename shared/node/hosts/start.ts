/**
 * `npm start`: build if needed, then start the desktop app. Where Electron cannot start
 * (no binary, no display, or it exits at once), say why and start web mode instead, with
 * the demo servers, so the app is still one URL away.
 */
import fs from 'node:fs'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { packageRoot } from './paths.ts'
import { displayProblem, findElectronBinary } from './electron-binary.ts'
import { runWeb } from './web.ts'

const root = packageRoot()
const SOURCES = ['renderer', 'electron', 'shared', 'electron.vite.config.ts']
const OUTPUTS = ['out/renderer/index.html', 'out/main/index.js', 'out/main/engine.js', 'out/preload/index.cjs']

function newestMtime(p: string): number {
  let st: fs.Stats
  try {
    st = fs.statSync(p)
  } catch {
    return 0
  }
  if (!st.isDirectory()) return st.mtimeMs
  let max = st.mtimeMs
  for (const name of fs.readdirSync(p)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    max = Math.max(max, newestMtime(path.join(p, name)))
  }
  return max
}

/** Whether out/ is missing or older than any source file. */
export function needsBuild(): boolean {
  const outTimes = OUTPUTS.map((o) => {
    try {
      return fs.statSync(path.join(root, o)).mtimeMs
    } catch {
      return 0
    }
  })
  const oldest = Math.min(...outTimes)
  if (oldest === 0) return true
  return SOURCES.some((s) => newestMtime(path.join(root, s)) > oldest)
}

function build(): void {
  process.stdout.write('wiretrace: building the app (electron-vite build)…\n')
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    process.stderr.write('wiretrace: the build failed; fix the errors above and run `npm start` again.\n')
    process.exit(1)
  }
}

async function startWeb(why: string): Promise<void> {
  process.stdout.write(`wiretrace: the desktop app cannot start here: ${why}.\nwiretrace: starting web mode instead (same UI in your browser, demo servers on 127.0.0.1).\n`)
  const web = await runWeb({ demo: true })
  const stop = (): void => {
    void web.close().then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

/**
 * Installs skip install scripts (.npmrc), so the first start fetches Electron's binary with
 * its own installer. Offline it fails at once (no DNS) and we fall back to web mode.
 */
function fetchElectron(): string | null {
  const installer = path.join(root, 'node_modules', 'electron', 'install.js')
  if (!fs.existsSync(installer) || process.env.WIRETRACE_NO_ELECTRON_DOWNLOAD) return null
  process.stdout.write('wiretrace: first start: downloading the Electron binary (once)…\n')
  const r = spawnSync(process.execPath, [installer], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000, encoding: 'utf8' })
  if (r.status === 0) return null
  const reason = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|getaddrinfo/.exec(r.stderr ?? '')?.[0]
  return reason ? `no network to download it (${reason})` : `its download failed (${(r.stderr ?? '').trim().split('\n')[0] ?? `status ${r.status}`})`
}

async function main(): Promise<void> {
  if (needsBuild()) build()
  let bin = findElectronBinary(root)
  if (!bin.ok && fs.existsSync(path.join(root, 'node_modules', 'electron', 'package.json'))) {
    const failed = fetchElectron()
    bin = findElectronBinary(root)
    if (!bin.ok && failed) return startWeb(`${bin.why}; ${failed}`)
  }
  if (!bin.ok) return startWeb(bin.why)
  const noDisplay = displayProblem()
  if (noDisplay) return startWeb(noDisplay)
  const started = Date.now()
  const child = spawn(bin.path, [root], { cwd: root, stdio: 'inherit', env: { ...process.env, ELECTRON_RUN_AS_NODE: undefined } })
  child.on('error', (e) => void startWeb(`Electron failed to launch (${e.message})`))
  child.on('exit', (code, signal) => {
    // Exiting with an error within seconds means it could not start (missing libraries, sandbox).
    if (code !== 0 && !signal && Date.now() - started < 5000) void startWeb(`Electron exited at once with status ${code}`)
    else process.exit(code ?? 0)
  })
}

void main()
