import type { ErrorInfo } from './index.ts'

export const RECORDING_ERRORS = {
  WT_RECORDING_WRITE: { summary: 'The recording could not be written (disk full, permission).', exit: 5 },
  WT_RECORDING_NOT_FOUND: { summary: 'The recording file does not exist or cannot be opened.', exit: 5 },
  WT_RECORDING_HEADER: { summary: 'The first line is not a Wiretrace recording header.', exit: 5 },
  WT_RECORDING_VERSION: { summary: 'The recording was written by a newer format version than this app reads.', exit: 5 },
  WT_RECORDING_LINE: { summary: 'A line of the recording is not a valid event; the line number is given.', exit: 5 },
  WT_RECORDING_TRUNCATED: { summary: 'The last line is incomplete (the writer was killed); everything before it was read.', exit: 5 },
  WT_RECORDING_TOO_LARGE: { summary: 'A line or the file exceeds the reader limits.', exit: 5 },
} as const satisfies Record<string, ErrorInfo>
