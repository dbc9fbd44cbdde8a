/** Errors raised by the playbook engine. */
export class PlaybookError extends Error {
  override name = 'PlaybookError';
  constructor(
    readonly code: string,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
  }
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

export class StepFailedError extends PlaybookError {
  override name = 'StepFailedError';
  constructor(step: string, reason: string, opts: { cause?: unknown } = {}) {
    super('PLAYBOOK_STEP_FAILED', `step "${step}" failed: ${reason}`, opts);
  }
}
