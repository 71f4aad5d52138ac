/** Differential property test: checkEventLine agrees with JSON.parse whenever it says yes. */
import { describe, it, expect } from 'vitest'
import { checkEventLine } from '../../shared/common/recording/line-check.ts'
import { prng, randomRecording } from '../fixtures/recordings/helpers.ts'

function viaParse(line: string): number | null {
  try {
    const v = JSON.parse(line)
    if (!v || typeof v !== 'object' || Array.isArray(v) || typeof v.seq !== 'number' || typeof v.ts !== 'number' || typeof v.conn !== 'string' || typeof v.type !== 'string') return null
    return v.seq
  } catch {
    return null
  }
}

const check = (line: string): number | null => {
  const b = Buffer.from(line)
  const out = { seq: 0 }
  return checkEventLine(b, 0, b.length, out) ? out.seq : null
}

describe('checkEventLine', () => {
  const valid = randomRecording(99, 2000).events.map((e) => JSON.stringify(e))

  it('accepts every valid event line the engine writes, with the right seq', () => {
    for (const l of valid) expect(check(l), l).toBe(viaParse(l))
  })

  it('never accepts what JSON.parse rejects (mutated lines)', () => {
    const rnd = prng(7)
    const CH = ['"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', 'e', '.', 'u', 'x', ' ', 't', 'n', '\u0001', 'é']
    let accepted = 0
    for (let i = 0; i < 40000; i++) {
      let l = valid[i % valid.length]!
      const n = 1 + Math.floor(rnd() * 3)
      for (let k = 0; k < n; k++) {
        const at = Math.floor(rnd() * (l.length + 1))
        const r = rnd()
        if (r < 0.4) l = l.slice(0, at) + CH[Math.floor(rnd() * CH.length)] + l.slice(at + 1)
        else if (r < 0.7) l = l.slice(0, at) + CH[Math.floor(rnd() * CH.length)] + l.slice(at)
        else l = l.slice(0, at) + l.slice(at + 1 + Math.floor(rnd() * 4))
      }
      const got = check(l)
      if (got !== null) {
        accepted++
        expect(viaParse(l), l).toBe(got)
      }
    }
    expect(accepted).toBeGreaterThan(1000)
  })

  it('edge cases', () => {
    const base = '"ts":1,"conn":"c","type":"t"'
    expect(check(`{"seq":5,${base}}`)).toBe(5)
    expect(check(`  {"seq":-0.5e1,${base},"x":[{},[],{"a":[null,true,false,"\\u00e9\\n"]}]} `)).toBe(-5)
    expect(check(`{"seq":"5",${base}}`)).toBeNull()
    expect(check(`{"seq":1e999,${base}}`)).toBeNull()
    expect(check(`{"seq":01,${base}}`)).toBeNull()
    expect(check(`{"seq":1,${base},}`)).toBeNull()
    expect(check(`{"seq":1,${base}} x`)).toBeNull()
    expect(check(`{"seq":1,${base},"s":"\\x"}`)).toBeNull()
    expect(check(`{"seq":1,${base},"s":"\\u12"}`)).toBeNull()
    expect(check(`{"seq":1,"ts":1,"conn":"c"}`)).toBeNull()
    expect(check(`[{"seq":1,${base}}]`)).toBeNull()
    expect(check(`{"seq":1,${base},"deep":${'['.repeat(300)}${']'.repeat(300)}}`)).toBeNull() // too deep: falls back to JSON.parse
  })
})
