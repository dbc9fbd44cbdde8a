import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNode, type Document, type LineCounter } from 'yaml';
import { ConfigFileError, parseYamlWith, type FileProblem } from '../config/index.js';
import { compileExpression, type Compiled } from './expression.js';
import { PlaybookSchema, type Playbook } from './schema.js';
import { templateFields } from './template.js';

/** A checked playbook with its expressions compiled once. */
export interface LoadedPlaybook {
  file: string;
  playbook: Playbook;
  when?: Compiled;
  expects: Map<string, Compiled>;
}

export interface LoadOptions {
  /** Actions that handlers provide; a playbook naming another is refused. */
  actions: readonly string[];
}

function pos(doc: Document, lc: LineCounter, path: (string | number)[]): { line: number; col: number } {
  const node = doc.getIn(path, true);
  return isNode(node) && node.range ? lc.linePos(node.range[0]) : { line: 1, col: 1 };
}

/** Parses and checks one playbook's text; throws ConfigFileError listing every problem with line and column. */
export function parsePlaybook(file: string, text: string, opts: LoadOptions): LoadedPlaybook {
  const { value: pb, doc, lines } = parseYamlWith(file, text, PlaybookSchema);
  const problems: FileProblem[] = [];
  const at = (path: (string | number)[], message: string) =>
    problems.push({ file, ...pos(doc, lines, path), field: path.join('.'), message });

  const compile = (src: string, path: (string | number)[]): Compiled | undefined => {
    try {
      return compileExpression(src);
    } catch (e) {
      at(path, `expression does not compile: ${(e as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  const checkTemplates = (v: unknown, path: (string | number)[]) => {
    if (typeof v === 'string') {
      try {
        templateFields(v);
      } catch (e) {
        at(path, (e as Error).message);
      }
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) checkTemplates(x, [...path, k]);
    }
  };

  const when = pb.on.when ? compile(pb.on.when, ['on', 'when']) : undefined;
  const expects = new Map<string, Compiled>();
  pb.steps.forEach((s, i) => {
    const name = s.action ?? s.verify?.probe;
    const field = s.action ? 'action' : 'verify';
    if (name && !opts.actions.includes(name)) {
      at(['steps', i, field], `no handler provides "${name}" (available: ${opts.actions.join(', ')})`);
    }
    checkTemplates(s.with, ['steps', i, 'with']);
    if (s.verify) {
      checkTemplates(s.verify.with, ['steps', i, 'verify', 'with']);
      const fn = compile(s.verify.expect, ['steps', i, 'verify', 'expect']);
      if (fn) expects.set(s.id, fn);
    }
  });
  if (problems.length) throw new ConfigFileError(file, problems);
  return { file, playbook: pb, when, expects };
}

export function loadPlaybookFile(file: string, opts: LoadOptions): LoadedPlaybook {
  return parsePlaybook(file, readFileSync(file, 'utf8'), opts);
}

/** Loads every `*.yaml`/`*.yml` in a folder; refuses the lot when any is invalid or two share a name. */
export function loadPlaybookDir(dir: string, opts: LoadOptions): LoadedPlaybook[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
  const out: LoadedPlaybook[] = [];
  const problems: FileProblem[] = [];
  for (const f of files) {
    try {
      const pb = loadPlaybookFile(f, opts);
      const dup = out.find((o) => o.playbook.name === pb.playbook.name);
      if (dup) problems.push({ file: f, line: 1, col: 1, field: 'name', message: `"${pb.playbook.name}" is already defined in ${dup.file}` });
      else out.push(pb);
    } catch (e) {
      if (e instanceof ConfigFileError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length) throw new ConfigFileError(dir, problems);
  return out;
}
