/** File names for exports, and base64 to bytes for downloads (web mode). No DOM, no Node. */
export type ExportFormat = 'native' | 'har' | 'md'

export const FORMAT_LABEL: Record<ExportFormat, string> = {
  native: 'Wiretrace (.wtrace.gz)',
  har: 'HAR 1.2 (.har)',
  md: 'Markdown summary (.md)',
}

export function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p
}

/** recording.jsonl → recording.wtrace.gz / recording.har / recording.md */
export function exportName(file: string, format: ExportFormat): string {
  const base = baseName(file).replace(/(\.wtrace\.gz|\.jsonl|\.gz|\.har)$/i, '')
  return base + (format === 'native' ? '.wtrace.gz' : format === 'har' ? '.har' : '.md')
}

/** Rules from a textarea: one per line, blank lines and # comments left out. */
export function parseRuleLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
}

export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
