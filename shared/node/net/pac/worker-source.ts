/**
 * The PAC worker, as source text run with `new Worker(src, { eval: true })` so it needs no
 * loader (tsx, vitest) in the worker thread. It evaluates the untrusted PAC script inside a
 * `vm` context that has only the standard PAC helpers, with a vm timeout as the first guard;
 * the parent keeps a hard kill timer and resource limits as the real ones.
 *
 * DNS helpers are synchronous in PAC. We answer them from a cache the parent fills: a miss
 * throws a marker, the parent resolves the name asynchronously and runs the script again
 * (what Chrome calls non-blocking DNS), a bounded number of times.
 */
/** PAC helpers, evaluated inside the sandbox context so no host-realm object is reachable from the script. */
export const PAC_HELPERS_SOURCE = String.raw`(function(){
const dns = JSON.parse(__dnsJson); const myIp = __myIp; const now = __now;
const MISS = { __pacDnsMiss: true, host: '' }

function isIp(h) { return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) }
function resolve(h) {
  h = String(h)
  if (isIp(h)) return h
  if (Object.prototype.hasOwnProperty.call(dns, h)) return dns[h]
  const e = Object.assign(Object.create(null), MISS); e.host = h
  throw e
}
function ipToNum(ip) { const p = String(ip).split('.').map(Number); return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3] }
function shExpMatch(str, shexp) {
  const re = '^' + String(shexp).replace(/[.+^$()|{}\[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$'
  return new RegExp(re).test(String(str))
}
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
function dateOf(args) {
  const gmt = args[args.length - 1] === 'GMT'
  if (gmt) args = args.slice(0, -1)
  const d = new Date(now)
  return { args, d, gmt }
}
const helpers = {
  isPlainHostName: (h) => !String(h).includes('.'),
  dnsDomainIs: (h, dom) => { h = String(h).toLowerCase(); dom = String(dom).toLowerCase(); return h.length >= dom.length && h.endsWith(dom) },
  localHostOrDomainIs: (h, hostdom) => { h = String(h); hostdom = String(hostdom); return h === hostdom || (!h.includes('.') && hostdom.startsWith(h + '.')) },
  isResolvable: (h) => { try { return !!resolve(h) } catch (e) { if (e && e.__pacDnsMiss) throw e; return false } },
  isInNet: (h, pattern, mask) => {
    let ip
    try { ip = resolve(h) } catch (e) { if (e && e.__pacDnsMiss) throw e; return false }
    if (!ip || !isIp(ip)) return false
    const m = ipToNum(mask)
    return ((ipToNum(ip) & m) >>> 0) === ((ipToNum(pattern) & m) >>> 0)
  },
  dnsResolve: (h) => { try { return resolve(h) || null } catch (e) { if (e && e.__pacDnsMiss) throw e; return null } },
  convert_addr: (ip) => ipToNum(ip),
  myIpAddress: () => myIp,
  dnsDomainLevels: (h) => (String(h).match(/\./g) || []).length,
  shExpMatch,
  weekdayRange: (...a) => {
    const { args, d, gmt } = dateOf(a)
    const day = gmt ? d.getUTCDay() : d.getDay()
    const w1 = DAYS.indexOf(String(args[0]).toUpperCase())
    const w2 = args[1] === undefined ? w1 : DAYS.indexOf(String(args[1]).toUpperCase())
    if (w1 < 0 || w2 < 0) return false
    return w1 <= w2 ? day >= w1 && day <= w2 : day >= w1 || day <= w2
  },
  dateRange: (...a) => {
    const { args, d, gmt } = dateOf(a)
    const day = gmt ? d.getUTCDate() : d.getDate()
    const mon = gmt ? d.getUTCMonth() : d.getMonth()
    const yr = gmt ? d.getUTCFullYear() : d.getFullYear()
    if (args.length === 1) {
      const v = args[0]
      if (typeof v === 'number') return v > 31 ? yr === v : day === v
      return MONTHS.indexOf(String(v).toUpperCase()) === mon
    }
    return false
  },
  timeRange: (...a) => {
    const { args, d, gmt } = dateOf(a)
    const h = gmt ? d.getUTCHours() : d.getHours()
    if (args.length === 1) return h === args[0]
    if (args.length === 2) return args[0] <= args[1] ? h >= args[0] && h < args[1] : h >= args[0] || h < args[1]
    return false
  },
  alert: () => {},
}
for (const k of Object.keys(helpers)) globalThis[k] = helpers[k]
})()
`

export const PAC_WORKER_SOURCE = String.raw`
'use strict'
const { parentPort, workerData } = require('node:worker_threads')
const vm = require('node:vm')
const { script, url, host, dns, myIp, timeoutMs, now, helpers } = workerData
try {
  const sandbox = Object.create(null)
  sandbox.__dnsJson = JSON.stringify(dns); sandbox.__myIp = String(myIp); sandbox.__now = Number(now)
  const ctx = vm.createContext(sandbox, { codeGeneration: { strings: false, wasm: false } })
  vm.runInContext(helpers, ctx, { timeout: timeoutMs, filename: 'pac-helpers.js' })
  vm.runInContext(script, ctx, { timeout: timeoutMs, filename: 'proxy.pac' })
  const fn = vm.runInContext('typeof FindProxyForURL === "function"', ctx, { timeout: timeoutMs })
  if (!fn) {
    parentPort.postMessage({ ok: false, kind: 'nofunction', message: 'the PAC script defines no FindProxyForURL function' })
  } else {
    sandbox.__u = String(url); sandbox.__h = String(host)
    const r = vm.runInContext('(function(){ var r = FindProxyForURL(__u, __h); return r === null || r === undefined || typeof r === "string" ? r : { nonString: typeof r } })()', ctx, { timeout: timeoutMs })
    const out = r === null || r === undefined ? r : typeof r === 'string' ? r.slice(0, 65536) : { nonString: String(r.nonString) }
    parentPort.postMessage({ ok: true, result: out })
  }
} catch (e) {
  let miss = false, missHost = '', code = '', message = '', name = 'Error', at = ''
  try { miss = !!(e && e.__pacDnsMiss); missHost = miss ? String(e.host) : ''; code = String((e && e.code) || ''); message = String((e && e.message) || e).slice(0, 500); name = String((e && e.name) || 'Error') } catch { message = 'the PAC script threw something unreadable' }
  // Where in the script it happened, as "line:column" (numbers only: the stack also quotes the source line).
  try {
    const stack = String((e && e.stack) || '').slice(0, 4000)
    const frame = /\bproxy\.pac:(\d+):(\d+)/.exec(stack)
    const compile = frame ? null : /^proxy\.pac:(\d+)\n[^\n]*\n( *)\^/.exec(stack)
    at = frame ? frame[1] + ':' + frame[2] : compile ? compile[1] + ':' + (compile[2].length + 1) : ''
  } catch { at = '' }
  if (miss) parentPort.postMessage({ ok: false, kind: 'dns', host: missHost })
  else if (code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') parentPort.postMessage({ ok: false, kind: 'timeout', message })
  else parentPort.postMessage({ ok: false, kind: 'throw', message, name, at })
}
`
