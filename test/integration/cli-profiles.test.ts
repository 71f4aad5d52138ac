// `wiretrace record --profile NAME` and `wiretrace profiles`, as a user runs them: a profiles.json
// written by the app's own store, the real CLI process, the in-process proxy lab asking for a
// password the profile did not keep (it comes from WIRETRACE_PROXY_PASSWORD).
import { runCli } from '../fixtures/cli.ts'
import { afterEach, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { wsServer, type Running } from '../fixtures/ws-servers.ts'
import { readBack, tmpFile } from '../fixtures/engine.ts'
import { runLab, type Lab } from '../../shared/node/lab/index.ts'
import { ProfileStore } from '../../shared/node/hosts/profiles.ts'
import { makeCa } from '../fixtures/certs.ts'
import { EXIT } from '../../shared/common/errors/index.ts'
import type { WiretraceEvent } from '../../shared/common/events/index.ts'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c()))
})

const cli = runCli

async function setup(): Promise<{ lab: Lab; origin: Running; file: string; secret: string }> {
  const secret = 'Profile-Lab-Pw-8128'
  const lab = await runLab({ basicAuth: { user: 'proflab', pass: secret } })
  cleanup.push(() => lab.close())
  const origin = await wsServer((ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })))
  cleanup.push(() => origin.close())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-cli-profiles-'))
  const file = path.join(dir, 'profiles.json')
  const pac = path.join(dir, 'lab.pac')
  fs.writeFileSync(pac, `function FindProxyForURL(url, host) { return "PROXY 127.0.0.1:${lab.port}; DIRECT" }`)
  const store = new ProfileStore(file)
  // As the app saves them: the password typed, "Remember password" off (so it is not written).
  store.save({ name: 'Lab proxy', network: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: lab.port, auth: { username: 'proflab', password: secret } } } }, true)
  store.save({ name: 'Lab PAC', network: { mode: 'pac', pacFile: pac } }, true)
  expect(fs.readFileSync(file, 'utf8')).not.toContain(secret)
  return { lab, origin, file, secret }
}

describe('wiretrace record --profile through the proxy lab', () => {
  it('records through the saved manual profile with the password from WIRETRACE_PROXY_PASSWORD; the recording names the profile and holds no password', async () => {
    const { lab, origin, file, secret } = await setup()
    const out = tmpFile()
    const r = await cli(['record', origin.url, '--profiles', file, '--profile', 'lab PROXY', '--send', 'via profile', '-n', '1', '--out', out], { WIRETRACE_PROXY_PASSWORD: secret })
    const why = `exit ${r.code}\n${r.stderr}\n${JSON.stringify(lab.log())}`
    expect(r.code, why).toBe(EXIT.OK)
    const text = fs.readFileSync(out, 'utf8')
    const { header, events } = readBack(out)
    const of = <T extends WiretraceEvent['type']>(t: T): WiretraceEvent[] => events.filter((e) => e.type === t)
    // Through the lab: 407, then the tunnel with the password.
    expect(of('proxy.connect').map((c) => (c as { status: number }).status)).toEqual([407, 200])
    expect(lab.log().map((e) => e.event)).toEqual(expect.arrayContaining(['407', 'tunnel']))
    expect((of('ws.message').find((m) => (m as { dir: string }).dir === 'in') as { text: string }).text).toBe('via profile')
    // The profile's name, as the app records it; the password nowhere.
    const start = events.find((e) => e.type === 'conn.start') as { spec: { network?: { name?: string; mode: string; proxy?: { auth?: { username: string; password: string } } } } }
    expect(start.spec.network).toMatchObject({ name: 'Lab proxy', mode: 'manual', proxy: { auth: { username: 'proflab', password: '[redacted]' } } })
    expect(JSON.stringify(header)).not.toContain(secret)
    expect(text).not.toContain(secret)
    expect(text).not.toContain(Buffer.from(`proflab:${secret}`).toString('base64'))
    expect(r.stderr + r.stdout).not.toContain(secret)
  })

  it('without the password it fails before connecting, saying the profile did not keep it', async () => {
    const { lab, origin, file } = await setup()
    const r = await cli(['record', origin.url, '--profiles', file, '--profile', 'Lab proxy', '--out', tmpFile()])
    expect(r.code).toBe(EXIT.USAGE)
    expect(r.stderr).toMatch(/^wiretrace: WT_USAGE: profile "Lab proxy" did not keep its password .*WIRETRACE_PROXY_PASSWORD/m)
    expect(lab.log()).toHaveLength(0)
    const u = await cli(['record', origin.url, '--profiles', file, '--profile', 'Elsewhere'])
    expect(u.code).toBe(EXIT.USAGE)
    expect(u.stderr).toContain(`wiretrace: WT_PROFILE_NOT_FOUND: no saved profile is named "Elsewhere" in ${file}; saved: Lab PAC, Lab proxy`)
  })

  it('records through the saved PAC profile, --proxy-user giving the credentials', async () => {
    const { lab, origin, file, secret } = await setup()
    const out = tmpFile()
    const r = await cli(['record', origin.url, '--profiles', file, '--profile', 'Lab PAC', '--proxy-user', 'proflab', '--send', 'pac', '-n', '1', '--out', out], { WIRETRACE_PROXY_PASSWORD: secret })
    expect(r.code, `${r.stderr}\n${JSON.stringify(lab.log())}`).toBe(EXIT.OK)
    const { events } = readBack(out)
    const rule = events.find((e) => e.type === 'proxy.rule') as { source: string; chosen: string }
    expect(rule).toMatchObject({ source: 'pac', chosen: expect.stringContaining(`127.0.0.1:${lab.port}`) })
    expect((events.find((e) => e.type === 'conn.start') as { spec: { network?: { name?: string } } }).spec.network?.name).toBe('Lab PAC')
    expect(fs.readFileSync(out, 'utf8')).not.toContain(secret)
  })

  it('replays a direct recording through a saved profile; --profile with --proxy is refused', async () => {
    const { lab, origin, file, secret } = await setup()
    const first = tmpFile()
    const r1 = await cli(['record', origin.url, '--send', 'again', '-n', '1', '--out', first])
    expect(r1.code, r1.stderr).toBe(EXIT.OK)
    const again = tmpFile()
    const r2 = await cli(['replay', first, '--profiles', file, '--profile', 'Lab proxy', '--as-fast', '-o', again], { WIRETRACE_PROXY_PASSWORD: secret })
    expect(r2.code, `${r2.stderr}\n${r2.stdout}\n${JSON.stringify(lab.log())}`).toBe(EXIT.OK)
    const { events } = readBack(again)
    expect(events.filter((e) => e.type === 'proxy.connect').map((c) => (c as { status: number }).status)).toEqual([407, 200])
    expect((events.find((e) => e.type === 'conn.start') as { spec: { network?: { name?: string } } }).spec.network?.name).toBe('Lab proxy')
    expect(fs.readFileSync(again, 'utf8')).not.toContain(secret)
    const r3 = await cli(['replay', first, '--profiles', file, '--profile', 'Lab proxy', '--proxy', `http://127.0.0.1:${lab.port}`])
    expect(r3.code).toBe(EXIT.USAGE)
    expect(r3.stderr).toMatch(/--profile Lab proxy already says how to reach the network: drop --proxy/)
  })

  it('a profile\'s originTls CA files (read like proxyTls files) trust the intercepting proxy\'s CA, direct profiles too; without them the TLS check fails', async () => {
    const originCa = makeCa('CLI Origin CA')
    const origin = await wsServer((ws) => ws.on('message', (d) => ws.send(d)), { tls: originCa.issue(['localhost']) })
    cleanup.push(() => origin.close())
    const lab = await runLab({ interceptTls: true })
    cleanup.push(() => lab.close())
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-cli-origin-tls-'))
    const file = path.join(dir, 'profiles.json')
    const originCaFile = path.join(dir, 'origin-ca.pem')
    fs.writeFileSync(originCaFile, originCa.caCert)
    const store = new ProfileStore(file)
    store.save({ name: 'Office', network: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: lab.port }, originTls: { caFiles: [lab.caCertPath] } } }, true)
    store.save({ name: 'Office bare', network: { mode: 'manual', proxy: { kind: 'http', host: '127.0.0.1', port: lab.port } } }, true)
    store.save({ name: 'Home', network: { mode: 'direct', originTls: { caFiles: [originCaFile] } } }, true)
    const url = origin.url.replace('127.0.0.1', 'localhost')
    const out = tmpFile()
    const r = await cli(['record', url, '--profiles', file, '--profile', 'Office', '--send', 'corp', '-n', '1', '--out', out])
    expect(r.code, `${r.stderr}\n${JSON.stringify(lab.log())}`).toBe(EXIT.OK)
    const { events } = readBack(out)
    expect(events.filter((e) => e.type === 'diagnosis').map((e) => [(e as { code: string }).code, (e as { severity: string }).severity])).toContainEqual(['WT_TLS_INTERCEPTED', 'warning'])
    const start = events.find((e) => e.type === 'conn.start') as { spec: { network?: { originTls?: object } } }
    expect(start.spec.network?.originTls).toEqual({ caFiles: [lab.caCertPath], ca: ['[pem]'] })
    const bare = await cli(['record', url, '--profiles', file, '--profile', 'Office bare', '--out', tmpFile()])
    expect(bare.code).toBe(EXIT.TLS)
    expect(bare.stderr).toMatch(/WT_TLS_UNTRUSTED/)
    const home = await cli(['record', url, '--profiles', file, '--profile', 'Home', '--send', 'home', '-n', '1', '--out', tmpFile()])
    expect(home.code, home.stderr).toBe(EXIT.OK)
    fs.rmSync(originCaFile)
    const gone = await cli(['record', url, '--profiles', file, '--profile', 'Home', '--out', tmpFile()])
    expect(gone.stderr).toMatch(/profile "Home": originTls\.caFiles\[0\]: cannot read .*origin-ca\.pem \(ENOENT\)/)
  })

  it('wiretrace profiles --json lists both, without secrets', async () => {
    const { lab, file, secret } = await setup()
    const r = await cli(['profiles', '--profiles', file, '--json'], { WIRETRACE_PROXY_PASSWORD: secret })
    expect(r.code, r.stderr).toBe(EXIT.OK)
    const j = JSON.parse(r.stdout) as { file: string; profiles: Array<{ name: string; mode: string; description: string; needsPassword: boolean }> }
    expect(j.file).toBe(file)
    expect(j.profiles.map((p) => [p.name, p.mode, p.needsPassword])).toEqual([
      ['Lab PAC', 'pac', false],
      ['Lab proxy', 'manual', true],
    ])
    expect(j.profiles[1]!.description).toBe(`HTTP proxy proflab@127.0.0.1:${lab.port} · CONNECT tunnel`)
    expect(r.stdout).not.toContain(secret)
    const t = await cli(['profiles', '--profiles', file])
    expect(t.code, t.stderr).toBe(EXIT.OK)
    expect(t.stdout).toMatch(new RegExp(`^2 network profiles in ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\n {2}Lab PAC +pac +PAC .*lab\\.pac`))
  })
})
