import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigFileError, type FileProblem } from './errors.js';

/** Where a zod issue path points in a YAML document (the nearest node that exists). */
function locate(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]);
    // a key without a value node (e.g. `foo:`) is located by its pair
  }
  return { line: 1, col: 1 };
}

function problemsFromZod(file: string, doc: Document, lc: LineCounter, error: z.ZodError): FileProblem[] {
  const out: FileProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const pos = locateKey(doc, lc, path, key);
        out.push({ file, ...pos, field: [...path, key].join('.'), message: 'unknown field' });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors)) {
      // report the branch that got furthest: the one with the fewest issues
      const branches = issue.errors as z.core.$ZodIssue[][];
      const best = branches.slice().sort((a, b) => a.length - b.length)[0];
      if (best && best.length) {
        for (const sub of best) {
          const full = [...path, ...sub.path];
          out.push({ file, ...locate(doc, lc, full), field: full.join('.'), message: sub.code === 'unrecognized_keys' ? `unknown field(s) ${(sub as { keys: string[] }).keys.join(', ')}` : sub.message });
        }
        continue;
      }
    }
    const missing = issue.code === 'invalid_type' && doc.getIn(path as unknown[], true) === undefined;
    out.push({
      file,
      ...locate(doc, lc, path),
      field: path.join('.'),
      message: missing ? `required field is missing (${issue.message})` : issue.message,
    });
  }
  return out;
}

function locateKey(doc: Document, lc: LineCounter, path: readonly PropertyKey[], key: string): { line: number; col: number } {
  const parent = doc.getIn(path as unknown[], true) as { items?: { key: unknown }[] } | undefined;
  const pair = parent?.items?.find((it) => isNode(it.key) && (it.key as { value?: unknown }).value === key);
  if (pair && isNode(pair.key) && pair.key.range) return lc.linePos(pair.key.range[0]);
  return locate(doc, lc, path);
}

export interface ParsedYaml<T> {
  value: T;
  doc: Document;
  lines: LineCounter;
}

/** Parses YAML text and checks it against `schema`; every problem is reported with line and column. */
export function parseYamlWith<S extends z.ZodType>(file: string, text: string, schema: S): ParsedYaml<z.infer<S>> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigFileError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
        return { file, line: pos.line, col: pos.col, field: '', message: e.message.split('\n')[0] ?? e.message };
      }),
    );
  }
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) throw new ConfigFileError(file, problemsFromZod(file, doc, lines, parsed.error));
  return { value: parsed.data, doc, lines };
}

/** Reads a YAML file and checks it against `schema`. */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigFileError(file, [{ file, line: 0, col: 0, field: '', message: `cannot read: ${(e as Error).message}` }], { cause: e });
  }
  return parseYamlWith(file, text, schema).value;
}
