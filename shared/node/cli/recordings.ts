/** `wiretrace export | import | replay | diff`: the recording commands live with the recording code. */
export { exportRun, importRun, replayRun, diffRun } from '../recording/cli-runs.ts'
