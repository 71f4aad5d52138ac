/**
 * Playwright Electron smoke test: launches the built desktop app, waits for the window,
 * checks the security settings and that the renderer reached the engine through the
 * utility process (demo targets listed), opens the WebSocket echo demo and sees it open.
 * It runs where the Electron binary and a display exist, and skips saying why elsewhere.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { _electron as electron } from 'playwright-core'
import { displayProblem, findElectronBinary } from '../../shared/node/hosts/electron-binary.ts'
import { ensureBuilt, ROOT, RESULTS } from './helpers.ts'

const bin = findElectronBinary(ROOT)
const why = !bin.ok ? bin.why : displayProblem()
if (why) console.warn(`electron smoke test skipped: ${why}`)

describe('desktop app (Electron)', () => {
  it.skipIf(why !== null)(`starts, isolates the renderer and reaches the engine${why ? ` — skipped: ${why}` : ''}`, async () => {
    if (!bin.ok) return
    await ensureBuilt()
    const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-electron-'))
    const app = await electron.launch({
      executablePath: bin.path,
      args: [ROOT, `--user-data-dir=${userData}`, '--no-sandbox'],
      env: { ...process.env, WIRETRACE_E2E: '1' },
    })
    try {
      const page = await app.firstWindow()
      await page.getByRole('textbox', { name: 'URL' }).waitFor({ timeout: 20_000 })
      const prefs = await app.evaluate(({ BrowserWindow }) => {
        const w = BrowserWindow.getAllWindows()[0]!
        // getLastWebPreferences is not in every Electron's typings; it exists at run time.
        const p = (w.webContents as unknown as { getLastWebPreferences(): Record<string, unknown> | null }).getLastWebPreferences()
        return { contextIsolation: p?.contextIsolation, sandbox: p?.sandbox, nodeIntegration: p?.nodeIntegration }
      })
      expect(prefs).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false })
      // The page has no Node and no raw ipcRenderer, only the named verbs.
      expect(await page.evaluate('typeof require')).toBe('undefined')
      expect(await page.evaluate('Object.keys(window.wiretrace).sort().join(",")')).toBe('onOpenFile,openExternal,pathForFile,platform,requestPort,showOpenDialog,showSaveDialog,versions')
      await page.locator('aside').getByRole('button', { name: 'WebSocket echo', exact: true }).click({ timeout: 20_000 })
      await page.getByTestId('conn-state').filter({ hasText: 'open' }).waitFor({ timeout: 15_000 })
      fs.mkdirSync(RESULTS, { recursive: true })
      await page.screenshot({ path: path.join(RESULTS, '20-electron.png') })
    } finally {
      await app.close()
      fs.rmSync(userData, { recursive: true, force: true })
    }
  }, 90_000)
})
