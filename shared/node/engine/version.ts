import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let version = '0.0.0'
try {
  version = (require('../../../package.json') as { version: string }).version
} catch {
  /* bundled without package.json next to it */
}
export const APP_VERSION: string = version
