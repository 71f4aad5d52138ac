/**
 * electron-vite build: main (ESM, plus the engine's utility-process entry), preload
 * (sandboxed CommonJS), renderer (Svelte 5, root renderer/, output out/renderer).
 * `npm run build` runs it; web mode serves out/renderer as is.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import type { Plugin } from 'vite'

/**
 * electron-vite injects `const require = createRequire(import.meta.url)` into ESM chunks that
 * use CommonJS syntax; a module of ours declaring its own top-level `require` the same way
 * would then be a duplicate declaration in the bundle (a SyntaxError at load). Rename such
 * module-local bindings before bundling.
 */
function localRequireRename(): Plugin {
  return {
    name: 'wiretrace:local-require-rename',
    enforce: 'pre',
    transform(code, id) {
      if (!/\/shared\/.*\.ts$/.test(id) || !/\b(const|let|var) require = createRequire\(/.test(code)) return null
      return { code: code.replace(/\brequire\b(?=\s*(=|\())/g, '__wtLocalRequire'), map: null }
    },
  }
}

/**
 * The recording writer's worker is plain JavaScript loaded with
 * `new URL('./writer-worker.mjs', import.meta.url)`, which Vite leaves alone in a Node build:
 * emit the file next to every chunk that refers to it.
 */
function writerWorker(): Plugin {
  const file = resolve('shared/node/recording/writer-worker.mjs')
  return {
    name: 'wiretrace:writer-worker',
    generateBundle(_opts, bundle) {
      const source = readFileSync(file, 'utf8')
      const dirs = new Set<string>()
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk' && chunk.code.includes('./writer-worker.mjs')) dirs.add(dirname(chunk.fileName))
      }
      for (const dir of dirs) this.emitFile({ type: 'asset', fileName: join(dir, 'writer-worker.mjs'), source })
    },
  }
}

export default defineConfig({
  main: {
    plugins: [localRequireRename(), writerWorker()],
    build: {
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          index: resolve('electron/main/index.ts'),
          engine: resolve('electron/main/engine-process.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload cannot require node_modules: bundle everything into one CJS file.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve('electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'renderer',
    base: './',
    plugins: [svelte()],
    build: {
      outDir: resolve('out/renderer'),
      emptyOutDir: true,
      sourcemap: false,
      rolldownOptions: { input: { index: resolve('renderer/index.html') } },
    },
  },
})
