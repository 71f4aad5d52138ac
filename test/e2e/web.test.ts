/**
 * End to end through web mode in Debian's Chromium: start the app, open a connection to a
 * real WebSocket server on 127.0.0.1, watch messages stream, filter, open a message, send
 * one and see the echo, close and see the close code; a failing connection shows its
 * diagnosis; web mode refuses requests without the token, with a foreign Origin or Host.
 * Screenshots of each state go to test-results/.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import WebSocket from 'ws'
import { runWeb, type WebServer } from '../../shared/node/hosts/web.ts'
import { startDemoServers, type DemoServers } from '../../shared/node/demo/servers.ts'
import { TRANSPORT_FACTORIES } from '../../shared/node/engine/transports.ts'
import { assertNotClipped, ensureBuilt, launchChromium, RENDERER_DIR, shot } from './helpers.ts'
import { runLab, type Lab } from '../../shared/node/lab/index.ts'

let web: WebServer
let demo: DemoServers
let context: BrowserContext
let page: Page
let tmp: string
let userDataDir: string

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
  })
}

function wsRefusal(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.on('open', () => {
      resolve(101)
      ws.close()
    })
    ws.on('error', () => resolve(-1))
  })
}

beforeAll(async () => {
  await ensureBuilt()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-e2e-'))
  demo = await startDemoServers()
  web = await runWeb({ recordingsDir: path.join(tmp, 'rec'), targetsFile: path.join(tmp, 'targets.json'), rendererDir: RENDERER_DIR, quiet: true })
  ;({ context, userDataDir } = await launchChromium())
  page = context.pages()[0] ?? (await context.newPage())
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  ;(page as unknown as { wtErrors: string[] }).wtErrors = errors
}, 120_000)

afterAll(async () => {
  await context?.close()
  await web?.close()
  await demo?.close()
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true })
})

describe('web mode security', () => {
  it('serves the page only with the token, the served Host and no foreign Origin', async () => {
    const u = new URL(web.url)
    const base = `${u.origin}/`
    const ok = await get(web.url)
    expect(ok.status).toBe(200)
    expect(ok.headers['content-security-policy']).toContain("script-src 'self'")
    expect(String(ok.headers['set-cookie'])).toContain('HttpOnly')
    expect((await get(base)).status).toBe(401)
    expect((await get(`${base}?token=wrong`)).status).toBe(401)
    expect((await get(web.url, { Origin: 'http://evil.example' })).status).toBe(403)
    expect((await get(web.url, { Host: `evil.example:${u.port}` })).status).toBe(421)
    expect((await get(web.url, { Host: `localhost:${u.port}` })).status).toBe(421)
    // The API socket: same rules.
    const api = `ws://${u.host}/api`
    expect(await wsRefusal(api)).toBe(401)
    expect(await wsRefusal(`${api}?token=${u.searchParams.get('token')}`, { Origin: 'http://evil.example' })).toBe(403)
    expect(await wsRefusal(`${api}?token=${u.searchParams.get('token')}`, { Host: `rebind.example:${u.port}` })).toBe(421)
    expect(await wsRefusal(`${api}?token=${u.searchParams.get('token')}`, { Origin: u.origin })).toBe(101)
  })

  it('answers a malformed command with WT_USAGE naming the field', async () => {
    const u = new URL(web.url)
    const ws = new WebSocket(`ws://${u.host}/api?token=${u.searchParams.get('token')}`, { headers: { Origin: u.origin } })
    await new Promise((r) => ws.once('open', r))
    const reply = new Promise<{ ok: boolean; error?: { code: string; message: string } }>((resolve) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { t: string; id?: number; ok: boolean; error?: { code: string; message: string } }
        if (m.t === 'reply' && m.id === 7) resolve(m)
      })
    })
    ws.send(JSON.stringify({ t: 'call', id: 7, cmd: 'session.send', params: { id: 'x', item: { kind: 'close', code: 99 } } }))
    const r = await reply
    ws.close()
    expect(r.ok).toBe(false)
    expect(r.error?.code).toBe('WT_USAGE')
    expect(r.error?.message).toContain('item.code')
  })
})

describe('inspector in Chromium', () => {
  it('shows an empty state that says what to do, unclipped at 1280x800', async () => {
    await page.goto(web.url)
    await page.getByRole('heading', { name: 'Debug a long-lived connection' }).waitFor()
    // The token moved into an HttpOnly cookie and left the address bar.
    expect(page.url()).not.toContain('token=')
    await expect(page.getByRole('textbox', { name: 'URL' }).isVisible()).resolves.toBe(true)
    await expect(page.getByRole('button', { name: 'Connect' }).isVisible()).resolves.toBe(true)
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '01-empty')
  })

  it('opens a WebSocket connection and streams messages', async () => {
    await page.getByRole('textbox', { name: 'URL' }).fill(`${demo.wsUrl}/ticker?hz=40`)
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.getByTestId('conn-state').filter({ hasText: 'open' }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('[role="option"].kind-msg').length >= 15, undefined, { timeout: 10_000 })
    const previews = await page.locator('[role="option"].kind-msg .preview').allTextContents()
    expect(previews.some((p) => p.includes('"type":"tick"'))).toBe(true)
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '02-streaming')
  })

  it('filters by text with counts', async () => {
    await page.getByRole('searchbox').or(page.locator('#filter-text')).first().fill('"n":1')
    await page.waitForFunction(() => /of/.test(document.querySelector('[data-testid="filter-count"]')?.textContent ?? ''))
    await page.waitForTimeout(300)
    const count = (await page.getByTestId('filter-count').textContent()) ?? ''
    const m = /(\d+) of (\d+)/.exec(count)
    expect(m).not.toBeNull()
    expect(Number(m![1])).toBeGreaterThan(0)
    expect(Number(m![1])).toBeLessThan(Number(m![2]))
    const previews = await page.locator('[role="option"] .preview').allTextContents()
    expect(previews.length).toBeGreaterThan(0)
    for (const p of previews) expect(p.toLowerCase()).toContain('"n":1')
    await shot(page, '03-filtered')
    await page.locator('#filter-text').fill('')
    // The cleared filter is applied (debounced): every row matches again, and the list is back at the tail.
    await page.waitForFunction(() => {
      const m = /^(\S+) of (\S+)$/.exec(document.querySelector('[data-testid="filter-count"]')?.textContent?.trim() ?? '')
      return !!m && m[1] === m[2]
    })
  })

  it('opens a message in the detail pane with pretty JSON and hex', async () => {
    // Keyboard selection: the list keeps streaming (and scrolling) while we pick a row.
    await page.getByRole('listbox', { name: 'Messages' }).focus()
    await page.keyboard.press('ArrowUp')
    const detail = page.getByTestId('detail-content')
    await detail.waitFor()
    // The keyboard left the tail: the list stays on the selected row (visible, selected) while rows arrive.
    await page.getByRole('button', { name: /Jump to latest/ }).waitFor()
    const sel = ((await page.locator('aside[aria-label="Message detail"] header strong').textContent()) ?? '').replace('#', '')
    await page.waitForTimeout(300)
    await expect(page.locator(`[role="option"][data-seq="${sel}"]`).getAttribute('aria-selected')).resolves.toBe('true')
    await page.waitForFunction(() => document.querySelector('[data-testid="detail-content"]')?.textContent?.includes('"type":"tick"'))
    await page.getByRole('tab', { name: 'JSON' }).click()
    await expect(detail.textContent()).resolves.toContain('"type": "tick"')
    await shot(page, '04-detail-json')
    await page.getByRole('tab', { name: 'Hex' }).click()
    await expect(detail.textContent()).resolves.toMatch(/^00000000 {2}7b 22/)
    await page.getByRole('button', { name: 'Close detail' }).click()
  })

  it('a click while streaming freezes the rows under the pointer; scrolling opens the list at that row', async () => {
    const list = page.getByRole('listbox', { name: 'Messages' })
    const seqs = (): Promise<string[]> => page.evaluate(() => [...document.querySelectorAll('[role="option"]')].map((r) => (r as HTMLElement).dataset.seq ?? ''))
    // Following the live tail (the ticker sends 40/s): click the middle row where it is.
    const latest = page.getByRole('button', { name: /Jump to latest/ })
    if (await latest.count()) await latest.click()
    await latest.waitFor({ state: 'detached' })
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length > 10)
    const rows = page.locator('[role="option"]')
    const box = (await rows.nth(Math.floor((await rows.count()) / 2)).boundingBox())!
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    const head = page.locator('aside[aria-label="Message detail"] header strong')
    await head.waitFor()
    const seq = ((await head.textContent()) ?? '').replace('#', '')
    const frozen = await seqs()
    expect(frozen).toContain(seq)
    // The rows on screen stay as they were, the clicked one selected, while the ticker streams on.
    await page.waitForTimeout(400)
    expect(await seqs()).toEqual(frozen)
    expect(await page.locator(`[role="option"][data-seq="${seq}"]`).getAttribute('aria-selected')).toBe('true')
    await page.getByRole('button', { name: /Jump to latest/ }).waitFor()
    // Still the tail's own elements: the virtual list (and its status strip) is not built by a click.
    expect(await page.getByTestId('list-window').count()).toBe(0)
    // Scrolling up builds the full list, opened on the selected row.
    await list.hover()
    await page.mouse.wheel(0, -60)
    await page.getByTestId('list-window').waitFor()
    await expect(page.locator(`[role="option"][data-seq="${seq}"]`).getAttribute('aria-selected')).resolves.toBe('true')
    // Jump to latest: following again, newer rows arrive.
    await page.getByRole('button', { name: /Jump to latest/ }).click()
    const newest = Math.max(...(await seqs()).map(Number))
    await page.waitForFunction((n) => Math.max(...[...document.querySelectorAll('[role="option"]')].map((r) => Number(r.getAttribute('data-seq')))) > n, newest, { timeout: 5000 })
    await page.getByRole('button', { name: 'Close detail' }).click()
  })

  it('sends a message and shows the echo', async () => {
    const msg = `hello wiretrace ${Date.now()}`
    await page.locator('#send-text').fill(msg)
    await page.getByRole('button', { name: 'Send' }).click()
    await page.locator('#filter-text').fill(msg)
    await page.waitForFunction(
      (m) => {
        const rows = [...document.querySelectorAll('[role="option"]')]
        return rows.some((r) => r.classList.contains('dir-out') && r.textContent?.includes(m)) && rows.some((r) => r.classList.contains('dir-in') && r.textContent?.includes(m))
      },
      msg,
      { timeout: 10_000 },
    )
    // The filter (debounced) narrowed the list to exactly the sent message and its echo.
    await page.waitForFunction(() => /^2 of /.test(document.querySelector('[data-testid="filter-count"]')?.textContent?.trim() ?? ''))
    await shot(page, '05-sent-and-echoed')
    await page.locator('#filter-text').fill('')
  })

  it('closes and shows the close code', async () => {
    await page.getByRole('button', { name: 'Close', exact: true }).click()
    await page.getByTestId('conn-state').filter({ hasText: /closed 1000/ }).waitFor({ timeout: 10_000 })
    await page.locator('#filter-kind').selectOption('control')
    await page.locator('[role="option"].kind-close').first().waitFor({ timeout: 5000 })
    expect(await page.locator('#filter-text').inputValue()).toBe('')
    expect(await page.locator('[role="option"].kind-close .label').first().textContent()).toContain('CLOSE 1000')
    await shot(page, '06-closed')
    await page.locator('#filter-kind').selectOption('all')
  })

  it('shows the establishment waterfall with raw headers', async () => {
    await page.getByRole('tab', { name: 'Establishment' }).click()
    const table = page.getByRole('table', { name: 'Establishment waterfall' })
    await table.waitFor()
    const text = (await table.textContent()) ?? ''
    for (const phase of ['DNS', 'TCP', 'Handshake', 'Open']) expect(text).toContain(phase)
    await expect(page.locator('pre').first().textContent()).resolves.toMatch(/GET .*ticker/)
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '07-establishment')
    await page.getByRole('tab', { name: /Messages/ }).click()
  })

  it('a failing connection shows its diagnosis', async () => {
    await page.getByRole('textbox', { name: 'URL' }).fill(`ws://127.0.0.1:${demo.refusedPort}/`)
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.getByTestId('conn-state').filter({ hasText: /failed/ }).waitFor({ timeout: 15_000 })
    const banner = page.getByRole('alert', { name: 'Diagnosis' })
    await banner.waitFor()
    const text = (await banner.textContent()) ?? ''
    expect(text).toMatch(/refused/i)
    expect(text).toContain('What to try')
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '08-failed')
  })

  it('shows health charts for a live connection', async () => {
    await page.getByRole('navigation', { name: 'Connections' }).waitFor()
    await page.locator('aside').getByRole('button', { name: 'WebSocket ticker', exact: true }).click()
    await page.getByTestId('conn-state').filter({ hasText: 'open' }).waitFor({ timeout: 10_000 })
    await page.waitForTimeout(2500)
    await page.getByRole('tab', { name: 'Health' }).click()
    await page.locator('.uplot').first().waitFor({ timeout: 10_000 })
    expect(await page.locator('.uplot').count()).toBeGreaterThanOrEqual(2)
    await shot(page, '09-health')
    await page.getByRole('tab', { name: /Messages/ }).click()
  })

  it.skipIf(!TRANSPORT_FACTORIES.sse)('streams the SSE demo', async () => {
    await page.locator('aside').getByRole('button', { name: 'SSE ticker', exact: true }).click()
    await page.getByTestId('conn-state').filter({ hasText: 'open' }).waitFor({ timeout: 10_000 })
    await page.waitForFunction(() => document.querySelectorAll('[role="option"].kind-msg').length >= 2, undefined, { timeout: 10_000 })
    await shot(page, '11-sse')
  })

  it.skipIf(!TRANSPORT_FACTORIES.h2 || !TRANSPORT_FACTORIES.poll)('streams the HTTP/2 and long-poll demos', async () => {
    await page.locator('aside').getByRole('button', { name: 'HTTP/2 stream', exact: true }).click()
    await page.getByRole('heading', { name: 'HTTP/2 stream' }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length >= 12, undefined, { timeout: 10_000 })
    await page.waitForFunction(() => [...document.querySelectorAll('[role="option"]')].filter((r) => r.textContent?.includes('H2 data')).length >= 2, undefined, { timeout: 10_000 })
    // Every row says what it is: the session rows name the SETTINGS each side sent.
    const rows = await page.locator('[role="option"]').allTextContents()
    expect(rows.some((r) => r.includes('H2 session') && r.includes("server's SETTINGS: ") && r.includes('max streams'))).toBe(true)
    expect(rows.some((r) => r.includes('H2 response') && r.includes('stream 1 status 200'))).toBe(true)
    await page.getByText('This HTTP/2 connection only receives; there is nothing to send on it.').waitFor()
    await shot(page, '29-h2')
    // The Health tab charts the session's flow-control windows from the stats samples.
    await page.getByRole('tab', { name: /Health/ }).click()
    await page.getByText('HTTP/2 flow-control windows (session)').waitFor({ timeout: 10_000 })
    await page.waitForTimeout(2200)
    await shot(page, '31-h2-health')
    await page.getByRole('tab', { name: /Messages/ }).click()
    await page.locator('aside').getByRole('button', { name: 'Long-poll', exact: true }).click()
    await page.getByRole('heading', { name: 'Long-poll' }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length >= 12, undefined, { timeout: 10_000 })
    // Each cycle is a row: status, outcome, how long the server held it, the body.
    await page.waitForFunction(() => [...document.querySelectorAll('[role="option"]')].filter((r) => /POLL 200/.test(r.textContent ?? '') && /held \d+ ms/.test(r.textContent ?? '')).length >= 3, undefined, { timeout: 10_000 })
    await page.getByText('This long-poll connection only receives; there is nothing to send on it.').waitFor()
    await shot(page, '30-poll')
  })

  it('reads back what the live view coalesced when the user scrolls up', async () => {
    await page.getByRole('textbox', { name: 'URL' }).fill(`${demo.wsUrl}/flood?rate=12000&size=40&seconds=3`)
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.getByRole('heading', { name: /flood/ }).waitFor()
    await page.getByTestId('conn-state').filter({ hasText: 'open' }).waitFor({ timeout: 10_000 })
    // A busy page: no frame, no ack for 1.2 s, so the host coalesces (it never slows the connection).
    await page.evaluate(() => {
      const t = performance.now()
      while (performance.now() - t < 1200) {
        /* busy */
      }
    })
    await page.getByText(/live view coalesced/).waitFor({ timeout: 5000 })
    // Scrolling up while it streams reads the skipped events back from the host.
    await page.getByRole('listbox', { name: 'Messages' }).hover()
    await page.mouse.wheel(0, -600)
    await page.getByTestId('conn-state').filter({ hasText: /closed 1000/ }).waitFor({ timeout: 15_000 })
    const state = (await page.getByTestId('conn-state').textContent()) ?? ''
    const sent = Number(/flood done: (\d+)/.exec(state)?.[1])
    await page.mouse.wheel(0, -600)
    await page.waitForFunction(() => !document.body.textContent?.includes('live view coalesced'), undefined, { timeout: 15_000 })
    await page.locator('#filter-kind').selectOption('messages')
    try {
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid="filter-count"]')?.getAttribute('data-match')) === n, sent, { timeout: 5000 }).catch(() => {})
      const listed = Number(await page.getByTestId('filter-count').getAttribute('data-match'))
      console.log(`flood: ${state.trim()}; data messages listed after the read-back: ${listed}`)
      expect(sent).toBeGreaterThan(10_000)
      expect(listed).toBe(sent)
      await shot(page, '19-coalesced-read-back')
    } finally {
      await page.locator('#filter-kind').selectOption('all')
    }
  }, 60_000)

  it('opens a recording read-only and streams its events', async () => {
    await page.getByRole('button', { name: 'Refresh recordings' }).click()
    const recs = fs.readdirSync(path.join(tmp, 'rec')).filter((n) => n.endsWith('.jsonl'))
    expect(recs.length).toBeGreaterThan(0)
    // The ticker recording: the one that has the echoed message in it.
    const ticker = recs.find((n) => fs.readFileSync(path.join(tmp, 'rec', n), 'utf8').includes('hello wiretrace'))!
    await page.locator('#rec-path').fill(path.join(tmp, 'rec', ticker))
    await page.getByRole('button', { name: 'Open', exact: true }).click()
    await page.locator('.badge', { hasText: 'recording' }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('[role="option"].kind-close').length >= 1, undefined, { timeout: 10_000 })
    expect(await page.getByRole('button', { name: 'Send' }).count()).toBe(0)
    await page.locator('#filter-text').fill('hello wiretrace')
    await page.waitForFunction(() => [...document.querySelectorAll('[role="option"]')].some((r) => r.textContent?.includes('hello wiretrace')))
    await shot(page, '12-recording')
    await page.locator('#filter-text').fill('')
  })

  it('saves a named target with its options, and it persists', async () => {
    await page.getByRole('button', { name: 'Options' }).click()
    await page.getByRole('textbox', { name: 'URL' }).fill(`${demo.wsUrl}/echo`)
    await page.getByLabel('Name').fill('My echo')
    await page.getByLabel('Headers').fill('X-Team: wiretrace')
    await page.getByLabel('Subprotocols').fill('chat.v1')
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '13-composer-options')
    await page.getByRole('button', { name: 'Save target' }).click()
    const saved = page.getByRole('region', { name: 'Targets' }).getByRole('button', { name: 'My echo', exact: true })
    await saved.waitFor()
    const file = JSON.parse(fs.readFileSync(path.join(tmp, 'targets.json'), 'utf8')) as { targets: Array<{ name: string; spec: { headers: string[][]; ws: { subprotocols: string[] } } }> }
    expect(file.targets[0]).toMatchObject({ name: 'My echo', spec: { headers: [['X-Team', 'wiretrace']], ws: { subprotocols: ['chat.v1'] } } })
    await page.getByRole('button', { name: 'Options' }).click()
    await page.reload()
    await page.getByRole('region', { name: 'Targets' }).getByRole('button', { name: 'My echo', exact: true }).waitFor()
  })

  it('after a reload, a finished connection shows its messages, read back from the host', async () => {
    // The page was reloaded by the previous test: the renderer holds no rows at all now.
    const nav = page.getByRole('navigation', { name: 'Connections' })
    const ticker = nav.locator('button.conn', { hasText: /ticker\?hz=40/ }).filter({ hasText: /closed 1000/ }).first()
    await ticker.click()
    await page.getByTestId('conn-state').filter({ hasText: /closed 1000/ }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('[role="option"].kind-msg').length >= 10, undefined, { timeout: 10_000 })
    const tabText = (await page.getByRole('tab', { name: /Messages/ }).textContent()) ?? ''
    expect(Number(/(\d[\d,]*)/.exec(tabText)?.[1]?.replace(/,/g, '') ?? 0)).toBeGreaterThan(50)
    expect(await page.getByText('No messages.').count()).toBe(0)
    // The finished recording reads as a file, not as a live "● rec".
    await expect(page.getByTestId('rec-file').textContent()).resolves.toMatch(/recorded in .*\.jsonl/)
    expect(await page.locator('.rec', { hasText: '● rec' }).count()).toBe(0)
    // Establishment rows have previews: DNS answers, the TCP peer, the negotiated extensions.
    await page.locator('#filter-kind').selectOption('all')
    await page.locator('#filter-text').fill('127.0.0.1')
    await page.waitForFunction(() => [...document.querySelectorAll('[role="option"] .label')].some((l) => l.textContent === 'TCP'))
    const previews = await page.locator('[role="option"]').allTextContents()
    expect(previews.some((p) => /DNS.*127\.0\.0\.1/.test(p) || /TCP\s*127\.0\.0\.1:\d+/.test(p))).toBe(true)
    await page.locator('#filter-text').fill('')
    await page.waitForFunction(() => document.querySelectorAll('[role="option"].kind-msg').length >= 10)
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '14-reloaded-connection')
    await page.emulateMedia({ colorScheme: 'dark' })
    await shot(page, '14-reloaded-connection-dark')
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('follows the OS dark theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' })
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())
    expect(bg).toBe('#16181d')
    await shot(page, '10-dark')
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('raised no page errors', () => {
    expect((page as unknown as { wtErrors: string[] }).wtErrors).toEqual([])
  })
})

describe('network profiles in Chromium', () => {
  let lab: Lab
  const PASSWORD = 'Lab-s3cret'
  const profilesFile = (): string => path.join(tmp, 'profiles.json')
  const saved = (): { profiles: Array<{ name: string; network: Record<string, unknown> }> } => JSON.parse(fs.readFileSync(profilesFile(), 'utf8'))
  beforeAll(async () => {
    lab = await runLab({ basicAuth: { user: 'alice', pass: PASSWORD } })
  })
  afterAll(async () => {
    await lab?.close()
  })

  it('creates a profile in the editor (empty, a validation error, filled): saved without its password, mode 0600', async () => {
    await page.goto(web.url)
    await page.getByRole('textbox', { name: 'URL' }).fill(`${demo.wsUrl}/echo`)
    await page.locator('#composer-network').selectOption('custom')
    const dialog = page.getByRole('dialog', { name: 'Custom network profile' })
    await dialog.waitFor()
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '23-profile-editor-empty')
    // A pasted proxy URL that does not parse: named, without its password.
    await dialog.locator('#ne-url').fill(`http://alice:${PASSWORD}@proxy.example:99999`)
    await dialog.locator('#ne-url').press('Enter')
    const urlErr = (await dialog.locator('#ne-url-err').textContent()) ?? ''
    expect(urlErr).toBe('Proxy URL: "http://alice:***@proxy.example:99999" is not a URL (e.g. http://proxy:3128 or socks5h://127.0.0.1:1080)')
    expect(urlErr).not.toContain(PASSWORD)
    await dialog.locator('#ne-url').fill('')
    await dialog.locator('#ne-host').fill('127.0.0.1')
    await dialog.locator('#ne-port').fill('99999')
    await dialog.getByRole('button', { name: 'Save as…' }).click()
    await expect(dialog.locator('#ne-port-err').textContent()).resolves.toBe('Port: must be from 1 to 65535')
    expect(await dialog.locator('#ne-port').getAttribute('aria-invalid')).toBe('true')
    await expect(dialog.locator('#ne-name-err').textContent()).resolves.toBe('Profile name: enter a name to save the profile under')
    await shot(page, '24-profile-editor-error')
    // Filled from a URL with credentials, then named; the route is checked before connecting.
    await dialog.locator('#ne-url').fill(`http://alice:${PASSWORD}@127.0.0.1:${lab.port}`)
    await dialog.locator('#ne-url').press('Enter')
    await expect(dialog.locator('#ne-port').inputValue()).resolves.toBe(String(lab.port))
    await expect(dialog.locator('#ne-user').inputValue()).resolves.toBe('alice')
    expect(await dialog.locator('#ne-port-err').count()).toBe(0)
    await dialog.locator('#ne-name').fill('Lab proxy')
    expect(await dialog.locator('#ne-name-err').count()).toBe(0)
    await dialog.locator('#ne-noproxy').fill('.internal.example')
    await dialog.locator('#ne-schemes').fill('basic')
    await dialog.getByRole('button', { name: 'Check route' }).click()
    await expect(dialog.getByTestId('editor-route').textContent()).resolves.toBe(`http://127.0.0.1:${lab.port} (manual: manual proxy)`)
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '25-profile-editor-filled')
    await page.emulateMedia({ colorScheme: 'dark' })
    await shot(page, '25-profile-editor-filled-dark')
    await page.emulateMedia({ colorScheme: 'light' })
    await dialog.getByRole('button', { name: 'Save as…' }).click()
    await dialog.waitFor({ state: 'detached' })
    await expect(page.locator('#composer-network').inputValue()).resolves.toBe('p:Lab proxy')
    expect(fs.statSync(profilesFile()).mode & 0o777).toBe(0o600)
    const text = fs.readFileSync(profilesFile(), 'utf8')
    expect(text).not.toContain(PASSWORD)
    expect(saved().profiles).toEqual([
      expect.objectContaining({ name: 'Lab proxy', network: { mode: 'manual', name: 'Lab proxy', noProxy: '.internal.example', proxy: { kind: 'http', host: '127.0.0.1', port: lab.port, auth: { username: 'alice', password: '', schemes: ['basic'] } } } }),
    ])
  })

  it('picks it after a restart, asks for the password it did not keep, and connects through the lab with its name on the route', async () => {
    await page.reload()
    await page.getByRole('textbox', { name: 'URL' }).fill(`${demo.wsUrl}/echo`)
    await page.locator('#composer-network').selectOption('p:Lab proxy')
    const line = page.getByTestId('network-line')
    await expect(line.locator('.pname').textContent()).resolves.toBe('Lab proxy')
    await expect(line.locator('.desc').textContent()).resolves.toBe(`HTTP proxy alice@127.0.0.1:${lab.port} · CONNECT tunnel · auth basic · no proxy for .internal.example`)
    await page.getByRole('button', { name: 'Connect' }).click()
    await expect(page.locator('.composer .error').textContent()).resolves.toBe('Proxy password: enter the password for alice (it is not saved with the profile "Lab proxy")')
    const pw = page.getByLabel('Proxy password for alice')
    await expect(pw.evaluate((el) => el === document.activeElement)).resolves.toBe(true)
    await pw.fill(PASSWORD)
    expect(await page.locator('.composer .error').count()).toBe(0)
    await line.getByRole('button', { name: 'Check route' }).click()
    await expect(page.getByTestId('route-answer').textContent()).resolves.toBe(`Route for this URL: http://127.0.0.1:${lab.port} (manual: manual proxy)`)
    expect(await assertNotClipped(page)).toEqual([])
    await shot(page, '26-composer-profile-picked')
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.getByTestId('conn-state').filter({ hasText: 'open' }).waitFor({ timeout: 10_000 })
    await expect(page.getByTestId('conn-profile').textContent()).resolves.toBe('profile Lab proxy')
    await expect(page.locator('section.conn .badge.proxy').textContent()).resolves.toBe(`via http://127.0.0.1:${lab.port}`)
    const routeRow = page.locator('[role="option"]').filter({ has: page.locator('.label', { hasText: /^route$/ }) })
    await routeRow.waitFor()
    await expect(page.locator('[role="option"]').filter({ has: page.locator('.label', { hasText: /^start$/ }) }).locator('.preview').textContent()).resolves.toBe(
      `ws ${demo.wsUrl}/echo · network profile "Lab proxy" (manual)`,
    )
    await expect(routeRow.locator('.preview').textContent()).resolves.toBe(`http://127.0.0.1:${lab.port} · profile "Lab proxy" (manual: manual proxy)`)
    // Through the proxy for real: the lab authenticated the CONNECT, and the echo comes back.
    await page.locator('#send-text').fill('through the profile')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.waitForFunction(() => [...document.querySelectorAll('[role="option"].dir-in')].some((r) => r.textContent?.includes('through the profile')), undefined, { timeout: 10_000 })
    await page.getByRole('tab', { name: 'Establishment' }).click()
    const table = page.getByRole('table', { name: 'Establishment waterfall' })
    await expect(table.locator('tr', { hasText: 'Route' }).textContent()).resolves.toContain('profile "Lab proxy"')
    await expect(table.locator('tr', { hasText: 'Proxy CONNECT' }).last().textContent()).resolves.toContain('200')
    await shot(page, '27-connected-through-profile')
    await page.getByRole('tab', { name: /Messages/ }).click()
    await page.getByRole('button', { name: 'Close', exact: true }).click()
    await page.getByTestId('conn-state').filter({ hasText: /closed 1000/ }).waitFor({ timeout: 10_000 })
    // The recording names the profile and never holds the password.
    const rec = fs.readdirSync(path.join(tmp, 'rec')).map((n) => fs.readFileSync(path.join(tmp, 'rec', n), 'utf8')).find((t) => t.includes('"Lab proxy"'))!
    expect(rec).toBeTruthy()
    expect(rec).not.toContain(PASSWORD)
    // Saved as a target: targets.json is private and holds no password (not remembered)...
    await page.getByRole('button', { name: 'Options' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Echo via lab')
    expect(await page.getByText('Remember passwords and tokens').count()).toBe(1)
    await page.getByRole('button', { name: 'Save target' }).click()
    await page.getByRole('region', { name: 'Targets' }).getByRole('button', { name: 'Echo via lab', exact: true }).waitFor()
    const targets = path.join(tmp, 'targets.json')
    expect(fs.statSync(targets).mode & 0o777).toBe(0o600)
    expect(fs.readFileSync(targets, 'utf8')).not.toContain(PASSWORD)
    await page.getByRole('button', { name: 'Options' }).click()
    // ...so after a restart, opening it brings it to the composer, which asks for the password.
    await page.reload()
    await page.getByRole('region', { name: 'Targets' }).getByRole('button', { name: 'Echo via lab', exact: true }).click()
    await expect(page.locator('#composer-network').inputValue()).resolves.toBe('p:Lab proxy')
    await expect(page.getByRole('textbox', { name: 'URL' }).inputValue()).resolves.toBe(`${demo.wsUrl}/echo`)
    const again = page.getByLabel('Proxy password for alice')
    await page.waitForFunction(() => document.activeElement?.getAttribute('placeholder') === 'not saved: needed to connect')
    await again.fill(PASSWORD)
  })

  it('edits the picked profile (modified, then Save), renames it and deletes it', async () => {
    const line = page.getByTestId('network-line')
    await line.getByRole('button', { name: 'Edit…' }).click()
    let dialog = page.getByRole('dialog', { name: 'Network profile "Lab proxy"' })
    await dialog.locator('#ne-noproxy').fill('localhost')
    await dialog.getByRole('button', { name: 'Use without saving' }).click()
    await dialog.waitFor({ state: 'detached' })
    await page.getByTestId('profile-modified').waitFor()
    expect(saved().profiles[0]!.network.noProxy).toBe('.internal.example')
    await line.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByTestId('profile-modified').waitFor({ state: 'detached' })
    expect(saved().profiles[0]!.network.noProxy).toBe('localhost')
    // The typed session password survived the save (it is still not in the file).
    expect(await page.getByLabel('Proxy password for alice').inputValue()).toBe(PASSWORD)
    expect(fs.readFileSync(profilesFile(), 'utf8')).not.toContain(PASSWORD)
    // Rename: a new name in the editor, then Save.
    await line.getByRole('button', { name: 'Edit…' }).click()
    dialog = page.getByRole('dialog', { name: 'Network profile "Lab proxy"' })
    await dialog.locator('#ne-name').fill('Lab (renamed)')
    await dialog.getByRole('button', { name: 'Save', exact: true }).click()
    await dialog.waitFor({ state: 'detached' })
    await expect(page.locator('#composer-network').inputValue()).resolves.toBe('p:Lab (renamed)')
    expect(saved().profiles.map((p) => [p.name, p.network.name])).toEqual([['Lab (renamed)', 'Lab (renamed)']])
    // Delete asks once more, then the composer falls back to Direct.
    await line.getByRole('button', { name: 'Edit…' }).click()
    dialog = page.getByRole('dialog', { name: 'Network profile "Lab (renamed)"' })
    await dialog.getByRole('button', { name: 'Delete' }).click()
    await dialog.getByRole('button', { name: 'Really delete "Lab (renamed)"?' }).click()
    await dialog.waitFor({ state: 'detached' })
    await expect(page.locator('#composer-network').inputValue()).resolves.toBe('direct')
    expect(await page.locator('#composer-network option[value^="p:"]').count()).toBe(0)
    expect(saved().profiles).toEqual([])
  })

  it('a target saved with a token in its URL keeps the parameter, not the token, and asks for it', async () => {
    const TOKEN = 'SekretTok-4711'
    await page.getByRole('textbox', { name: 'URL' }).fill(`${demo.wsUrl}/echo?room=1&access_token=${TOKEN}`)
    await page.getByRole('button', { name: 'Options' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Echo with token')
    expect(await page.getByText('Remember passwords and tokens').count()).toBe(1)
    await page.getByRole('button', { name: 'Save target' }).click()
    const saved = page.getByRole('region', { name: 'Targets' }).getByRole('button', { name: 'Echo with token', exact: true })
    await saved.waitFor()
    const text = fs.readFileSync(path.join(tmp, 'targets.json'), 'utf8')
    expect(text).not.toContain(TOKEN)
    expect(text).toContain('/echo?room=1&access_token="')
    await page.getByRole('button', { name: 'Options' }).click()
    await page.reload()
    await page.getByRole('region', { name: 'Targets' }).getByRole('button', { name: 'Echo with token', exact: true }).click()
    await page.getByText(`needs the value of the URL's access_token (it was not saved)`).waitFor()
    await expect(page.getByRole('textbox', { name: 'URL' }).inputValue()).resolves.toBe(`${demo.wsUrl}/echo?room=1&access_token=`)
    // The caret waits where the token goes.
    const caret = await page.evaluate(() => {
      const el = document.activeElement as HTMLInputElement | null
      return el && el.getAttribute('aria-label') === 'URL' ? [el.selectionStart, el.value.length] : null
    })
    expect(caret).toEqual([`${demo.wsUrl}/echo?room=1&access_token=`.length, `${demo.wsUrl}/echo?room=1&access_token=`.length])
    await page.getByRole('button', { name: 'Connect' }).click()
    await expect(page.locator('.composer .error').textContent()).resolves.toBe('URL parameter access_token: enter its value after "access_token=" (it was not saved), or remove it')
    await shot(page, '28-target-token-asked')
    await page.getByRole('textbox', { name: 'URL' }).fill(`${demo.wsUrl}/echo?room=1&access_token=${TOKEN}`)
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.getByTestId('conn-state').filter({ hasText: /open/ }).waitFor({ timeout: 10_000 })
    await page.getByRole('button', { name: 'Close', exact: true }).click()
    await page.getByTestId('conn-state').filter({ hasText: /closed 1000/ }).waitFor({ timeout: 10_000 })
  })

  it('raised no page errors', () => {
    expect((page as unknown as { wtErrors: string[] }).wtErrors).toEqual([])
  })
})
