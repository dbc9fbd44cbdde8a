import { HomeostatError } from '../config/index.js';

/** Errors raised by the playbook engine. Each has a stable `code`. */
export class PlaybookError extends HomeostatError {
  override name = 'PlaybookError';
}

/** A template referenced a field the context does not have; nothing is rendered. */
export class TemplateFieldMissingError extends PlaybookError {
  override name = 'TemplateFieldMissingError';
  constructor(
    readonly field: string,
    template: string,
  ) {
    super('PLAYBOOK_TEMPLATE_MISSING_FIELD', `template "${template}" references "${field}", which the event/steps do not have`);
  }
}

/** A `{{ … }}` that is not a plain field path (templates hold values only, never code). */
export class TemplateSyntaxError extends PlaybookError {
  override name = 'TemplateSyntaxError';
  constructor(inner: string) {
    super('PLAYBOOK_TEMPLATE_SYNTAX', `"{{${inner}}}" is not a field path (templates hold values only, e.g. {{ event.target }})`);
  }
}

/** A CEL expression that does not parse or type-check; `offset` is where, inside the expression. */
export class ExpressionError extends PlaybookError {
  override name = 'ExpressionError';
  constructor(
    readonly source: string,
    readonly reason: string,
    readonly offset: number,
    opts: { cause?: unknown } = {},
  ) {
    super('PLAYBOOK_EXPRESSION_INVALID', `expression does not compile: ${reason}`, opts);
  }
}

export class StepFailedError extends PlaybookError {
  override name = 'StepFailedError';
  constructor(step: string, reason: string, opts: { cause?: unknown } = {}) {
    super('PLAYBOOK_STEP_FAILED', `step "${step}" failed: ${reason}`, opts);
  }
}

/** `homeostat playbooks explain` was given an event file it cannot use. */
export class EventFileError extends PlaybookError {
  override name = 'EventFileError';
  constructor(file: string, reason: string, opts: { cause?: unknown } = {}) {
    super('PLAYBOOK_EVENT_FILE_INVALID', `${file}: ${reason}`, opts);
  }
}
