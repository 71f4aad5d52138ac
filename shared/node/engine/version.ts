import { createRequire } from 'node:module'

/**
 * The app version: from WIRETRACE_APP_VERSION (the desktop main process passes it to the
 * bundled engine, where package.json is not beside the code), else from package.json.
 */
function readVersion(): string {
  if (process.env.WIRETRACE_APP_VERSION) return process.env.WIRETRACE_APP_VERSION
  try {
    const req = createRequire(import.meta.url)
    return (req('../../../package.json') as { version: string }).version
  } catch {
    return '0.0.0'
  }
}

export const APP_VERSION: string = readVersion()
