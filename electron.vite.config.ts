/**
 * electron-vite build: main (ESM, plus the engine's utility-process entry), preload
 * (sandboxed CommonJS), renderer (Svelte 5, root renderer/, output out/renderer).
 * `npm run build` runs it; web mode serves out/renderer as is.
 */
import { resolve } from 'node:path'
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

export default defineConfig({
  main: {
    plugins: [localRequireRename()],
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
