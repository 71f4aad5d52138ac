import { describe, it, expect } from 'vitest'
import { diffRecordings, renderDiff } from '../../shared/common/recording/diff.ts'
import { toMarkdown, mdEscape } from '../../shared/common/recording/markdown.ts'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'
import { fixture, readJsonl } from '../fixtures/recordings/helpers.ts'

const home = readJsonl(fixture('v1-home-direct.jsonl'))
const office = readJsonl(fixture('v1-office-proxy.jsonl'))

function withChange(events: WiretraceEvent[], type: string, patch: Record<string, unknown>): WiretraceEvent[] {
  return events.map((e) => (e.type === type ? ({ ...e, ...patch } as WiretraceEvent) : e))
}

describe('compare', () => {
  it('home vs office: diverges first at the route, then CONNECT, TLS issuer, close code', () => {
    const d = diffRecordings({ label: 'home', ...home }, { label: 'office', ...office })
    expect(d.firstDivergence?.key).toBe('route')
    expect(d.samePath).toBe(false)
    const differing = d.steps.filter((s) => !s.same).map((s) => s.key)
    expect(differing).toEqual(expect.arrayContaining(['route', 'proxy', 'tls', 'close', 'end']))
    expect(d.steps.find((s) => s.key === 'http')?.same).toBe(true)
    expect(d.metrics.find((m) => m.metric === 'messages in')).toMatchObject({ a: 2, b: 5 })
    const text = renderDiff(d)
    expect(text).toContain('>>route / proxy chosen')
    expect(text).toContain('First divergence: route / proxy chosen')
    expect(text).not.toContain('alice:pw') // display redacts URL credentials
  })

  it('a recording against itself has the same path', () => {
    const d = diffRecordings({ label: 'a', ...home }, { label: 'b', ...home })
    expect(d.samePath).toBe(true)
    expect(d.firstDivergence).toBeNull()
    expect(renderDiff(d)).toContain('Same establishment path and outcome.')
  })

  it('finds each kind of divergence as the first one', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['tls', { alpn: 'h2' }, 'tls'],
      ['tls', { chain: [{ subject: 'CN=x', issuer: 'CN=Evil Corp CA', validFrom: '', validTo: '', fingerprint256: '' }] }, 'tls'],
      ['ws.negotiated', { extensions: '' }, 'ws'],
      ['http.response', { status: 403 }, 'http'],
      ['ws.close', { code: 1001 }, 'close'],
    ]
    for (const [type, patch, key] of cases) {
      const d = diffRecordings({ label: 'a', ...home }, { label: 'b', header: home.header, events: withChange(home.events, type, patch) })
      expect(d.firstDivergence?.key, `${type} ${JSON.stringify(patch)}`).toBe(key)
    }
    // A step one side never reached is a divergence.
    const failed = home.events.filter((e) => !['http.response', 'ws.negotiated', 'open', 'ws.close'].includes(e.type))
    expect(diffRecordings({ label: 'a', ...home }, { label: 'b', header: home.header, events: failed }).firstDivergence?.key).toBe('http')
  })
})

describe('markdown', () => {
  it('escapes everything recorded: no HTML, links or images', () => {
    expect(mdEscape('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert\\(1\\)&gt;')
    expect(mdEscape('[click](javascript:alert(1))')).not.toMatch(/\[click\]\(/)
    expect(mdEscape('a|b\nc')).toBe('a\\|b c')
    const evil = office.events.map((e) => (e.type === 'diagnosis' ? ({ ...e, title: '<script>x</script> ![i](http://e/x.png)' } as WiretraceEvent) : e))
    const md = toMarkdown(office.header, evil)
    expect(md).not.toContain('<script>')
    expect(md).not.toContain('![i](')
    expect(md).toContain('| proxy |')
    expect(md).toContain('Corp Inspection CA')
  })
})
