/** Background work on a timer, stopped with the app. */
export interface Periodic {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `tick` every `intervalMs` on an unref'd timer (it never keeps the process alive), one run
 * at a time: a tick that comes while the last run is still going is skipped. Errors go to
 * `onError` and the next tick tries again. `onStop` runs first when stopped (a flag the run reads).
 * `immediately`: the first run starts now rather than one interval from now.
 */
export function startPeriodic(
  tick: () => Promise<unknown>,
  {
    intervalMs,
    onError,
    onStop,
    immediately = false,
  }: { intervalMs: number; onError: (error: unknown) => void; onStop?: () => void; immediately?: boolean },
): Periodic {
  let running: Promise<unknown> | undefined;
  const run = () => {
    if (running) return;
    running = tick()
      .catch(onError)
      .finally(() => (running = undefined));
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  if (immediately) run();
  return {
    async stop() {
      onStop?.();
      clearInterval(timer);
      await running;
    },
  };
}
