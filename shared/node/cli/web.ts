/** `wiretrace web` and `wiretrace open FILE`: the inspector in a browser, over the web host. */
import { EXIT, WiretraceError } from '../../common/errors/index.ts'
import { parseArgs, helpText, type OptionDef } from './args.ts'

const OPTIONS: Record<string, OptionDef> = {
  port: { type: 'number', short: 'p', arg: 'PORT', help: 'port on 127.0.0.1 (default: random)' },
  open: { type: 'boolean', help: 'open the recordings given as arguments' },
  'no-demo': { type: 'boolean', help: 'do not start the built-in demo servers' },
  'recordings-dir': { type: 'string', arg: 'DIR', help: 'where live recordings are written' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}
export const WEB_HELP = helpText('wiretrace web [options] | wiretrace open FILE...', 'Serve the inspector on 127.0.0.1 with a random token and print the URL to open.', OPTIONS)

export async function run(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const { positionals, values } = parseArgs(argv, OPTIONS)
  if (values.help) {
    io.stdout.write(WEB_HELP)
    return EXIT.OK
  }
  if (values.open && positionals.length === 0) throw new WiretraceError('WT_USAGE', 'open needs a recording file')
  const { runWeb } = await import('../hosts/web.ts')
  const server = await runWeb({
    port: values.port as number | undefined,
    open: positionals,
    demo: values['no-demo'] !== true,
    recordingsDir: values['recordings-dir'] as string | undefined,
  })
  // runWeb prints the URL to open.
  void io
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void server.close().then(resolve)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  return EXIT.OK
}
