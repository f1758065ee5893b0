// The Python literal in a .npy header ({'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }), read by a
// small tokenizer instead of regular expressions, so that a damaged header is an error with its position rather than
// a wrong shape. Only what numpy writes there is accepted: dicts, tuples, lists, strings, integers, True, False, None.
import { DataError } from '../model/data.js';

export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** Nesting deeper than this is no header numpy writes (a structured dtype nests a few levels at most). */
const MAX_DEPTH = 16;

class LiteralReader {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly where: string,
  ) {}

  fail(reason: string): DataError {
    return new DataError(`${this.where}: its header is not the Python dict numpy writes (${reason} at character ${this.position + 1})`);
  }

  skipSpace(): void {
    while (this.position < this.text.length && /\s/.test(this.text[this.position])) this.position++;
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.position] ?? '';
  }

  expect(character: string): void {
    if (this.peek() !== character) throw this.fail(`expected '${character}'`);
    this.position++;
  }

  value(depth: number): PyValue {
    if (depth > MAX_DEPTH) throw this.fail('nesting too deep');
    const c = this.peek();
    if (c === '{') return this.dict(depth);
    if (c === '(' || c === '[') return this.sequence(c === '(' ? ')' : ']', depth);
    if (c === "'" || c === '"') return this.string(c);
    if (/[-\d]/.test(c)) return this.integer();
    for (const [word, value] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.text.startsWith(word, this.position)) {
        this.position += word.length;
        return value;
      }
    }
    throw this.fail(c === '' ? 'the text ends early' : 'an unexpected character');
  }

  private dict(depth: number): PyValue {
    this.expect('{');
    const result: { [key: string]: PyValue } = {};
    while (this.peek() !== '}') {
      const key = this.value(depth + 1);
      if (typeof key !== 'string') throw this.fail('a key that is not a string');
      this.expect(':');
      result[key] = this.value(depth + 1);
      if (this.peek() !== ',') break;
      this.position++;
    }
    this.expect('}');
    return result;
  }

  private sequence(closer: string, depth: number): PyValue[] {
    this.position++;
    const items: PyValue[] = [];
    while (this.peek() !== closer) {
      items.push(this.value(depth + 1));
      if (this.peek() !== ',') break;
      this.position++;
    }
    this.expect(closer);
    return items;
  }

  private string(quote: string): string {
    const end = this.text.indexOf(quote, this.position + 1);
    if (end < 0) throw this.fail('a string that is never closed');
    const body = this.text.slice(this.position + 1, end);
    if (body.includes('\\')) throw this.fail('an escape in a string');
    this.position = end + 1;
    return body;
  }

  private integer(): number {
    const match = /^-?\d+L?/.exec(this.text.slice(this.position, this.position + 32));
    if (!match) throw this.fail('a number that is not an integer');
    this.position += match[0].length;
    return Number(match[0].replace('L', ''));
  }

  end(): void {
    this.skipSpace();
    if (this.position < this.text.length) throw this.fail('text after the dict');
  }
}

/** The value of a Python literal; `where` names the file for the error. */
export function parsePythonLiteral(text: string, where: string): PyValue {
  const reader = new LiteralReader(text, where);
  const value = reader.value(0);
  reader.end();
  return value;
}
