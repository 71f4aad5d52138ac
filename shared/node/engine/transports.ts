/** Transport name -> factory. Each transport registers one line here. */
import type { Transport as TransportName } from '../../common/spec/index.ts'
import type { TransportFactory } from './types.ts'
import { createWsTransport } from '../transports/ws.ts'
import { createSseTransport } from '../transports/sse.ts'
import { createPollTransport } from '../transports/poll.ts'
import { createStreamTransport } from '../transports/stream.ts'
import { createH2Transport } from '../transports/h2.ts'

export const TRANSPORT_FACTORIES: Partial<Record<TransportName, TransportFactory>> = {
  ws: createWsTransport,
  sse: createSseTransport,
  poll: createPollTransport,
  stream: createStreamTransport,
  h2: createH2Transport,
}
