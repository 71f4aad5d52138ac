import fs from 'node:fs'

/**
 * Every timed run, baseline or ours, starts the same way: after a 200 ms spin. The spin is there
 * because on this VM a run that follows idleness is slower by itself (measured with per-thread
 * schedstat, 100,000 SSE events without any recording: 39-41 ms after a spin, 48-55 ms after a
 * 200 ms sleep, 4-6 ms of it waiting for a CPU); before, only recorded runs paused (see
 * freshRecording), and they paused by sleeping, so they alone paid it.
 */
export function beforeTimedRun(): void {
  const until = performance.now() + 200
  while (performance.now() < until) {
    /* spin: see above */
  }
}

/**
 * Makes way for a new recording before a timed run, then beforeTimedRun(). A new recording is a
 * new file, so the last run's file is removed; that removal goes on in the kernel after unlink
 * returns (freeing 17 MB of page cache and extents) and, measured, delayed the next run's first
 * event by 2-8 ms, so it is given the spin to finish outside the timing. Overwriting the file
 * instead timed the truncation on the measured thread (9-10 ms).
 */
export async function freshRecording(file: string | null): Promise<void> {
  if (file !== null && fs.existsSync(file)) fs.rmSync(file, { force: true })
  beforeTimedRun()
  await new Promise((resolve) => setImmediate(resolve))
}
