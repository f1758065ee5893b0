// One status line that rewrites itself on a terminal (stderr), and stays silent when stderr is not a terminal
// unless asked, so that logs and pipes get only the results.
export class StatusLine {
  private last = '';
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = Boolean(process.stderr.isTTY),
  ) {}

  update(text: string): void {
    if (!this.enabled) return;
    if (this.stream.isTTY) {
      const width = this.stream.columns ?? 100;
      this.stream.write(`\r${text.slice(0, width - 1).padEnd(Math.min(this.last.length, width - 1))}`);
    } else {
      this.stream.write(`${text}\n`);
    }
    this.last = text;
  }

  /** Ends the line so the next output starts clean. */
  done(text?: string): void {
    if (text !== undefined) this.update(text);
    if (this.enabled && this.stream.isTTY && this.last) this.stream.write('\n');
    this.last = '';
  }
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}
