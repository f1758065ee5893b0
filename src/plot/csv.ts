// A small CSV reader for the tables `poglm grid` writes (rowsToCsv, summaryToCsv in src/api/grid.ts): comma
// separated, a header line, fields quoted with "..." and "" inside where they hold a comma, quote or newline (the
// `problem` column of fits.csv does). Pure, so that a page can read a dropped file the same way.
import { DataError } from '../model/data.js';

export interface CsvTable {
  header: string[];
  /** Each record by column name, with the line it starts on (1-based, the header is line 1) for messages. */
  records: { line: number; values: Record<string, string> }[];
}

/** Splits CSV text into records of fields; `source` names the file in errors. */
function splitRecords(text: string, source: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  const endRecord = (): void => {
    fields.push(field);
    // A blank line (a trailing newline included) is no record.
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
    fields = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        if (char === '\n') line++;
        field += char;
      }
    } else if (char === '"' && field === '') {
      quoted = true;
    } else if (char === ',') {
      fields.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      start = ++line;
    } else {
      field += char;
    }
  }
  if (quoted) throw new DataError(`${source}:${start}: a quoted field is not closed before the end of the file`);
  endRecord();
  return records;
}

export function parseCsv(text: string, source: string): CsvTable {
  const [head, ...body] = splitRecords(text.replace(/^\uFEFF/, ''), source);
  if (!head) throw new DataError(`${source} is empty: it should start with a header line of column names`);
  const header = head.fields.map((name) => name.trim());
  const records = body.map(({ line, fields }) => {
    if (fields.length !== header.length) throw new DataError(`${source}:${line} has ${fields.length} fields but the header has ${header.length} columns`);
    return { line, values: Object.fromEntries(header.map((name, i) => [name, fields[i].trim()])) };
  });
  return { header, records };
}
