// One cleanup registry run on every way out: normal return, SIGINT,
// SIGTERM, SIGHUP, an uncaught error. Each step is bounded by a timeout so a
// stuck release cannot keep gtop alive; SIGKILL is left to the kernel (the
// probes are links held only by fds, never pinned).
type Step = () => void | Promise<void>;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const EXIT_CODE: Record<(typeof SIGNALS)[number], number> = { SIGINT: 0, SIGTERM: 143, SIGHUP: 129 };

export class Cleanup {
  private steps: Step[] = [];
  private running: Promise<void> | undefined;
  private readonly handlers = new Map<string, (arg?: unknown) => void>();

  constructor(private readonly timeoutMs = 2000) {}

  /** Registers a step; steps run in reverse order of registration. */
  add(step: Step): void {
    this.steps.push(step);
  }

  /** Runs every step once (later calls wait for the first run). */
  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.timeoutMs); });
      try {
        await Promise.race([Promise.resolve().then(step), timeout]);
      } catch (err) {
        process.stderr.write(`gtop: cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.uninstall();
  }

  /**
   * Catches the signals and uncaught errors: cleans up, then calls
   * `onSignal(exitCode)` (SIGINT = 0: interrupting a watch is its normal
   * end). Removed again when the cleanup has run.
   */
  install(onSignal: (code: number, signal: string) => void): void {
    for (const sig of SIGNALS) {
      const h = () => { void this.run().then(() => onSignal(EXIT_CODE[sig], sig)); };
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
    let failed = false;
    const fatal = (err?: unknown) => {
      // Once only: the report itself may fail (stderr closed: EPIPE).
      if (failed) return;
      failed = true;
      const epipe = (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
      if (!epipe) {
        try {
          process.stderr.write(`gtop: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        } catch { /* nowhere left to report */ }
      }
      void this.run().then(() => onSignal(epipe ? 0 : 1, 'error'));
    };
    this.handlers.set('uncaughtException', fatal);
    this.handlers.set('unhandledRejection', fatal);
    process.on('uncaughtException', fatal);
    process.on('unhandledRejection', fatal);
  }

  private uninstall(): void {
    for (const [ev, h] of this.handlers) process.off(ev as 'uncaughtException', h);
    this.handlers.clear();
  }
}
