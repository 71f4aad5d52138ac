/**
 * argv adapters for the recording commands, in the shape shared/node/cli/main.ts loads
 * (`run(argv, io) -> exit status`). The CLI's `recordings.ts` only re-exports these.
 */
import { WiretraceError, EXIT } from '../../common/errors/index.ts'
import { parseArgs, helpText, type OptionDef } from '../cli/args.ts'
import { exportCommand, importCommand, replayCommand, diffCommand } from './commands.ts'
import { PROFILE_OPTIONS } from '../cli/profiles.ts'
import { networkFromArgs } from '../cli/record.ts'

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }

const EXPORT_OPTS: Record<string, OptionDef> = {
  format: { type: 'string', short: 'f', arg: 'har|native|md', help: 'output format (default native: NAME.wtrace.gz)' },
  redact: { type: 'boolean', help: 'redact secrets (default on; --no-redact keeps them)' },
  'redact-rule': { type: 'string', multiple: true, arg: 'RULE', help: 'also redact: header:NAME, query:NAME, json:PATH, regex:/RE/FLAGS, preset:payload-secrets' },
  out: { type: 'string', short: 'o', arg: 'FILE', help: 'output file (default next to the input)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}
export const EXPORT_HELP = helpText('wiretrace export FILE [--format har|native|md] [--no-redact] [--redact-rule RULE]... [-o OUT]', 'Export a recording to share it: native compressed, HAR 1.2 (Chrome DevTools, HTTP Toolkit) or a Markdown summary.\nSecrets are redacted by default; the manifest of what was redacted is printed.', EXPORT_OPTS)

const IMPORT_OPTS: Record<string, OptionDef> = {
  out: { type: 'string', short: 'o', arg: 'FILE', help: 'output recording (default NAME.imported.jsonl)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}
export const IMPORT_HELP = helpText('wiretrace import FILE [-o OUT]', 'Import a HAR (Chrome DevTools, HTTP Toolkit, Wiretrace), a .wtrace.gz export or an older recording.', IMPORT_OPTS)

const REPLAY_OPTS: Record<string, OptionDef> = {
  target: { type: 'string', arg: 'URL', help: 'another target URL (default: the recorded one)' },
  proxy: { type: 'string', arg: 'URL', help: 'go through this proxy (http://, https://, socks5://, socks5h://...)' },
  ...PROFILE_OPTIONS,
  'proxy-user': { type: 'string', arg: 'USER[:PASS]', help: 'with --profile: credentials for its proxy (without :PASS the password comes from WIRETRACE_PROXY_PASSWORD)' },
  'as-fast': { type: 'boolean', help: 'send as fast as possible instead of with the original timing' },
  out: { type: 'string', short: 'o', arg: 'FILE', help: 'the new recording (default NAME.replay-STAMP.jsonl)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}
export const REPLAY_HELP = helpText('wiretrace replay FILE [--target URL] [--proxy URL | --profile NAME] [--as-fast] [-o OUT]', "Re-run a recording's client side against the same or another target; the run is a new recording.", REPLAY_OPTS)

const DIFF_OPTS: Record<string, OptionDef> = {
  conn: { type: 'string', arg: 'ID', help: 'the connection to compare in multi-connection recordings' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}
export const DIFF_HELP = helpText('wiretrace diff A B', 'Compare two recordings: establishment steps aligned, the first divergence, counts and rates.\nExit status: 0 same path, 1 diverged, 5 unreadable.', DIFF_OPTS)

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new WiretraceError('WT_USAGE', `${what} needs one file (got ${positionals.length})`)
  return positionals[0]!
}

export async function exportRun(argv: string[], io: Io): Promise<number> {
  const { positionals, values: v } = parseArgs(argv, EXPORT_OPTS)
  if (v.help) {
    io.stdout.write(EXPORT_HELP)
    return EXIT.OK
  }
  const file = one(positionals, 'export')
  const format = (v.format as string | undefined) ?? 'native'
  if (format !== 'har' && format !== 'native' && format !== 'md') throw new WiretraceError('WT_USAGE', `--format must be har, native or md, got "${format}"`)
  const r = await exportCommand(file, { format, redact: v.redact !== false, rules: (v['redact-rule'] as string[] | undefined) ?? [], ...(v.out ? { out: v.out as string } : {}) })
  io.stdout.write(r.text)
  return r.exitCode
}

export async function importRun(argv: string[], io: Io): Promise<number> {
  const { positionals, values: v } = parseArgs(argv, IMPORT_OPTS)
  if (v.help) {
    io.stdout.write(IMPORT_HELP)
    return EXIT.OK
  }
  const r = await importCommand(one(positionals, 'import'), v.out ? { out: v.out as string } : {})
  io.stdout.write(r.text)
  return r.exitCode
}

export async function replayRun(argv: string[], io: Io): Promise<number> {
  const { positionals, values: v } = parseArgs(argv, REPLAY_OPTS)
  if (v.help) {
    io.stdout.write(REPLAY_HELP)
    return EXIT.OK
  }
  // A saved profile (as record takes it): the proxy flags and the profile are checked together.
  if (v['proxy-user'] !== undefined && v.profile === undefined) throw new WiretraceError('WT_USAGE', '--proxy-user needs --profile here (give credentials in the --proxy URL)')
  const network = v.profile !== undefined || v.profiles !== undefined ? networkFromArgs(v) : undefined
  const r = await replayCommand(one(positionals, 'replay'), {
    ...(v.target ? { target: v.target as string } : {}),
    ...(network ? { network } : v.proxy ? { proxy: v.proxy as string } : {}),
    ...(v['as-fast'] ? { asFast: true } : {}),
    ...(v.out ? { out: v.out as string } : {}),
  })
  io.stdout.write(r.text)
  return r.exitCode
}

export async function diffRun(argv: string[], io: Io): Promise<number> {
  const { positionals, values: v } = parseArgs(argv, DIFF_OPTS)
  if (v.help) {
    io.stdout.write(DIFF_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 2) throw new WiretraceError('WT_USAGE', `diff needs two recordings (got ${positionals.length})`)
  const r = await diffCommand(positionals[0]!, positionals[1]!, v.conn ? { conn: v.conn as string } : {})
  io.stdout.write(r.text)
  return r.exitCode
}
