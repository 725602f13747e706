/**
 * The parts of the initiator's command pipeline, each on its own: the command PDU with
 * immediate data and the unsolicited burst, the Data-Out sequence answering an R2T (sent
 * over a real loopback socket and cut back into PDUs by the same reader the target uses,
 * with and without digests), the CmdSN window, and the task table's re-issue order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CmdWindow } from '../../../src/storage/iscsi/cmd-window.js';
import { sendCommand, sendDataOut } from '../../../src/storage/iscsi/command-sender.js';
import { defaultParams, type SessionParams } from '../../../src/storage/iscsi/negotiation.js';
import { dataSegmentLength, decodeLun, flags, itt, NO_TAG, Op, opcode, u32, type Pdu } from '../../../src/storage/iscsi/pdu.js';
import { PduReader } from '../../../src/storage/iscsi/pdu-reader.js';
import { TaskTable, type Task } from '../../../src/storage/iscsi/session-tasks.js';
import { Wire } from '../../../src/storage/iscsi/wire.js';

const task = (over: Partial<Task> = {}): Task => ({
  seq: 0, itt: 0x1234, lun: 3, cdb: Buffer.alloc(16, 0x8a), readLength: 0,
  resolve: () => undefined, reject: () => undefined, sent: false, unitAttentions: 0, ...over,
});

const params = (over: Partial<SessionParams>): SessionParams => ({ ...defaultParams(), ...over });

describe('the initiator command pipeline', () => {
  let server: Server;
  let portal = '';
  let peer: Promise<Socket>;
  let wire: Wire;
  let received: Pdu[] = [];
  let reader: PduReader;

  before(async () => {
    server = createServer();
    peer = new Promise((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    portal = `127.0.0.1:${(server.address() as { port: number }).port}`;
    wire = await Wire.open(portal, 5000);
    wire.attach(() => undefined, () => undefined);
    const s = await peer;
    reader = new PduReader(s, (p) => received.push({ bhs: p.bhs, data: Buffer.from(p.data) }), (e) => assert.fail(e));
    reader.maxDataSegment = 1 << 20;
  });

  after(async () => {
    wire.destroy();
    await new Promise((r) => server.close(r));
  });

  /** Waits until the target side has cut `n` PDUs from the stream. */
  const collect = async (n: number): Promise<Pdu[]> => {
    const deadline = Date.now() + 5000;
    while (received.length < n) {
      if (Date.now() > deadline) assert.fail(`only ${received.length} of ${n} PDUs arrived within 5 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const got = received.splice(0, n);
    assert.equal(received.length, 0, 'no PDU beyond those expected');
    return got;
  };

  for (const digests of [false, true]) {
    it(`answers an R2T with Data-Out PDUs within the target's MaxRecvDataSegmentLength${digests ? ' (CRC32C digests)' : ''}`, async () => {
      const d = { header: digests, data: digests };
      wire.reader.digests = d;
      reader.digests = d;
      const data = randomBytes(40_001);
      const t = task({ dataOut: data });
      // An R2T for bytes 8192..28193: 8192 + 8192 + 3617 (the last one padded on the wire).
      sendDataOut(wire, params({ peerMaxRecv: 8192 }), t, 0x77, 8192, 20_001, 42);
      const pdus = await collect(3);
      assert.deepEqual(pdus.map((p) => opcode(p.bhs)), [Op.DataOut, Op.DataOut, Op.DataOut]);
      assert.deepEqual(pdus.map((p) => dataSegmentLength(p.bhs)), [8192, 8192, 3617]);
      assert.deepEqual(pdus.map((p) => flags(p.bhs) & 0x80), [0, 0, 0x80], 'F only on the last PDU of the sequence');
      assert.deepEqual(pdus.map((p) => u32(p.bhs, 36)), [0, 1, 2], 'DataSN counts from 0 in each sequence');
      assert.deepEqual(pdus.map((p) => u32(p.bhs, 40)), [8192, 16384, 24576], 'buffer offsets');
      for (const p of pdus) {
        assert.equal(itt(p.bhs), 0x1234);
        assert.equal(u32(p.bhs, 20), 0x77, 'the R2T\'s target transfer tag');
        assert.equal(u32(p.bhs, 28), 42, 'ExpStatSN');
        assert.equal(decodeLun(p.bhs, 8), 3);
        const at = u32(p.bhs, 40);
        assert.ok(p.data.equals(data.subarray(at, at + p.data.length)), `data at ${at}`);
      }
    });
  }

  it('sends immediate data and then the unsolicited burst up to FirstBurstLength when InitialR2T=No', async () => {
    wire.reader.digests = { header: false, data: false };
    reader.digests = { header: false, data: false };
    const data = randomBytes(100_000);
    sendCommand(wire, params({ peerMaxRecv: 8192, firstBurstLength: 65536, immediateData: true, initialR2T: false }), task({ dataOut: data }), 9, 5);
    const pdus = await collect(1 + 7);
    const [cmd, ...outs] = pdus;
    assert.equal(opcode(cmd!.bhs), Op.ScsiCommand);
    assert.equal(flags(cmd!.bhs) & 0xa0, 0x20, 'W set, F clear: unsolicited Data-Out follows');
    assert.equal(u32(cmd!.bhs, 20), 100_000, 'expected data transfer length');
    assert.equal(u32(cmd!.bhs, 24), 9, 'CmdSN');
    assert.ok(cmd!.data.equals(data.subarray(0, 8192)), 'immediate data within the target\'s MaxRecvDataSegmentLength');
    assert.ok(cmd!.bhs.subarray(32, 48).equals(Buffer.alloc(16, 0x8a)), 'the CDB');
    assert.deepEqual(outs.map((p) => u32(p.bhs, 20)), outs.map(() => NO_TAG), 'unsolicited: no target transfer tag');
    assert.equal(u32(outs[0]!.bhs, 40), 8192);
    const last = outs[outs.length - 1]!;
    assert.equal(u32(last.bhs, 40) + last.data.length, 65536, 'the burst ends at FirstBurstLength');
    assert.equal(flags(last.bhs) & 0x80, 0x80);
  });

  it('sends only the command and its immediate data when InitialR2T=Yes (tgtd\'s default)', async () => {
    const data = randomBytes(1 << 20);
    sendCommand(wire, params({ peerMaxRecv: 8192, firstBurstLength: 65536, immediateData: true, initialR2T: true }), task({ dataOut: data }), 10, 5);
    const [cmd] = await collect(1);
    assert.equal(flags(cmd!.bhs) & 0xa0, 0xa0, 'F and W set');
    assert.equal(cmd!.data.length, 8192);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(received.length, 0, 'nothing unsolicited');
  });
});

describe('the CmdSN window', () => {
  const stamp = (statSN: number, exp: number, max: number): Buffer => {
    const b = Buffer.alloc(48);
    b.writeUInt32BE(statSN, 24);
    b.writeUInt32BE(exp, 28);
    b.writeUInt32BE(max, 32);
    return b;
  };

  it('sends commands from ExpCmdSN up to MaxCmdSN, reopens when the target moves MaxCmdSN, wraps at 2^32', () => {
    const w = new CmdWindow();
    w.reset(7, 0xfffffffe, 0xffffffff);
    assert.equal(w.expStatSN, 7);
    assert.deepEqual([w.take(), w.take()], [0xfffffffe, 0xffffffff]);
    assert.equal(w.open, false, 'the window is used up');
    w.update(stamp(7, 0, 1), true);
    assert.equal(w.expStatSN, 8, 'the status was acknowledged');
    assert.equal(w.open, true);
    assert.deepEqual([w.take(), w.take()], [0, 1], 'CmdSN wraps to 0');
    assert.equal(w.open, false);
  });

  it('ignores a MaxCmdSN below ExpCmdSN-1 and never shrinks the window for a late PDU', () => {
    const w = new CmdWindow();
    w.reset(0, 10, 20);
    w.update(stamp(0, 10, 5), false);
    w.update(stamp(0, 10, 15), false);
    for (let i = 0; i < 11; i++) w.take();
    assert.equal(w.cmdSN, 21);
    assert.equal(w.open, false, 'MaxCmdSN is still 20');
    w.update(stamp(0, 21, 20), false);
    assert.equal(w.open, false, 'MaxCmdSN = ExpCmdSN - 1: the target takes nothing now');
  });

  it('does not move ExpStatSN back for an old StatSN', () => {
    const w = new CmdWindow();
    w.reset(100, 1, 10);
    w.update(stamp(50, 1, 10), true);
    assert.equal(w.expStatSN, 100);
  });
});

describe('the task table', () => {
  it('re-issues unanswered commands oldest first and drops the immediate PDUs of a lost connection', () => {
    const table = new TaskTable();
    const made: Task[] = [];
    for (let i = 0; i < 4; i++) {
      const t = task({ seq: table.nextSeq() });
      made.push(t);
      table.enqueue(t);
    }
    const sent = [table.dequeue()!, table.dequeue()!, table.dequeue()!];
    for (const t of sent) t.sent = true;
    const ping = task({ seq: table.nextSeq(), rawDone: () => undefined, sent: true });
    table.track(ping);
    assert.equal(new Set([...sent, ping].map((t) => t.itt)).size, 4, 'distinct tags');
    table.take(sent[1]!.itt); // answered
    const dead = table.connectionLost();
    assert.deepEqual(dead, [ping]);
    assert.ok([sent[0]!, sent[2]!].every((t) => !t.sent), 'nothing unanswered counts as sent on the new connection');
    assert.equal(table.reissue(), 2);
    const order: number[] = [];
    for (let t = table.dequeue(); t; t = table.dequeue()) order.push(t.seq);
    assert.deepEqual(order, [made[0]!.seq, made[2]!.seq, made[3]!.seq], 'unanswered first in their order, then the never-sent one');
  });

  it('counts the data its outstanding commands move, so the session can hold back the rest', () => {
    const table = new TaskTable();
    const MiB = 1 << 20;
    const read = task({ seq: table.nextSeq(), readLength: MiB });
    const write = task({ seq: table.nextSeq(), dataOut: Buffer.alloc(3 * MiB) });
    table.enqueue(read);
    table.enqueue(write);
    assert.equal(table.nextBytes, MiB);
    table.dequeue();
    assert.equal(table.nextBytes, 3 * MiB);
    table.dequeue();
    assert.equal(table.nextBytes, undefined);
    assert.equal(table.bytesInFlight, 4 * MiB);
    table.track(task({ seq: table.nextSeq(), rawDone: () => undefined, sent: true }));
    assert.equal(table.bytesInFlight, 4 * MiB, 'a ping moves no data');
    table.take(read.itt);
    assert.equal(table.bytesInFlight, 3 * MiB);
    table.connectionLost();
    assert.equal(table.bytesInFlight, 3 * MiB, 'the unanswered write is still owed');
    table.reissue();
    assert.equal(table.bytesInFlight, 0, 'back in the queue, nothing outstanding');
    table.dequeue();
    assert.equal(table.bytesInFlight, 3 * MiB);
    table.drain();
    assert.equal(table.bytesInFlight, 0);
  });
});
