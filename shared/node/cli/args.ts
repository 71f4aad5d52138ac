/** A small, strict option parser: every option declared, clear errors for unknown or malformed ones. */
import { WiretraceError } from '../../common/errors/index.ts'

export interface OptionDef {
  type: 'string' | 'boolean' | 'number'
  multiple?: boolean
  short?: string
  /** Value placeholder for help. */
  arg?: string
  help: string
}

export type Parsed = { positionals: string[]; values: Record<string, string | boolean | number | string[] | undefined> }

export function parseArgs(argv: string[], defs: Record<string, OptionDef>): Parsed {
  const values: Parsed['values'] = {}
  const positionals: string[] = []
  const byShort = new Map<string, string>()
  for (const [name, d] of Object.entries(defs)) if (d.short) byShort.set(d.short, name)
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a)
      continue
    }
    let name: string
    let inline: string | undefined
    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      name = eq > 0 ? a.slice(2, eq) : a.slice(2)
      inline = eq > 0 ? a.slice(eq + 1) : undefined
    } else {
      const s = byShort.get(a.slice(1, 2))
      if (!s) throw new WiretraceError('WT_USAGE', `unknown option ${a}`)
      name = s
      inline = a.length > 2 ? a.slice(2) : undefined
    }
    let def = defs[name]
    if (!def && name.startsWith('no-') && defs[name.slice(3)]?.type === 'boolean') {
      values[name.slice(3)] = false
      continue
    }
    if (!def) {
      const close = Object.keys(defs).find((k) => k.startsWith(name) || name.startsWith(k))
      throw new WiretraceError('WT_USAGE', `unknown option --${name}${close ? ` (did you mean --${close}?)` : ''}`)
    }
    if (def.type === 'boolean') {
      if (inline !== undefined) throw new WiretraceError('WT_USAGE', `--${name} takes no value`)
      values[name] = true
      continue
    }
    const raw = inline ?? argv[++i]
    if (raw === undefined) throw new WiretraceError('WT_USAGE', `--${name} needs a value${def.arg ? ` (${def.arg})` : ''}`)
    let v: string | number = raw
    if (def.type === 'number') {
      v = Number(raw)
      if (!Number.isFinite(v) || raw.trim() === '') throw new WiretraceError('WT_USAGE', `--${name} needs a number, got "${raw}"`)
    }
    if (def.multiple) {
      const list = (values[name] as string[] | undefined) ?? []
      list.push(String(v))
      values[name] = list
    } else values[name] = v
    def = undefined
  }
  return { positionals, values }
}

export function helpText(usage: string, summary: string, defs: Record<string, OptionDef>): string {
  const rows = Object.entries(defs).map(([name, d]) => {
    const left = `  ${d.short ? `-${d.short}, ` : '    '}--${name}${d.arg ? ` ${d.arg}` : ''}`
    return `${left.padEnd(34)} ${d.help}${d.multiple ? ' (repeatable)' : ''}`
  })
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n`
}
