/**
 * @module
 * A one-line progress bar for long transfers (`vdi-import`, `vdi-export`), drawn on stderr
 * only when stderr is a terminal: redirected or piped output never gets control characters.
 */

export interface ProgressBar {
  update(done: number, total: number | undefined): void;
  finish(): void;
}

const WIDTH = 40;

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr, enabled = stream.isTTY === true): ProgressBar {
  let last = '';
  let drawn = false;
  return {
    update(done, total) {
      if (!enabled) return;
      let line: string;
      if (total && total > 0) {
        const f = Math.min(1, done / total);
        const fill = Math.round(f * WIDTH);
        line = `${label} [${'#'.repeat(fill)}${' '.repeat(WIDTH - fill)}] ${Math.floor(f * 100)}%`;
      } else {
        line = `${label} ${mib(done)}`;
      }
      if (line === last) return;
      last = line;
      drawn = true;
      stream.write(`\r${line}`);
    },
    finish() {
      if (drawn) stream.write('\n');
    },
  };
}
