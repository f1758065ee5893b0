// Dawn (npm `webgpu`) prints warnings from its native code straight to file descriptor 2 while it creates an adapter
// and a device, and has no switch to silence them. On lavapipe every command printed two lines about dynamic buffer
// limits that the CLI never uses and a user cannot act on. bin/poglm.js (src/cli/launcher.ts) runs the CLI with
// descriptor 2 a pipe and passes what comes through this filter: those lines, and only those, are dropped; the rest
// is written as soon as it arrives, partial lines included.

/** One Dawn warning line, in order: literal text, or a class of characters repeated at least once. */
const DAWN_WARNING: (string | RegExp)[] = ['Warning: ', /[A-Za-z]/, ' artificially reduced from ', /[0-9]/, ' to ', /[0-9]/, ' to fit dynamic offset allocation limit.'];

/** Longer than any such line (about 130 characters): a longer start of a line is not one, and is not held back. */
const LONGEST_WARNING = 256;

type Match = 'whole' | 'start' | 'no';

/** Whether `text` (one line, without its newline) is a whole Dawn warning, could still become one, or is not one. */
function matchWarning(text: string): Match {
  if (text.length > LONGEST_WARNING) return 'no';
  let at = 0;
  for (const part of DAWN_WARNING) {
    if (typeof part === 'string') {
      const piece = text.slice(at, at + part.length);
      if (piece !== part.slice(0, piece.length)) return 'no';
      if (piece.length < part.length) return 'start';
      at += part.length;
    } else {
      const first = at;
      while (at < text.length && part.test(text[at])) at++;
      if (at === text.length) return 'start';
      if (at === first) return 'no';
    }
  }
  return at === text.length ? 'whole' : 'no';
}

/** Whether `line` (without its newline) is one of the Dawn warnings the filter drops. */
export function isDawnWarning(line: string): boolean {
  return matchWarning(line) === 'whole';
}

/**
 * A stream filter: push() text as it comes, and what is not a Dawn warning line goes to `write` at once. Only the
 * start of a line that could still become a warning is held back, until its newline or the text that rules it out;
 * a progress line that rewrites itself with `\r` therefore passes straight through. Text is handled as it is
 * given: pass bytes decoded as latin1 (one character per byte) to keep them exactly.
 */
export class DawnWarningFilter {
  /** The start of a line that may still become a warning. */
  private held = '';
  /** The current line has been let through in part: the rest of it follows without a look. */
  private passing = false;

  constructor(private readonly write: (text: string) => void) {}

  push(text: string): void {
    let out = '';
    for (let start = 0; start < text.length; ) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 ? text.length : newline + 1;
      out += this.segment(text.slice(start, end));
      start = end;
    }
    if (out) this.write(out);
  }

  /** At the end of the stream: a line held back did not end as a warning, so it is written. */
  end(): void {
    if (this.held) this.write(this.held);
    this.held = '';
    this.passing = false;
  }

  /** What to write of `segment`: the rest of a line, up to and including its newline if it has one. */
  private segment(segment: string): string {
    const complete = segment.endsWith('\n');
    if (this.passing) {
      this.passing = !complete;
      return segment;
    }
    const line = this.held + (complete ? segment.slice(0, -1) : segment);
    this.held = '';
    const match = matchWarning(line);
    if (complete) return match === 'whole' ? '' : `${line}\n`;
    if (match === 'no') {
      this.passing = true;
      return line;
    }
    this.held = line;
    return '';
  }
}
