/**
 * @module
 * Why talking to an EqualLogic group failed, with the array's own text when it said
 * something: bad credentials, no connection, a `% Error` line, a session lost in the
 * middle of a command (its outcome unknown), no answer in time.
 */
export type EqlErrorKind = 'auth' | 'connect' | 'cli' | 'dropped' | 'timeout';

export class EqlError extends Error {
  constructor(readonly kind: EqlErrorKind, message: string, readonly command?: string) {
    super(message);
    this.name = 'EqlError';
  }
}
