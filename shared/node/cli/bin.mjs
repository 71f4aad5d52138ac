#!/usr/bin/env node
// The `wiretrace` command. Runs the TypeScript CLI through tsx's loader (installed as a
// dependency), so the repository needs no build step for the CLI.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('./main.ts')
process.exitCode = await main(process.argv.slice(2))
