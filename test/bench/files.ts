import fs from 'node:fs'

/**
 * Makes way for a new recording before a timed run. A new recording is a new file, so the last
 * run's file is removed; that removal goes on in the kernel after unlink returns (freeing 17 MB
 * of page cache and extents) and, measured, delayed the next run's first event by 2-8 ms, so it
 * is given a moment to finish outside the timing. Overwriting the file instead timed the
 * truncation on the measured thread (9-10 ms).
 *
 * The moment is spent spinning, not sleeping: on this VM a run that follows 200 ms of idleness
 * is slower by itself (measured with per-thread schedstat, 100,000 SSE events without any
 * recording: 39-41 ms after a spin, 48-55 ms after a sleep, with 4-6 ms of waiting for a CPU),
 * and only the recorded runs waited here, so they alone paid it. The baselines run straight
 * after other work; now the recorded run does too.
 */
export async function freshRecording(file: string | null): Promise<void> {
  if (file === null || !fs.existsSync(file)) return
  fs.rmSync(file, { force: true })
  const until = performance.now() + 200
  while (performance.now() < until) {
    /* spin: see above */
  }
  await new Promise((resolve) => setImmediate(resolve))
}
