import { describe, expect, it } from 'vitest'
import { WsFrameInspector, type FrameRoute } from '../../shared/common/parsers/ws-frames.ts'
import { frame } from '../fixtures/ws-servers.ts'

/** A deterministic PRNG for repeatable random chunkings. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

const masked = (opcode: number, payload: Buffer): Buffer => {
  const f = frame(opcode, payload)
  // A masked server frame (a protocol error ws reports): mask bit set, zero key.
  const h = payload.length < 126 ? 2 : 4
  return Buffer.concat([Buffer.from([f[0]!, f[1]! | 0x80]), f.subarray(2, h), Buffer.alloc(4), f.subarray(h)])
}

describe('WsFrameInspector.route', () => {
  const frames: Array<{ bytes: Buffer; direct: boolean }> = [
    { bytes: frame(1, Buffer.from('a')), direct: true },
    { bytes: frame(2, Buffer.alloc(126, 1)), direct: true },
    { bytes: frame(1, Buffer.alloc(0)), direct: true },
    { bytes: frame(2, Buffer.alloc(300, 2)), direct: false }, // over maxPayload (256) below: ws refuses it
    { bytes: frame(1, Buffer.from('x'), { rsv1: true }), direct: false },
    { bytes: frame(9, Buffer.from('ping')), direct: false },
    { bytes: frame(1, Buffer.from('f1'), { fin: false }), direct: false },
    { bytes: frame(10, Buffer.from('pong')), direct: false },
    { bytes: frame(0, Buffer.from('f2'), { fin: true }), direct: false },
    { bytes: frame(2, Buffer.from([9, 9])), direct: true },
    { bytes: masked(1, Buffer.from('masked')), direct: false },
    { bytes: frame(1, Buffer.from('refused')), direct: false }, // message() returns false for it
    { bytes: frame(1, Buffer.from('after')), direct: true },
    { bytes: frame(8, Buffer.from([3, 232])), direct: false },
    { bytes: frame(1, Buffer.from('after close')), direct: false }, // nothing is direct after a close frame
  ]
  const wire = Buffer.concat(frames.map((f) => f.bytes))

  function routeAll(chunks: Buffer[]): { log: Buffer[]; direct: string[]; reported: number; frames: number } {
    const insp = new WsFrameInspector(() => void reported++)
    let reported = 0
    const log: Buffer[] = []
    const direct: string[] = []
    const r: FrameRoute = {
      toLibrary: (c, s, e) => void log.push(Buffer.from(c.subarray(s, e))),
      message(c, s, e, opcode, wireLength) {
        const p = Buffer.from(c.subarray(s, e))
        if (p.toString() === 'refused') return false
        direct.push(`${opcode}:${p.length}:${wireLength}`)
        // Put the frame's own bytes back into the log, to rebuild the wire in order.
        log.push(Buffer.from(c.subarray(s - (wireLength - p.length), e)))
        return true
      },
    }
    for (const c of chunks) insp.route(c, 256, r)
    return { log, direct, reported, frames: insp.frames }
  }

  it('gives the library every byte it does not take, in wire order, for any chunking', () => {
    const expectDirect = frames.filter((f) => f.direct).map((f) => `${f.bytes[0]! & 15}:${f.bytes.length - (f.bytes.length - 2 < 126 ? 2 : 4)}:${f.bytes.length}`)
    const rand = rng(42)
    for (let round = 0; round < 300; round++) {
      const chunks: Buffer[] = []
      let i = 0
      while (i < wire.length) {
        const n = round === 0 ? wire.length : 1 + Math.floor(rand() * (rand() < 0.3 ? 4 : 200))
        chunks.push(wire.subarray(i, i + n))
        i += n
      }
      const { log, direct, reported, frames: seen } = routeAll(chunks)
      expect(Buffer.concat(log).equals(wire)).toBe(true)
      expect(seen).toBe(frames.length)
      // Direct frames are those wholly inside one chunk; one-chunk delivery takes all eligible ones.
      if (round === 0) {
        expect(direct).toEqual(expectDirect)
        expect(reported).toBe(frames.length - expectDirect.length)
      } else for (const d of direct) expect(expectDirect).toContain(d)
    }
  })

  it('hands everything to the library once the stream stops making sense', () => {
    const bad = Buffer.concat([frame(1, Buffer.from('ok')), Buffer.from([0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), frame(1, Buffer.from('later'))])
    const { log, direct } = routeAll([bad])
    expect(direct).toEqual(['1:2:4'])
    expect(Buffer.concat(log).equals(bad)).toBe(true)
  })

  it('push() reports the same frame facts for any chunking, and stops at a length over 2^53', () => {
    const facts = (chunks: Buffer[]): string[] => {
      const out: string[] = []
      const insp = new WsFrameInspector((fin, rsv1, op, m, pl, wl) => void out.push(`${+fin}${+rsv1}${op}${+m}:${pl}:${wl}`))
      for (const c of chunks) insp.push(c)
      expect(insp.bytes).toBe(chunks.reduce((a, c) => a + c.length, 0))
      return out
    }
    const whole = facts([wire])
    expect(whole).toHaveLength(frames.length)
    expect(whole[3]).toBe('1020:300:304')
    expect(whole[10]).toBe('1011:6:12')
    const rand = rng(7)
    for (let round = 0; round < 100; round++) {
      const chunks: Buffer[] = []
      for (let i = 0; i < wire.length; ) {
        const n = 1 + Math.floor(rand() * 50)
        chunks.push(wire.subarray(i, i + n))
        i += n
      }
      expect(facts(chunks)).toEqual(whole)
    }
    const insp = new WsFrameInspector(() => undefined)
    insp.push(Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2]))
    expect(insp.broken).toMatch(/2\^53/)
    expect(insp.bytes).toBe(12)
  })
})
