/**
 * The xe record layout, byte for byte. Goldens are real XenServer output found in public
 * sources (each cited), or derived from xapi's cli_printer.ml where noted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeCommas, formatRecord, Printer, type PrintRecord } from '../../src/cli/printer.js';

function capture(minimal: boolean): { p: Printer; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const p = new Printer(minimal, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { p, out: () => out, err: () => err };
}

describe('formatRecord / table output', () => {
  it('lays out `xe vif-list params=vm-name-label,MAC` as XenServer does', () => {
    // Real xe output captured in allegro/ralph, src/ralph/discovery/tests/plugins/test_xen.py
    // (test_xen_get_macs): first key left-aligned, the rest right-aligned, width = longest+4,
    // and two empty lines after each record.
    const golden = 'vm-name-label ( RO)    : win2k8\n'
      + '              MAC ( RO): 9a:09:b5:66:31:a9\n'
      + '\n\n'
      + 'vm-name-label ( RO)    : win2k8\n'
      + '              MAC ( RO): 8e:b0:fb:7c:c1:00\n'
      + '\n\n';
    const c = capture(false);
    c.p.table([
      [['vm-name-label ( RO)', 'win2k8'], ['MAC ( RO)', '9a:09:b5:66:31:a9']],
      [['vm-name-label ( RO)', 'win2k8'], ['MAC ( RO)', '8e:b0:fb:7c:c1:00']],
    ]);
    assert.equal(c.out(), golden);
  });

  it('lays out a five-field `xe vm-list params=…` record', () => {
    // Same source (test_xen_get_running_vms): the key column is 23 wide for memory-actual.
    const golden = 'uuid ( RO)             : c98c2e2b-a8cf-fe0a-a3c3-2e492c541ef9\n'
      + '       name-label ( RW): win2k8\n'
      + '      power-state ( RO): running\n'
      + '    memory-actual ( RO): 1073713152\n'
      + '     VCPUs-number ( RO): 1\n';
    const r: PrintRecord = [
      ['uuid ( RO)', 'c98c2e2b-a8cf-fe0a-a3c3-2e492c541ef9'],
      ['name-label ( RW)', 'win2k8'],
      ['power-state ( RO)', 'running'],
      ['memory-actual ( RO)', '1073713152'],
      ['VCPUs-number ( RO)', '1'],
    ];
    assert.equal(formatRecord(r), golden);
  });

  it('lays out `xe sr-list params=uuid,physical-size,type`', () => {
    // Same source (test_xen_srs).
    const golden = 'uuid ( RO)             : 9dd5d636-c90a-930d-c04f-897f9624731a\n'
      + '    physical-size ( RO): 64768442368\n'
      + '             type ( RO): lvm\n\n\n';
    const c = capture(false);
    c.p.table([[['uuid ( RO)', '9dd5d636-c90a-930d-c04f-897f9624731a'], ['physical-size ( RO)', '64768442368'], ['type ( RO)', 'lvm']]]);
    assert.equal(c.out(), golden);
  });

  it('lays out a patch-list record with set qualifiers and an empty value keeps its space', () => {
    // Layout example of XenServer 6.0.2's xe output (from its documentation),
    // with its placeholders filled in; "snapshots ( RO): " with a trailing space is as in
    // xcp-ng/xcp issue #656 (a real `xe vm-param-list`).
    const golden = 'uuid ( RO)                    : 0f2a\n'
      + '              name-label ( RO): XS602E006\n'
      + '        name-description ( RO): \n'
      + '                    size ( RO): 1024\n'
      + '                   hosts (SRO): a, b\n'
      + '    after-apply-guidance (SRO): restartXAPI\n';
    assert.equal(formatRecord([
      ['uuid ( RO)', '0f2a'], ['name-label ( RO)', 'XS602E006'], ['name-description ( RO)', ''],
      ['size ( RO)', '1024'], ['hosts (SRO)', 'a, b'], ['after-apply-guidance (SRO)', 'restartXAPI'],
    ]), golden);
  });

  it('prints `xe help <command>` as XenServer does', () => {
    // The XCP-ng documentation's CLI page ("Getting help with xe commands"): `xe help host-cpu-info`.
    const golden = 'command name            : host-cpu-info\n'
      + '        reqd params     : \n'
      + '        optional params : uuid\n'
      + "        description     : Lists information about the host's physical CPUs.\n";
    assert.equal(formatRecord([
      ['command name        ', 'host-cpu-info'], ['reqd params     ', ''], ['optional params ', 'uuid'],
      ['description     ', "Lists information about the host's physical CPUs."],
    ]), golden);
  });

  it('an empty record is one newline (cli_printer.ml multi_line_record of [])', () => {
    assert.equal(formatRecord([]), '\n');
  });
});

describe('Printer', () => {
  it('prints lists and messages one per line, stderr to stderr', () => {
    const c = capture(false);
    c.p.list(['a', 'b']);
    c.p.msg('done');
    c.p.stderr('warn');
    c.p.flush();
    assert.equal(c.out(), 'a\nb\ndone\n');
    assert.equal(c.err(), 'warn\n');
  });

  it('--minimal prints the first value of each record, comma-joined, escaped', () => {
    const c = capture(true);
    c.p.table([[['uuid ( RO)', 'u1'], ['name-label ( RW)', 'x']], [['uuid ( RO)', 'a,b\\c']]]);
    c.p.msg('never shown in minimal mode');
    c.p.stderr('nor this');
    c.p.flush();
    assert.equal(c.out(), 'u1,a\\,b\\\\c\n');
    assert.equal(c.err(), '');
  });

  it('--minimal with nothing to print prints an empty line', () => {
    const c = capture(true);
    c.p.table([]);
    c.p.flush();
    assert.equal(c.out(), '\n');
  });

  it('--minimal joins successive outputs newest first, as xapi prepends to its buffer', () => {
    const c = capture(true);
    c.p.list(['first']);
    c.p.list(['second', 'third']);
    c.p.flush();
    assert.equal(c.out(), 'second,third,first\n');
  });

  it('escapeCommas escapes commas and backslashes only', () => {
    assert.equal(escapeCommas('a,b\\c d'), 'a\\,b\\\\c d');
  });
});
