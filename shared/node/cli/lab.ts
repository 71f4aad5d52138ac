/** `wiretrace lab`: the proxy lab lives with the lab code. */
export { run, LAB_HELP } from '../lab/cli.ts'
