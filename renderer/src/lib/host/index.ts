/** Picks the host link: Electron when the preload is present, else web mode. */
import type { HostClient } from '../../../../shared/common/protocol/index.ts'
import { connectElectron } from './electron-host.ts'
import { connectWeb } from './web-host.ts'

export function connectHost(): Promise<HostClient> {
  return window.wiretrace ? connectElectron(window.wiretrace) : connectWeb()
}
