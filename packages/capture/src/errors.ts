/**
 * Named errors of the capture engine. Each has a stable `code` and a message that
 * names the field, the value and what is allowed, so a CLI, a server or a UI can show it
 * as is.
 */
export class CaptureError extends Error {
  readonly code: string;
  /** The setting or argument at fault, when there is one. */
  readonly field?: string;
  /**
   * The same in words a person reads (a settings form, the command line, the capture
   * view): settings by their labels, sizes as sizes. `message` keeps field names, for
   * logs and API clients. The message itself when it has no field names to replace.
   */
  readonly plain: string;
  constructor(code: string, message: string, field?: string, plain?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.field = field;
    this.plain = plain ?? message;
  }
}

/** A setting outside its allowed range or set. */
export class InvalidSettingError extends CaptureError {
  /**
   * `plain` is the message in the words of a settings form ("Largest side must be 64–1920
   * px, got 10"): the setting's label instead of its field name.
   */
  constructor(field: string, message: string, plain?: string) {
    super('ERR_INVALID_SETTING', message, field, plain);
  }
}

/** A time string that is not one of the accepted forms. */
export class InvalidTimeError extends CaptureError {
  constructor(message: string, field = 'time', plain?: string) {
    super('ERR_INVALID_TIME', message, field, plain);
  }
}

/** A time outside the video. */
export class TimeOutOfRangeError extends CaptureError {
  constructor(message: string, field = 'time', plain?: string) {
    super('ERR_TIME_OUT_OF_RANGE', message, field, plain);
  }
}

/** An input that is not a video, is empty, truncated, or cannot be decoded. */
export class SourceError extends CaptureError {
  constructor(message: string, code = 'ERR_SOURCE') {
    super(code, message);
  }
}

/** Nothing sensible fits the byte budget. `minBytes` is the smallest that would. */
export class BudgetError extends CaptureError {
  readonly minBytes?: number;
  constructor(message: string, minBytes?: number, plain?: string) {
    super('ERR_BUDGET', message, 'maxStickerBytes', plain);
    this.minBytes = minBytes;
  }
}

/** The operation was cancelled through its signal or progress callback. */
export class CancelledError extends CaptureError {
  constructor(message = 'cancelled') {
    super('ERR_CANCELLED', message);
  }
}
