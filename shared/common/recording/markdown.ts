/**
 * A Markdown summary of a recording for a ticket: environment, each connection's
 * establishment timeline, outcome, counts, errors and diagnoses, and what was redacted.
 * Every recorded string is escaped: nothing from a recording becomes HTML, a link or an
 * image when the ticket renders it.
 */
import type { WiretraceEvent } from '../events/index.ts'
import type { RecordingHeader } from './format.ts'
import type { RedactionManifest } from './redact-rules.ts'
import { profileRecording } from './profile.ts'

/** Escapes text for a Markdown paragraph or table cell. */
export function mdEscape(s: string, max = 300): string {
  let t = String(s).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').replace(/\r?\n/g, ' ')
  if (t.length > max) t = t.slice(0, max) + '…'
  return t
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/:\/\//g, ':&#47;&#47;') // no autolinks
}

const code = (s: string): string => mdEscape(s)

export interface MarkdownOptions {
  redaction?: RedactionManifest
  /** Source file name shown at the top. */
  source?: string
}

export function toMarkdown(header: RecordingHeader | null, events: Iterable<WiretraceEvent>, opts: MarkdownOptions = {}): string {
  const out: string[] = []
  const profiles = profileRecording(header, events)
  out.push(`# Wiretrace recording${typeof header?.title === 'string' ? `: ${mdEscape(header.title)}` : ''}`)
  out.push('')
  if (opts.source) out.push(`- File: ${code(opts.source)}`)
  if (header) {
    out.push(`- Created: ${code(String(header.created))} by Wiretrace ${code(String(header.app))} (format v${header.version})`)
    const env = (header.env && typeof header.env === 'object' ? header.env : {}) as Partial<RecordingHeader['env']>
    out.push(`- Environment: ${code(`${env.os ?? '?'} ${env.release ?? ''} ${env.arch ?? ''}, ${env.runtime ?? '?'}, ${env.host ?? '?'}`)}`)
    if (Array.isArray(env.proxyEnv) && env.proxyEnv.length) out.push(`- Proxy variables set: ${code(env.proxyEnv.join(', '))}`)
    out.push(`- Secrets: ${code(String(header.secrets))}`)
  }
  out.push(`- Connections: ${profiles.length}`)
  out.push('')
  for (const p of profiles) {
    out.push(`## ${mdEscape(p.name ?? p.conn)}: ${p.transport || '?'} ${code(p.url)}`)
    out.push('')
    const end = p.steps.find((s) => s.key === 'end')
    const close = p.steps.find((s) => s.key === 'close')
    const opened = p.steps.some((s) => s.key === 'open')
    out.push(`**Outcome:** ${opened ? 'opened' : 'never opened'}${close ? `, closed ${code(close.detail)}` : ''}${end ? `, ended: ${code(end.detail)}` : ', no end event (unfinished recording)'}`)
    out.push('')
    out.push('| Step | At | Took | Detail |')
    out.push('|---|---:|---:|---|')
    for (const s of p.steps) {
      out.push(`| ${mdEscape(s.key)} | ${Math.round(s.atMs)} ms | ${s.durationMs !== undefined ? `${Math.round(s.durationMs)} ms` : ''} | ${code(s.detail)} |`)
    }
    out.push('')
    out.push('| Messages | In | Out |')
    out.push('|---|---:|---:|')
    out.push(`| count | ${p.msgsIn} | ${p.msgsOut} |`)
    out.push(`| bytes | ${p.bytesIn} | ${p.bytesOut} |`)
    out.push(`| per second while open | ${p.rateIn} | ${p.rateOut} |`)
    if (p.sseEvents) out.push(`| SSE events | ${p.sseEvents} | |`)
    if (p.pings || p.pongs) out.push(`| pings / pongs | ${p.pings} | ${p.pongs} |`)
    out.push('')
    out.push(`Duration ${Math.round(p.durationMs)} ms, open ${Math.round(p.openMs)} ms, ${p.attempts} attempt(s), ${p.events} events.`)
    out.push('')
    if (p.errors.length) {
      out.push('**Errors**')
      out.push('')
      for (const e of p.errors) out.push(`- ${code(e.code)} in ${code(e.phase)} at ${Math.round(e.atMs)} ms: ${code(e.message)}`)
      out.push('')
    }
    if (p.diagnoses.length) {
      out.push('**Diagnoses**')
      out.push('')
      for (const d of p.diagnoses) out.push(`- ${mdEscape(d.severity)}: ${code(d.title)} (${code(d.code)})`)
      out.push('')
    }
  }
  const r = opts.redaction
  if (r) {
    out.push('## Redaction')
    out.push('')
    if (!r.redacted) out.push('Nothing was redacted (exported with --no-redact).')
    else {
      out.push(`${r.events} event(s) changed. Defaults: ${r.defaults.length ? 'on' : 'off'}. User rules: ${r.rules.length ? r.rules.map(code).join(', ') : 'none'}.`)
      out.push('')
      if (r.entries.length) {
        out.push('| Rule | Where | Count |')
        out.push('|---|---|---:|')
        for (const e of r.entries) out.push(`| ${code(e.rule)} | ${code(e.where)} | ${e.count} |`)
        out.push('')
      }
    }
  }
  return out.join('\n') + '\n'
}
