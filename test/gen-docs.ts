/**
 * Writes docs/errors.md and docs/limits.md from the tables in shared/common (the single
 * source). test/unit/docs.test.ts fails when the committed docs drift: run
 * `npx tsx test/gen-docs.ts` after changing a code or a limit.
 */
import fs from 'node:fs'
import { ERRORS, EXIT } from '../shared/common/errors/index.ts'
import { DEFAULT_LIMITS } from '../shared/common/limits.ts'

export function errorsDoc(): string {
  const rows = Object.entries(ERRORS).map(([code, info]) => `| \`${code}\` | ${info.exit} | ${info.summary} |`)
  const exits = Object.entries(EXIT).map(([k, v]) => `| ${v} | ${k.toLowerCase()} |`)
  return `# Error codes

Every failure Wiretrace reports carries one of these stable codes. They cross every boundary
unchanged: in \`error\` events of a recording, over IPC and the web-mode WebSocket as
\`{ code, message, detail }\`, and as the CLI's one-line diagnosis (\`wiretrace: CODE: message\`)
with the exit status below. Generated from \`shared/common/errors/\` by \`test/gen-docs.ts\`.

| code | CLI exit | meaning |
|---|---|---|
${rows.join('\n')}

## CLI exit statuses

| status | meaning |
|---|---|
${exits.join('\n')}
`
}

const LIMIT_CODES: Record<string, string> = {
  maxMessageBytes: 'WT_WS_MAX_PAYLOAD',
  maxRecordedPayload: '(payload stored with `truncated: true`)',
  maxHeaderBytes: 'WT_HTTP_HEADERS_TOO_LARGE',
  maxSseLineBytes: 'WT_SSE_LINE_TOO_LONG',
  maxSseEventBytes: 'WT_SSE_EVENT_TOO_LARGE',
  maxPollBodyBytes: '(body stored cut, the cap recorded)',
  maxBodyPreviewBytes: '(preview cut)',
  connectTimeoutMs: 'WT_CONNECT_TIMEOUT',
  maxInspectorBacklog: 'WT_LIMIT_INSPECTOR_BACKLOG',
  liveRingSize: '(older events read back from the recording)',
  recorderFlushBytes: '(the writer worker is woken)',
  recorderRingBytes: '(the engine waits for the writer; nothing is dropped)',
  maxBatchEvents: '(the rest counted as coalesced)',
}

export function limitsDoc(): string {
  const src = fs.readFileSync('shared/common/limits.ts', 'utf8')
  const rows = Object.entries(DEFAULT_LIMITS).map(([k, v]) => {
    const doc = new RegExp(`/\\*\\*\\s*([^*]+?)\\s*\\*/\\s*${k}:`).exec(src)?.[1]?.replace(/\s+/g, ' ') ?? ''
    return `| \`${k}\` | ${v.toLocaleString('en-US')} | ${LIMIT_CODES[k] ?? ''} | ${doc} |`
  })
  return `# Limits

Nothing in Wiretrace grows without bound. Every limit is an option, per connection
(\`spec.limits\`) or engine-wide, with the default below; hitting one gives the stable code
listed (or the documented behaviour). Generated from \`shared/common/limits.ts\` by
\`test/gen-docs.ts\`.

| limit | default | when hit | what it bounds |
|---|---|---|---|
${rows.join('\n')}
`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  fs.mkdirSync('docs', { recursive: true })
  fs.writeFileSync('docs/errors.md', errorsDoc())
  fs.writeFileSync('docs/limits.md', limitsDoc())
  console.log('wrote docs/errors.md, docs/limits.md')
}
