/**
 * Finds the Electron binary without requiring the `electron` package (whose index.js would
 * try to download it), and says why the desktop app cannot start here when it cannot.
 */
import fs from 'node:fs'
import path from 'node:path'
import { packageRoot } from './paths.ts'

export type ElectronCheck = { ok: true; path: string } | { ok: false; why: string }

export function findElectronBinary(root = packageRoot()): ElectronCheck {
  const pkg = path.join(root, 'node_modules', 'electron')
  if (!fs.existsSync(path.join(pkg, 'package.json'))) return { ok: false, why: 'the electron package is not installed (node_modules/electron is missing)' }
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(pkg, 'dist')
  let rel: string | null = null
  try {
    rel = fs.readFileSync(path.join(pkg, 'path.txt'), 'utf8').trim()
  } catch {
    rel = null
  }
  const exe = rel ? path.join(dist, rel) : null
  if (!exe || !fs.existsSync(exe)) {
    return {
      ok: false,
      why: `the Electron binary was never downloaded (${path.relative(root, dist)} is missing: npm installs run with ignore-scripts; run \`npx install-electron\` where the network allows it)`,
    }
  }
  return { ok: true, path: exe }
}

/** Whether a GUI can open: on Linux a display server must be reachable. */
export function displayProblem(): string | null {
  if (process.platform !== 'linux') return null
  if (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return null
  return 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)'
}
