/** Where the hosts keep user data (XDG on Linux, the usual folders elsewhere). Node only. */
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export function configDir(): string {
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'Wiretrace')
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'Wiretrace')
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'wiretrace')
}

export function defaultRecordingsDir(): string {
  if (process.platform === 'linux') return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'wiretrace', 'recordings')
  return path.join(configDir(), 'recordings')
}

export function defaultTargetsFile(): string {
  return path.join(configDir(), 'targets.json')
}

/** The repository (or installed package) root: where out/ lives. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
}

export function rendererDir(): string {
  return path.join(packageRoot(), 'out', 'renderer')
}
