// The architecture rules, checked on the source: the engine never imports electron,
// shared/common uses neither Node nor DOM, the renderer never reaches into the engine.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'

function files(dir: string, exts = ['.ts', '.mts', '.svelte', '.mjs']): string[] {
  if (!fs.existsSync(dir)) return []
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...files(p, exts))
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p)
  }
  return out
}

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g
function imports(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of src.matchAll(importRe)) out.push((m[1] ?? m[2] ?? m[3])!)
  return out
}

describe('layering', () => {
  it('the engine (shared/) never imports electron', () => {
    const bad = files('shared').flatMap((f) => imports(f).filter((i) => i === 'electron' || i.startsWith('electron/')).map((i) => `${f}: ${i}`))
    expect(bad).toEqual([])
  })

  it('shared/common imports no Node built-in, no Node-only package and nothing outside shared/common', () => {
    const builtins = new Set(['fs', 'path', 'os', 'net', 'tls', 'http', 'https', 'http2', 'dns', 'crypto', 'stream', 'zlib', 'child_process', 'worker_threads', 'url', 'util', 'events', 'buffer', 'vm', 'ws', 'undici'])
    const bad: string[] = []
    for (const f of files('shared/common')) {
      for (const i of imports(f)) {
        if (i.startsWith('node:') || builtins.has(i)) bad.push(`${f}: ${i}`)
        if (i.startsWith('.')) {
          const target = path.resolve(path.dirname(f), i)
          if (!target.startsWith(path.resolve('shared/common'))) bad.push(`${f}: ${i}`)
        }
      }
    }
    expect(bad).toEqual([])
  })

  it('shared/common is type-checked without DOM and Node globals (tsconfig.common.json)', () => {
    // Globals such as window, document, process or Buffer fail `tsc -p tsconfig.common.json` (run by npm test)
    // because that config has no DOM lib and no @types/node. Guard the config itself here.
    const cfg = JSON.parse(fs.readFileSync('tsconfig.common.json', 'utf8')) as { compilerOptions: { lib: string[]; types: string[] }; include: string[] }
    expect(cfg.compilerOptions.lib.some((l) => /dom/i.test(l))).toBe(false)
    expect(cfg.compilerOptions.types).toEqual([])
    expect(cfg.include).toEqual(['shared/common/**/*.ts', 'shared/types/universal.d.ts'])
  })

  it('the renderer reaches the engine only through the shared contract', () => {
    const bad: string[] = []
    for (const f of files('renderer/src')) {
      for (const i of imports(f)) {
        if (i === 'electron' || i.startsWith('node:') || i === 'ws' || i === 'undici') bad.push(`${f}: ${i}`)
        if (i.startsWith('.') && /shared[\\/]node|electron[\\/]/.test(path.resolve(path.dirname(f), i))) bad.push(`${f}: ${i}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('the layering test can fail: it sees a planted electron import', () => {
    const src = "import { app } from 'electron'\n"
    expect([...src.matchAll(importRe)].map((m) => m[1])).toEqual(['electron'])
  })
})
