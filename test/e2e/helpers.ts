/** Shared setup for the browser end-to-end tests: build check, Chromium launch, screenshots. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const ROOT = path.resolve(import.meta.dirname, '..', '..')
export const RENDERER_DIR = path.join(ROOT, 'out', 'renderer')
export const RESULTS = path.join(ROOT, 'test-results')
export const CHROMIUM = '/usr/bin/chromium'

/** Builds out/ with electron-vite when the renderer build is missing (the test runner normally builds first). */
export async function ensureBuilt(): Promise<void> {
  if (fs.existsSync(path.join(RENDERER_DIR, 'index.html'))) return
  const { build } = await import('electron-vite')
  await build({ root: ROOT, configFile: path.join(ROOT, 'electron.vite.config.ts'), logLevel: 'warn' })
}

/** Chromium with a new, empty user-data dir (a persistent context is how Playwright takes one). */
export async function launchChromium(opts: { colorScheme?: 'light' | 'dark' } = {}): Promise<{ context: BrowserContext; userDataDir: string }> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    colorScheme: opts.colorScheme ?? 'light',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  return { context, userDataDir }
}

export async function shot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(RESULTS, { recursive: true })
  const file = path.join(RESULTS, `${name}.png`)
  await page.screenshot({ path: file })
  return file
}

/**
 * Nothing wider than the viewport, and every control either on screen or inside a
 * scrolling region. Runs in the page (a string: this file has no DOM types).
 */
export async function assertNotClipped(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const problems = []
    const W = window.innerWidth
    const H = window.innerHeight
    if (document.documentElement.scrollWidth > W) problems.push('page is ' + document.documentElement.scrollWidth + 'px wide (> ' + W + ')')
    for (const el of document.querySelectorAll('button, input, select, textarea, [role="tab"]')) {
      const r = el.getBoundingClientRect()
      if (r.width === 0 && r.height === 0) continue
      if (getComputedStyle(el).visibility === 'hidden' || el.closest('.sr-only')) continue
      let scroller = el.parentElement
      let scrolls = false
      while (scroller && scroller !== document.body) {
        const s = getComputedStyle(scroller)
        if (/(auto|scroll)/.test(s.overflowY + s.overflowX)) { scrolls = true; break }
        scroller = scroller.parentElement
      }
      if (!scrolls && (r.right > W + 1 || r.bottom > H + 1 || r.left < -1 || r.top < -1)) {
        const name = (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 30)
        problems.push(el.tagName.toLowerCase() + ' "' + name + '" is outside the viewport (' + Math.round(r.left) + ',' + Math.round(r.top) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height) + ')')
      }
    }
    return problems
  })()`)) as string[]
}
