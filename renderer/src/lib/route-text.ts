/** How the composer and the profile editor show a route resolved before connecting (pure, tested). */
import type { ProxyResolution } from '../../../shared/common/protocol/index.ts'
import { hideUserinfo } from './rows.ts'

export function routeText(r: ProxyResolution): string {
  if (!r.available) return `Not available here: ${r.why ?? 'this host cannot resolve it'}`
  const routes = r.routes.length ? r.routes.join(', then ') : 'no route'
  const rule = r.rule && r.rule !== r.routes[0] ? ` (${r.source ? `${r.source}: ` : ''}${r.rule})` : r.source ? ` (${r.source})` : ''
  const err = r.error ? ` — ${r.error.message} (${r.error.code})` : ''
  return hideUserinfo(`${routes}${rule}${err}`)
}
