/**
 * @module
 * The group's SSH side: an `ssh2` server that accepts the group's administrator by
 * password and gives each shell channel its own Group Manager CLI session. It behaves as
 * a terminal does: typed characters are echoed when the client asked for a pty, a line
 * ends at `\r` (a following `\n` is ignored), output lines end in `\r\n`, and the prompt
 * `GROUP> ` (or `GROUP (volume_NAME)> `) is printed when the CLI is ready for the next
 * command. Commands of one session run one at a time, in order.
 *
 * Faults for tests: `dropOn` closes the connection when a matching command arrives,
 * after the array carried it out and before the reply, as a dropped link does; `failOn`
 * answers a matching command with an `% Error` line without running it.
 */
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';

const { Server } = ssh2;
import { CliSession } from './cli-session.js';
import type { GroupModel } from './group-model.js';

export interface SshCliOptions {
  readonly group: GroupModel;
  readonly username: string;
  readonly password: string;
  readonly hostKey: string;
  readonly connections?: (iqn: string) => number;
  readonly log?: (m: string) => void;
}

const BANNER = ['', '           Welcome to Group Manager', '', '        Copyright 2001-2016 Dell Inc.', '', ''];
const PAGE = 22;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SshCliServer {
  private readonly server: InstanceType<typeof Server>;
  private readonly clients = new Set<Connection>();
  /** Commands matching one of these drop the connection after running (tests' faults). */
  readonly dropOn: RegExp[] = [];
  /** Commands matching one of these fail with the given `% Error` text instead of running (tests' faults). */
  readonly failOn: Array<{ match: RegExp; text: string }> = [];
  /** Every command line received, in order (tests read it). */
  readonly received: string[] = [];

  constructor(private readonly o: SshCliOptions) {
    this.server = new Server({ hostKeys: [o.hostKey], ident: 'SSH-2.0-OpenSSH_5.2 PS Series' }, (client) => this.accept(client));
  }

  listen(host: string, port: number): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as { address: string; port: number };
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.end();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(client: Connection): void {
    // As sshd does for an interactive session: without TCP_NODELAY each answer written in
    // pieces (echo, output, prompt) stalls on the peer's delayed ACK, some 40 ms a command.
    (client as Connection & { setNoDelay(on: boolean): unknown }).setNoDelay(true);
    this.clients.add(client);
    client.on('close', () => this.clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && same(ctx.username, this.o.username) && same(ctx.password, this.o.password)) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        let pty = false;
        session.on('pty', (accept) => { pty = true; accept?.(); });
        session.on('window-change', (accept) => accept?.());
        session.on('shell', (accept) => this.shell(client, accept(), pty));
        session.on('exec', (_accept, reject) => reject?.());
      });
    });
  }

  private shell(client: Connection, ch: ServerChannel, echo: boolean): void {
    const cli = new CliSession(this.o.group, this.o.connections ? { connections: this.o.connections } : {});
    const write = (s: string) => { if (ch.writable) ch.write(s); };
    let line = '';
    let lastCr = false;
    let busy: Promise<void> = Promise.resolve();
    let asking: ((yes: boolean) => Promise<string[]>) | undefined;
    let paged: string[] | undefined;

    const emit = (lines: string[]) => {
      if (cli.settings.paging && lines.length > PAGE) {
        write(lines.slice(0, PAGE).map((l) => `${l}\r\n`).join(''));
        paged = lines.slice(PAGE);
        write('Press any key to continue (Q to quit)');
        return false;
      }
      write(lines.map((l) => `${l}\r\n`).join(''));
      return true;
    };
    const finish = (lines: string[]) => { if (emit(lines)) write(cli.prompt()); };

    const handle = async (text: string) => {
      if (asking) {
        const answer = asking;
        asking = undefined;
        finish(await answer(/^y(es)?$/i.test(text.trim())));
        return;
      }
      this.received.push(text);
      const fault = this.failOn.find((f) => f.match.test(text));
      if (fault) { finish([`% Error - ${fault.text}`]); return; }
      const reply = await cli.run(text);
      if (this.dropOn.some((r) => r.test(text))) {
        this.o.log?.(`dropping the connection on ${JSON.stringify(text)}`);
        client.end();
        return;
      }
      if (reply.exit) { write('\r\n'); ch.exit(0); ch.end(); return; }
      if (reply.ask) {
        write(reply.lines.map((l) => `${l}\r\n`).join(''));
        write(`${reply.ask.prompt} `);
        asking = reply.ask.answer;
        return;
      }
      finish(reply.lines);
    };

    ch.on('data', (data: Buffer) => {
      // Echo what a chunk typed in one write, as a terminal driver does.
      let echoed = '';
      const flushEcho = () => { if (echoed) { write(echoed); echoed = ''; } };
      for (const c of data.toString('utf8')) {
        if (paged) {
          const rest = paged;
          paged = undefined;
          write('\r\n');
          if (c === 'q' || c === 'Q') write(cli.prompt());
          else finish(rest);
          continue;
        }
        if (c === '\n' && lastCr) { lastCr = false; continue; }
        lastCr = c === '\r';
        if (c === '\r' || c === '\n') {
          flushEcho();
          if (echo) write('\r\n');
          const text = line;
          line = '';
          busy = busy.then(() => handle(text)).catch((e) => {
            this.o.log?.(`cli failure: ${e instanceof Error ? e.stack : String(e)}`);
            finish([`% Error - Internal error: ${e instanceof Error ? e.message : String(e)}`]);
          });
        } else if (c === '\x7f' || c === '\b') {
          if (line.length) { line = line.slice(0, -1); if (echo) write('\b \b'); }
        } else if (c === '\x03') {
          line = '';
          if (echo) write('^C\r\n');
          write(cli.prompt());
        } else {
          line += c;
          if (echo) echoed += c;
        }
      }
      flushEcho();
    });
    ch.on('error', () => undefined);
    write(BANNER.join('\r\n'));
    write(cli.prompt());
  }
}
