import type { ErrorInfo } from './index.ts'

/** The hosts' own files (saved network profiles, saved targets) and the system proxy lookup. */
export const HOST_ERRORS = {
  WT_PROFILE_NOT_FOUND: { summary: 'No saved network profile has that name (renamed or deleted meanwhile).', exit: 2 },
  WT_PROFILE_EXISTS: { summary: 'A saved network profile already has that name ("Save as" and rename never overwrite).', exit: 2 },
  WT_PROFILES_FULL: { summary: 'The saved network profiles are at their limit (MAX_PROFILES); delete one first.', exit: 2 },
  WT_CONFIG_DAMAGED: { summary: 'profiles.json or targets.json could not be read as saved data; it was kept aside as NAME.bad-TIME and a fresh one started.', exit: 2 },
  WT_CONFIG_WRITE: { summary: 'profiles.json or targets.json could not be written (disk full, permission); the previous file is intact.', exit: 2 },
  WT_SYSTEM_PROXY_LOOKUP: { summary: 'The system proxy lookup (Electron session.resolveProxy) failed or timed out; the connection went DIRECT and says so.', exit: 4 },
} as const satisfies Record<string, ErrorInfo>
