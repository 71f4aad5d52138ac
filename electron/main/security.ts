/** Security policy for the desktop shell: CSP, which URLs may load, which senders are ours. */
import path from 'node:path'
import { pathToFileURL } from 'node:url'

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The one page the window may show: the built renderer, or the dev server in `npm run dev` (never when packaged). */
export function rendererUrl(rendererDir: string, packaged: boolean): string {
  const dev = process.env.ELECTRON_RENDERER_URL
  if (dev && !packaged && /^http:\/\/(localhost|127\.0\.0\.1):\d+\/?$/.test(dev)) return dev
  return pathToFileURL(path.join(rendererDir, 'index.html')).href
}

/** Whether a frame URL is our renderer (query and hash ignored). */
export function isOurPage(frameUrl: string | undefined, allowed: string): boolean {
  if (!frameUrl) return false
  try {
    const a = new URL(frameUrl)
    const b = new URL(allowed)
    if (a.protocol === 'file:') return a.protocol === b.protocol && a.pathname === b.pathname
    return a.origin === b.origin
  } catch {
    return false
  }
}

/** Links we hand to the OS browser: http(s) only, no credentials. */
export function isSafeExternal(url: unknown): url is string {
  if (typeof url !== 'string' || url.length > 4096) return false
  try {
    const u = new URL(url)
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password
  } catch {
    return false
  }
}

/** Extensions the app opens as recordings (file association, command line, drag and drop). */
export const RECORDING_EXTENSIONS = ['.jsonl', '.wtrace', '.wtrace.gz', '.har']

/** The recording files among command-line arguments (flags and Chromium switches left out). */
export function recordingArgs(argv: readonly string[]): string[] {
  return argv.filter((a) => typeof a === 'string' && !a.startsWith('-') && RECORDING_EXTENSIONS.some((x) => a.toLowerCase().endsWith(x))).map((a) => path.resolve(a))
}

/** A default file name for the save dialog: a plain name, no directories. */
export function safeSaveName(name: unknown): string {
  const s = typeof name === 'string' ? path.basename(name).replace(/[^\w.\- ]+/g, '_').slice(0, 200) : ''
  return s || 'recording.wtrace.gz'
}
