/**
 * @module
 * What a command implementation receives: its parameters, the printer, a logged-in XenAPI
 * client and the connection it was made with. Commands reach the toolstack only through
 * the client, never through server code.
 */
import type { XapiClient } from '../client/xapi-client.js';
import type { Connection, Params } from './argv.js';
import type { Printer } from './printer.js';
import { RefResolver } from './ref-resolver.js';

export interface CommandContext {
  readonly cmd: string;
  readonly params: Params;
  readonly printer: Printer;
  readonly client: XapiClient;
  readonly conn: Connection;
  /** How the program was invoked, for help texts (`xe`). */
  readonly argv0: string;
  /** A session call: the session goes first automatically. */
  call(method: string, ...args: unknown[]): Promise<unknown>;
  /** A fresh reference resolver for rendering records. */
  resolver(): RefResolver;
}

export interface CommandModule {
  run(ctx: CommandContext): Promise<void>;
}

export function makeContext(
  base: Omit<CommandContext, 'call' | 'resolver'>,
): CommandContext {
  const call = (method: string, ...args: unknown[]) => base.client.call(method, ...args);
  return { ...base, call, resolver: () => new RefResolver(call) };
}
