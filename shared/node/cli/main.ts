/** The `wiretrace` command line: a thin adapter over the engine and the hosts. */
import { WiretraceError, EXIT, toErrorData, exitCodeFor } from '../../common/errors/index.ts'
import { APP_VERSION } from '../engine/version.ts'
import { recordCommand, RECORD_HELP } from './record.ts'
import { inspectCommand } from './inspect.ts'

const HELP = `wiretrace ${APP_VERSION}: a debugger for long-lived connections

Usage: wiretrace <command> [options]

Commands:
  record <url>       open a WebSocket/SSE/long-poll/HTTP2/stream connection and record it
  inspect <file>     print a readable summary of a recording
  web                serve the inspector UI in a browser (127.0.0.1, random port and token)
  open <file>        open a recording in the inspector (web mode)
  lab                start the proxy lab: a local misbehaving proxy that reproduces corporate proxies
  export <file>      export a recording as HAR, native (.wtrace.gz) or Markdown, redacted by default
  import <file>      import a HAR (Chrome DevTools, HTTP Toolkit, Wiretrace) or an older recording
  replay <file>      re-run a recording's client side against the same or another target
  diff <a> <b>       compare two recordings (home vs office)
  profiles           list the network profiles saved in the app (use one: record <url> --profile NAME)

Run "wiretrace <command> --help" for its options.
`

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }

/** Commands other areas provide, loaded on demand so a missing one says so clearly. */
const LAZY: Record<string, () => Promise<{ run: (argv: string[], io: Io) => Promise<number> }>> = {
  web: () => import('./web.ts'),
  open: () => import('./web.ts').then((m) => ({ run: (argv: string[], io: Io) => m.run(['--open', ...argv], io) })),
  lab: () => import('./lab.ts'),
  export: () => import('./recordings.ts').then((m) => ({ run: m.exportRun })),
  import: () => import('./recordings.ts').then((m) => ({ run: m.importRun })),
  replay: () => import('./recordings.ts').then((m) => ({ run: m.replayRun })),
  diff: () => import('./recordings.ts').then((m) => ({ run: m.diffRun })),
  profiles: () => import('./profiles.ts'),
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [cmd, ...rest] = argv
  try {
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      io.stdout.write(cmd === 'help' && rest[0] === 'record' ? RECORD_HELP : HELP)
      return EXIT.OK
    }
    if (cmd === '--version' || cmd === '-v') {
      io.stdout.write(`${APP_VERSION}\n`)
      return EXIT.OK
    }
    if (cmd === 'record') return await recordCommand(rest, io)
    if (cmd === 'inspect') return await inspectCommand(rest, io)
    const lazy = LAZY[cmd]
    if (lazy) return await (await lazy()).run(rest, io)
    throw new WiretraceError('WT_USAGE', `unknown command "${cmd}" (run wiretrace --help)`)
  } catch (e) {
    const data = toErrorData(e)
    io.stderr.write(`wiretrace: ${data.code}: ${data.message}\n`)
    if (data.code === 'WT_INTERNAL' && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`)
    return data.code === 'WT_USAGE' ? EXIT.USAGE : exitCodeFor(data.code)
  }
}
