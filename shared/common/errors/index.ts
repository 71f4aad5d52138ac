/**
 * Stable error codes. Errors cross every boundary (IPC, WebSocket, recordings, CLI exit
 * status) as plain `{ code, message, detail }`. docs/errors.md is generated from this table
 * and a test keeps them in sync. Areas keep their own tables; add codes to your area's file.
 */
import { CORE_ERRORS } from './core.ts'
import { TRANSPORT_ERRORS } from './transport.ts'
import { PROXY_ERRORS } from './proxy.ts'
import { RECORDING_ERRORS } from './recording.ts'
import { HOST_ERRORS } from './host.ts'

export interface ErrorInfo {
  /** What it means, one sentence for the docs table. */
  summary: string
  /** CLI exit status for a run that ends on this error. */
  exit: number
}

/** CLI exit statuses. */
export const EXIT = {
  OK: 0,
  /** The connection failed or ended abnormally (network, protocol, server). */
  CONNECTION: 1,
  /** Bad command line or options. */
  USAGE: 2,
  /** TLS verification failed. */
  TLS: 3,
  /** The proxy refused or failed. */
  PROXY: 4,
  /** Reading or writing a recording failed. */
  RECORDING: 5,
  /** The handshake was answered with something other than the expected response. */
  HANDSHAKE: 6,
  /** Interrupted by the user (SIGINT) after a clean close. */
  INTERRUPTED: 130,
} as const

export const ERRORS = {
  ...CORE_ERRORS,
  ...TRANSPORT_ERRORS,
  ...PROXY_ERRORS,
  ...RECORDING_ERRORS,
  ...HOST_ERRORS,
} as const satisfies Record<string, ErrorInfo>

export type ErrorCode = keyof typeof ERRORS

/** The plain shape that crosses boundaries. */
export interface WiretraceErrorData {
  code: ErrorCode | string
  message: string
  detail?: Record<string, unknown>
}

export class WiretraceError extends Error {
  readonly code: ErrorCode
  readonly detail?: Record<string, unknown>
  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WiretraceError'
    this.code = code
    this.detail = detail
  }
  toJSON(): WiretraceErrorData {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail }
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERRORS, code)
}

export function exitCodeFor(code: string): number {
  return isErrorCode(code) ? ERRORS[code].exit : EXIT.CONNECTION
}

/** Turn anything thrown into the plain error shape, keeping a WiretraceError's code. */
export function toErrorData(err: unknown, fallback: ErrorCode = 'WT_INTERNAL'): WiretraceErrorData {
  if (err instanceof WiretraceError) return err.toJSON()
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' && isErrorCode(err.code)) {
    return { code: err.code, message: String((err as { message?: unknown }).message ?? err.code) }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { code: fallback, message }
}
