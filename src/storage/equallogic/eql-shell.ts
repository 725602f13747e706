/**
 * @module
 * One interactive Group Manager CLI session over SSH, driven as a person at a terminal
 * would: a pty 255 columns wide, commands ended by `\r`, the answer read until the next
 * prompt (`GROUP> ` or `GROUP (volume_V)> `), the echoed command line dropped. At start it
 * turns off what would make the output unpredictable (confirmations, paging, formatted
 * output, events, info messages) and asks for sizes in MB. One command runs at a time;
 * a `% Error` answer becomes an `EqlError('cli')` carrying the array's text.
 */
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;
import { errorLines } from './cli-parse.js';
import { EqlError } from './eql-errors.js';

export interface EqlConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Per command and for the login, ms. */
  readonly timeoutMs?: number;
}

const PROMPT = /(?:^|\n)([A-Za-z0-9][A-Za-z0-9._-]*(?: \([^)\r\n]*\))?> )$/;
const SETUP = [
  'stty columns 255', 'stty hardwrap off', 'cli-settings confirmation off', 'cli-settings paging off',
  'cli-settings formatoutput off', 'cli-settings events off', 'cli-settings displayinMB on', 'grpparams info-messages disable',
];

export class EqlShell {
  private buffer = '';
  private waiter: { resolve: (text: string) => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closedError: EqlError | undefined;
  /** The group name, from the first prompt. */
  groupName = '';

  private constructor(private readonly client: Client, private readonly ch: ClientChannel, private readonly timeoutMs: number) {
    ch.on('data', (d: Buffer) => this.onData(d.toString('utf8')));
    const lost = () => this.fail(new EqlError('dropped', 'the SSH session to the EqualLogic group was lost'));
    ch.on('close', lost);
    client.on('close', lost);
    client.on('error', (e) => this.fail(new EqlError('dropped', `the SSH session to the EqualLogic group failed: ${e.message}`)));
  }

  static async open(o: EqlConnectOptions): Promise<EqlShell> {
    const timeoutMs = o.timeoutMs ?? 30_000;
    const client = new Client();
    const ch = await new Promise<ClientChannel>((resolve, reject) => {
      const timer = setTimeout(() => { client.end(); reject(new EqlError('timeout', `no SSH login to ${o.host}:${o.port} within ${timeoutMs} ms`)); }, timeoutMs);
      client.once('error', (e: Error & { level?: string }) => {
        clearTimeout(timer);
        if (e.level === 'client-authentication') reject(new EqlError('auth', `the EqualLogic group at ${o.host}:${o.port} refused the login of ${o.username}: wrong user name or password`));
        else reject(new EqlError('connect', `cannot reach the EqualLogic group at ${o.host}:${o.port}: ${e.message}`));
      });
      client.once('ready', () => {
        client.shell({ term: 'vt100', cols: 255, rows: 24 }, (err, stream) => {
          clearTimeout(timer);
          if (err) { client.end(); reject(new EqlError('connect', `the EqualLogic group at ${o.host}:${o.port} gave no shell: ${err.message}`)); }
          else resolve(stream);
        });
      });
      client.connect({ host: o.host, port: o.port, username: o.username, password: o.password, readyTimeout: timeoutMs, tryKeyboard: false });
      // An interactive session, as OpenSSH's client treats one with a pty: no Nagle delay,
      // or a command typed while the previous answer's last ACK is still held waits for it.
      client.setNoDelay(true);
    });
    const shell = new EqlShell(client, ch, timeoutMs);
    try {
      const banner = await shell.untilPrompt('login');
      shell.groupName = /([A-Za-z0-9][A-Za-z0-9._-]*)(?: \([^)]*\))?> $/.exec(banner)?.[1] ?? '';
      for (const c of SETUP) await shell.run(c);
    } catch (e) {
      shell.close();
      throw e;
    }
    return shell;
  }

  get alive(): boolean {
    return !this.closedError;
  }

  /** Runs one command and resolves with its output (echo and prompt removed). */
  run(command: string): Promise<string> {
    if (/[\r\n]/.test(command)) return Promise.reject(new Error('a CLI command is one line'));
    const next = this.queue.then(async () => {
      if (this.closedError) throw this.closedError;
      this.buffer = '';
      const answer = this.untilPrompt(command);
      this.ch.write(`${command}\r`);
      const text = await answer.catch((e: EqlError) => {
        throw new EqlError(e.kind, `${e.message} during "${command}"; its outcome on the array is unknown`, command);
      });
      const lines = text.split(/\r?\n/);
      // The pty echoes what we typed: drop that first line, and the prompt at the end.
      if (lines.length && lines[0]!.trim() === command.trim()) lines.shift();
      lines.pop();
      const out = lines.join('\n');
      const err = errorLines(out);
      if (err) throw new EqlError('cli', err, command);
      return out;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.fail(new EqlError('dropped', 'the session was closed'));
    this.client.end();
  }

  private untilPrompt(what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new EqlError('timeout', `the EqualLogic group did not answer "${what}" within ${this.timeoutMs} ms`));
        this.close();
      }, this.timeoutMs);
      this.waiter = {
        resolve: (t) => { clearTimeout(timer); resolve(t); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      this.check();
    });
  }

  private onData(s: string): void {
    this.buffer += s;
    this.check();
  }

  private check(): void {
    if (!this.waiter) return;
    const text = this.buffer.replace(/\r\n/g, '\n');
    if (PROMPT.test(text)) {
      const w = this.waiter;
      this.waiter = undefined;
      this.buffer = '';
      w.resolve(text);
    } else if (/\(y\/n\) \[n\] ?$/.test(text) || /Press any key to continue/.test(text)) {
      // Confirmation or paging still on: answer no / quit, and report it.
      this.ch.write(/\(y\/n\)/.test(text) ? 'n\r' : 'q');
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(new EqlError('cli', 'the group asked an interactive question Islet cannot answer'));
    }
  }

  private fail(e: EqlError): void {
    this.closedError ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }
}
