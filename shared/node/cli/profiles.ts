/**
 * The network profiles saved in the app (profiles.json, kept by hosts/profiles.ts's ProfileStore)
 * on the command line: `wiretrace profiles` lists them, `record --profile NAME` finds one.
 * The file is read with the app's own store, so names, limits and damaged files behave as there.
 */
import fs from 'node:fs'
import path from 'node:path'
import { WiretraceError, EXIT, type WiretraceErrorData } from '../../common/errors/index.ts'
import { describeNetwork, needsPassword, profileAuth, type SavedProfile } from '../../common/protocol/profiles.ts'
import { redactSpec } from '../../common/redact.ts'
import type { NetworkProfile } from '../../common/spec/index.ts'
import { ProfileStore } from '../hosts/profiles.ts'
import { configDir } from '../hosts/paths.ts'
import { parseArgs, helpText, type OptionDef } from './args.ts'

/** Saved names an unknown --profile error lists at most. */
export const MAX_NAMES_LISTED = 20

/** Where the app keeps its profiles: profiles.json next to targets.json in the config directory. */
export function defaultProfilesFile(): string {
  return path.join(configDir(), 'profiles.json')
}

/** --profile and --profiles, as `record` takes them (and any other command that opens a connection). */
export const PROFILE_OPTIONS: Record<string, OptionDef> = {
  profile: {
    type: 'string',
    arg: 'NAME',
    help:
      'use a network profile saved in the app (profiles.json; the name matches regardless of case) and record its name. Not with --proxy, --pac, --proxy-env, --proxy-mode or --no-proxy. ' +
      'A password the profile did not keep comes from --proxy-user or WIRETRACE_PROXY_PASSWORD, its proxy client key\'s passphrase from WIRETRACE_PROXY_KEY_PASSPHRASE',
  },
  profiles: { type: 'string', arg: 'FILE', help: 'the profiles file --profile reads (default: profiles.json in the app\'s config directory, as "wiretrace profiles" shows)' },
}

/** The profiles file the options name. */
export function profilesFile(v: Record<string, unknown>): string {
  return (v.profiles as string | undefined) ?? defaultProfilesFile()
}

function namesText(names: string[]): string {
  const shown = names.slice(0, MAX_NAMES_LISTED).join(', ')
  return names.length > MAX_NAMES_LISTED ? `${shown} and ${names.length - MAX_NAMES_LISTED} more` : shown
}

/** The saved profile named `name` in `file` (ProfileStore.get's matching), or WT_PROFILE_NOT_FOUND naming the file and the saved names. */
export function findProfile(file: string, name: string): SavedProfile {
  const store = new ProfileStore(file)
  const found = store.get(name)
  const problems = store.takeProblems()
  if (found) return found
  if (!problems.length && !fs.existsSync(file)) {
    throw new WiretraceError('WT_PROFILE_NOT_FOUND', `no saved profile is named "${name}": ${file} does not exist (save a profile in the app first, or point --profiles at the file)`, { name, file })
  }
  const names = store.list().profiles.map((p) => p.name)
  const why = problems.length ? ` (${problems.map((p) => p.message).join('; ')})` : ''
  throw new WiretraceError('WT_PROFILE_NOT_FOUND', `no saved profile is named "${name}" in ${file}${why}; ${names.length ? `saved: ${namesText(names)}` : 'it holds no profiles'}`, { name, file })
}

/** One profile as `profiles --json` shows it: never a password, a key or a passphrase. */
export interface ListedProfile {
  name: string
  mode: NetworkProfile['mode']
  /** The line the app's composer shows (describeNetwork). */
  description: string
  /** The proxy user name, if the profile has credentials. */
  user?: string
  /** The password is kept in the file ("Remember password"). */
  passwordKept: boolean
  /** A user name without its password: record asks for it (--proxy-user, WIRETRACE_PROXY_PASSWORD). */
  needsPassword: boolean
  updated?: string
  /** The profile as a recording would show it: passwords "[redacted]", keys and certificates elided. */
  network: NetworkProfile
}

export interface ProfileListing {
  file: string
  exists: boolean
  limit: number
  profiles: ListedProfile[]
  /** A damaged file (kept aside by the store), entries skipped. */
  problems: WiretraceErrorData[]
}

/** Reads `file` as the app does and describes every profile in it without secrets. */
export function listProfiles(file: string): ProfileListing {
  const exists = fs.existsSync(file)
  const store = new ProfileStore(file)
  const list = store.list()
  const problems = store.takeProblems()
  const profiles = list.profiles.map((p): ListedProfile => {
    const auth = profileAuth(p.network)
    return {
      name: p.name,
      mode: p.network.mode,
      description: describeNetwork(p.network),
      ...(auth?.username ? { user: auth.username } : {}),
      passwordKept: !!auth?.password,
      needsPassword: needsPassword(p.network),
      ...(p.updated ? { updated: p.updated } : {}),
      // The recording's own redaction, so the listing hides exactly what a recording hides.
      network: redactSpec({ url: 'ws://profile.invalid/', transport: 'ws', network: p.network }).network!,
    }
  })
  return { file, exists, limit: list.limit, profiles, problems }
}

const OPTIONS: Record<string, OptionDef> = {
  profiles: { type: 'string', arg: 'FILE', help: 'the profiles file (default: profiles.json in the app\'s config directory)' },
  json: { type: 'boolean', help: 'print JSON: the file, each profile (name, mode, description, user, whether the password is kept, the profile with secrets redacted) and problems' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}

export const PROFILES_HELP = helpText(
  'wiretrace profiles [--profiles FILE] [--json]',
  'List the network profiles saved in the app: name, mode and a one-line description (never a password), and the file.\n' +
    'Use one with "wiretrace record URL --profile NAME". A damaged file is reported on stderr (the app keeps it aside as\n' +
    'profiles.json.bad-TIME) and what could be read is still listed; the exit status is 0.',
  OPTIONS,
)

export async function run(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const { positionals, values } = parseArgs(argv, OPTIONS)
  if (values.help) {
    io.stdout.write(PROFILES_HELP)
    return EXIT.OK
  }
  if (positionals.length) throw new WiretraceError('WT_USAGE', `profiles takes no arguments, got ${positionals.join(' ')}`)
  const l = listProfiles(profilesFile(values))
  for (const p of l.problems) io.stderr.write(`wiretrace: ${p.code}: ${p.message}\n`)
  if (values.json) {
    io.stdout.write(`${JSON.stringify(l, null, 2)}\n`)
    return EXIT.OK
  }
  if (!l.profiles.length) {
    io.stdout.write(l.exists || l.problems.length ? `No network profiles in ${l.file}\n` : `No network profiles: ${l.file} does not exist (the app writes it when you save a profile)\n`)
    return EXIT.OK
  }
  const width = Math.max(...l.profiles.map((p) => p.name.length))
  const modeWidth = Math.max(...l.profiles.map((p) => p.mode.length))
  io.stdout.write(`${l.profiles.length} network profile${l.profiles.length === 1 ? '' : 's'} in ${l.file}:\n`)
  for (const p of l.profiles) io.stdout.write(`  ${p.name.padEnd(width)}  ${p.mode.padEnd(modeWidth)}  ${p.description}${p.needsPassword ? ' · password not kept' : ''}\n`)
  return EXIT.OK
}
