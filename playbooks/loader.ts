import { readFileSync } from 'node:fs';
import { isNode, type Document, type LineCounter } from 'yaml';
import { ConfigFileError, parseYamlWith, type FileProblem } from '../config/index.js';
import { ExpressionError } from './errors.js';
import { compileExpression, type Compiled, type ExpressionScope } from './expression.js';
import { PlaybookSchema, type AnyStep, type FailureStep, type Playbook, type Risk, type Step } from './schema.js';
import { templateFields } from './template.js';

/** A checked playbook with its expressions compiled once and its on_failure steps given ids. */
export interface LoadedPlaybook {
  file: string;
  playbook: Playbook;
  /** The compiled `on.when`. */
  when?: Compiled;
  /** Compiled `verify.expect`, by step id (main and on_failure steps). */
  expects: Map<string, Compiled>;
  /** Compiled step `when`, by step id. */
  conditions: Map<string, Compiled>;
  /** The playbook's `on_failure` steps, ids filled in (`on_failure.1`, …). */
  onFailure: AnyStep[];
  /** Each main step's `on_failure` steps, ids filled in (`<step>.on_failure.1`, …). */
  stepFailure: Map<string, AnyStep[]>;
  /** Every action the playbook names, with where: checked again against the handlers running. */
  actionRefs: ActionRef[];
  /** The actions it names that are read-only probes: called by request/reply, not through the durable stream. */
  probes: ReadonlySet<string>;
  /** Playbooks its `diagnose` steps may choose, with where: checked against the library. */
  playbookRefs: { playbook: string; line: number; col: number; field: string }[];
}

/** Where a playbook names an action (`steps.0.action`, `steps.1.verify.probe`, …). */
export interface ActionRef {
  action: string;
  line: number;
  col: number;
  field: string;
}

/** What the loader knows of an action (the handlers' registry entries fit): its default risk, whether it is a probe. */
export interface ActionTraits {
  name: string;
  /** The risk of a step that does not say (`high` → approval required). Default `low`. */
  risk?: Risk;
  /** A read-only probe: the engine calls it by request/reply. */
  probe?: boolean;
}

export interface LoadOptions {
  /** Actions that handlers provide (names, or registry entries with their traits); a playbook naming another is refused. */
  actions: readonly (string | ActionTraits)[];
  /** Actions the running handlers serve; when given, a playbook naming another is refused too. */
  served?: readonly string[];
}

const traitsOf = (actions: LoadOptions['actions']): Map<string, ActionTraits> =>
  new Map(actions.map((a) => (typeof a === 'string' ? [a, { name: a }] : [a.name, a])));

/** The problems of playbooks naming actions no running handler serves (empty when all are served). */
export function unservedActions(playbooks: readonly LoadedPlaybook[], served: readonly string[]): FileProblem[] {
  return playbooks.flatMap((pb) =>
    pb.actionRefs
      .filter((r) => !served.includes(r.action))
      .map((r) => ({ file: pb.file, line: r.line, col: r.col, field: r.field, message: `no running handler serves "${r.action}" (served: ${[...served].sort().join(', ') || 'none'})` })),
  );
}

/** Refuses playbooks that name an action no running handler serves, with file:line:col and field. */
export function refuseUnserved(playbooks: readonly LoadedPlaybook[], served: readonly string[], where = 'playbooks'): void {
  const problems = unservedActions(playbooks, served);
  if (problems.length) throw new ConfigFileError(where, problems);
}

type Path = (string | number)[];

/** Finds where a problem inside a string value is: the expression offset mapped onto the file. */
function locate(doc: Document, lc: LineCounter, text: string, path: Path, inner?: { source: string; offset: number }): { line: number; col: number } {
  const node = doc.getIn(path, true);
  if (!isNode(node) || !node.range) return { line: 1, col: 1 };
  const start = node.range[0];
  if (inner) {
    const before = inner.source.slice(0, inner.offset);
    const lineIdx = before.split('\n').length - 1;
    const col = before.length - (before.lastIndexOf('\n') + 1);
    const srcLine = inner.source.split('\n')[lineIdx] ?? '';
    const at = srcLine ? text.indexOf(srcLine, start) : -1;
    if (at >= 0 && at < node.range[2]) return lc.linePos(at + col);
  }
  return lc.linePos(start);
}

/** Parses and checks one playbook's text; throws ConfigFileError listing every problem with line and column. */
export function parsePlaybook(file: string, text: string, opts: LoadOptions): LoadedPlaybook {
  let parsed: ReturnType<typeof parseYamlWith<typeof PlaybookSchema>>;
  try {
    parsed = parseYamlWith(file, text, PlaybookSchema);
  } catch (e) {
    if (e instanceof ConfigFileError) throw e;
    throw new ConfigFileError(file, [{ file, line: 1, col: 1, field: '', message: `cannot read the YAML: ${(e as Error).message.split('\n')[0]}` }], { cause: e });
  }
  const { value: pb, doc, lines } = parsed;
  const problems: FileProblem[] = [];
  const at = (path: Path, message: string, inner?: { source: string; offset: number }) =>
    problems.push({ file, ...locate(doc, lines, text, path, inner), field: path.join('.'), message });

  const compile = (src: string, path: Path, scope: ExpressionScope): Compiled | undefined => {
    try {
      return compileExpression(src, scope);
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      at(path, e.message, { source: src, offset: e.offset });
      return undefined;
    }
  };
  const mainIds = pb.steps.map((s) => s.id);
  /** Checks template syntax and roots; `earlier` lists the step ids a template may read. */
  const checkTemplates = (v: unknown, path: Path, roots: readonly string[], earlier: readonly string[]) => {
    if (typeof v === 'string') {
      try {
        for (const field of templateFields(v)) {
          const [root, id] = field.split('.');
          if (!roots.includes(root ?? '')) at(path, `"{{ ${field} }}": templates here may read ${roots.join(' or ')} only`);
          else if (root === 'steps' && id !== undefined && !earlier.includes(id)) at(path, `"{{ ${field} }}": no earlier step "${id}" (known: ${earlier.join(', ') || 'none'})`);
        }
      } catch (e) {
        at(path, (e as Error).message);
      }
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) checkTemplates(x, [...path, k], roots, earlier);
    }
  };
  const traits = traitsOf(opts.actions);
  const actionRefs: ActionRef[] = [];
  const probes = new Set<string>();
  const checkAction = (name: string | undefined, path: Path) => {
    if (!name) return;
    if (!traits.has(name)) return at(path, `no handler provides "${name}" (available: ${[...traits.keys()].join(', ')})`);
    const ref = { action: name, ...locate(doc, lines, text, path), field: path.join('.') };
    actionRefs.push(ref);
    if (traits.get(name)!.probe) probes.add(name);
    if (opts.served && !opts.served.includes(name)) problems.push({ file, ...ref, message: `no running handler serves "${name}" (served: ${[...opts.served].sort().join(', ') || 'none'})` });
  };

  const when = pb.on.when ? compile(pb.on.when, ['on', 'when'], 'trigger') : undefined;
  if (pb.on.dedupe) checkTemplates(pb.on.dedupe.key, ['on', 'dedupe', 'key'], ['event'], []);
  const expects = new Map<string, Compiled>();
  const conditions = new Map<string, Compiled>();
  const seenIds = new Set(mainIds);

  const checkStep = (s: Step | FailureStep, id: string, path: Path, earlier: readonly string[]) => {
    const roots = ['event', 'steps'];
    checkAction(s.action, [...path, 'action']);
    checkTemplates(s.with, [...path, 'with'], roots, earlier);
    if (s.stop) checkTemplates(s.stop, [...path, 'stop'], roots, earlier);
    if (s.when) {
      const fn = compile(s.when, [...path, 'when'], 'step');
      if (fn) conditions.set(id, fn);
    }
    if (s.verify) {
      checkAction(s.verify.probe, [...path, 'verify', 'probe']);
      checkTemplates(s.verify.with, [...path, 'verify', 'with'], roots, earlier);
      const fn = compile(s.verify.expect, [...path, 'verify', 'expect'], 'expect');
      if (fn) expects.set(id, fn);
    }
  };
  const failureList = (list: FailureStep[], prefix: string, path: Path): AnyStep[] =>
    list.map((f, i) => {
      const id = f.id ?? `${prefix}on_failure.${i + 1}`;
      if (f.id !== undefined) {
        if (seenIds.has(f.id)) at([...path, i, 'id'], `duplicate step id "${f.id}"`);
        seenIds.add(f.id);
      }
      checkStep(f, id, [...path, i], mainIds);
      return { ...f, id };
    });

  const stepFailure = new Map<string, AnyStep[]>();
  const playbookRefs: LoadedPlaybook['playbookRefs'] = [];
  pb.steps.forEach((s, i) => {
    const path: Path = ['steps', i];
    checkStep(s, s.id, path, mainIds.slice(0, i));
    if (s.action && s.risk === undefined) s.risk = traits.get(s.action)?.risk ?? 'low';
    if (s.undo) {
      checkAction(s.undo.action, [...path, 'undo', 'action']);
      checkTemplates(s.undo.with, [...path, 'undo', 'with'], ['event', 'steps'], mainIds.slice(0, i + 1));
    }
    if (s.on_failure) stepFailure.set(s.id, failureList(s.on_failure, `${s.id}.`, [...path, 'on_failure']));
    s.diagnose?.playbooks.forEach((name, j) => {
      const where = [...path, 'diagnose', 'playbooks', j];
      playbookRefs.push({ playbook: name, ...locate(doc, lines, text, where), field: where.join('.') });
    });
  });
  const onFailure = failureList(pb.on_failure, '', ['on_failure']);

  if (problems.length) throw new ConfigFileError(file, problems);
  return { file, playbook: pb, when, expects, conditions, onFailure, stepFailure, actionRefs, probes, playbookRefs };
}

/** Problems of `diagnose` allow-lists naming playbooks the set does not hold (empty when all are there). */
export function unknownChoices(playbooks: readonly LoadedPlaybook[]): FileProblem[] {
  const names = new Set(playbooks.map((p) => p.playbook.name));
  return playbooks.flatMap((pb) =>
    pb.playbookRefs
      .filter((r) => !names.has(r.playbook))
      .map((r) => ({ file: pb.file, line: r.line, col: r.col, field: r.field, message: `no playbook "${r.playbook}" is loaded (known: ${[...names].sort().join(', ')})` })),
  );
}

/** The highest risk among a playbook's action steps: what a diagnosis shows of it. */
export function playbookRisk(pb: LoadedPlaybook): Risk {
  const order: Risk[] = ['low', 'medium', 'high'];
  return pb.playbook.steps.reduce<Risk>((max, s) => (s.risk && order.indexOf(s.risk) > order.indexOf(max) ? s.risk : max), 'low');
}

/** Reads and checks one playbook file. */
export function loadPlaybookFile(file: string, opts: LoadOptions): LoadedPlaybook {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigFileError(file, [{ file, line: 0, col: 0, field: '', message: `cannot read: ${(e as Error).message}` }], { cause: e });
  }
  return parsePlaybook(file, text, opts);
}
