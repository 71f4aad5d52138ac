/** The host API: commands, wire messages, the HostClient interface and param validators. */
export * from './commands.ts'
export * from './wire.ts'
export * from './client.ts'
export * from './validate.ts'
export * from './profiles.ts'
