/**
 * The pieces of the iSCSI wire format both ends share: CRC32C against its published check
 * values, PDU framing (padding, digests, LUN fields) against headers captured between
 * libiscsi and tgtd, text keys, the negotiation result functions, and CHAP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { chapResponse, decodeBinary } from '../../../src/storage/iscsi/chap.js';
import { crc32c, digestBytes } from '../../../src/storage/iscsi/crc32c.js';
import { applyAnswers, defaultParams, respond } from '../../../src/storage/iscsi/negotiation.js';
import { decodeLun, decodeText, encodeLun, encodePdu, encodeText, newBhs, Op, snLess } from '../../../src/storage/iscsi/pdu.js';

describe('iSCSI wire format', () => {
  it('computes CRC32C check values and writes digests least significant byte first', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.deepEqual([...digestBytes(0x8a9136aa)], [0xaa, 0x36, 0x91, 0x8a]);
    const big = createHash('sha512').update('x').digest();
    assert.equal(crc32c(big.subarray(13), crc32c(big.subarray(0, 13))), crc32c(big), 'chains across buffers');
  });

  it('frames a PDU: length without padding, padding to four bytes, digests over header and padded data', () => {
    const bhs = newBhs(Op.TextReq, 0x80, true);
    const data = encodeText([['SendTargets', 'All']]);
    assert.equal(data.length, 16);
    const plain = encodePdu(bhs, Buffer.from('abcde'), { header: false, data: false });
    assert.equal(bhs[0], 0x44, 'Text request with the I bit, as libiscsi sends it');
    assert.equal(bhs.readUIntBE(5, 3), 5);
    assert.equal(Buffer.concat(plain).length, 48 + 8);
    const dig = encodePdu(bhs, Buffer.from('abcde'), { header: true, data: true });
    const wire = Buffer.concat(dig);
    assert.equal(wire.length, 48 + 4 + 8 + 4);
    assert.equal(wire.readUInt32LE(48), crc32c(wire.subarray(0, 48)));
    assert.equal(wire.readUInt32LE(60), crc32c(wire.subarray(52, 60)));
  });

  it('encodes LUN fields as tgtd and libiscsi put them on the wire', () => {
    assert.equal(encodeLun(1).toString('hex'), '0001000000000000');
    assert.equal(encodeLun(300).toString('hex'), '412c000000000000');
    assert.equal(decodeLun(Buffer.from('0001000000000000', 'hex')), 1);
    assert.equal(decodeLun(Buffer.from('412c000000000000', 'hex')), 300);
    assert.equal(decodeLun(Buffer.from('0001000000000001', 'hex')), -1);
  });

  it('compares sequence numbers with serial arithmetic', () => {
    assert.ok(snLess(1, 2));
    assert.ok(snLess(0xffffffff, 0));
    assert.ok(!snLess(5, 5));
    assert.ok(!snLess(0, 0xffffffff));
  });

  it('decodes a SendTargets answer captured from tgtd', () => {
    const seg = Buffer.from('TargetName=iqn.2024-01.test.local:tgt1\0TargetAddress=127.0.0.1:3262,1\0');
    assert.deepEqual(decodeText(seg), [['TargetName', 'iqn.2024-01.test.local:tgt1'], ['TargetAddress', '127.0.0.1:3262,1']]);
    assert.throws(() => decodeText(Buffer.from('novalue\0')));
  });

  it('negotiates as RFC 7143 says: min, OR, AND, list; MaxRecvDataSegmentLength is declared per side', () => {
    // libiscsi's offer against tgtd-like wishes
    const offer = decodeText(Buffer.from('HeaderDigest=None\0DataDigest=None\0InitialR2T=No\0ImmediateData=Yes\0MaxBurstLength=262144\0FirstBurstLength=262144\0DefaultTime2Wait=2\0DefaultTime2Retain=0\0MaxOutstandingR2T=1\0ErrorRecoveryLevel=0\0IFMarker=No\0OFMarker=No\0MaxConnections=1\0MaxRecvDataSegmentLength=262144\0DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0'));
    const wishes = defaultParams();
    const result = defaultParams();
    const answer = new Map(respond(offer, wishes, result));
    assert.equal(answer.get('InitialR2T'), 'Yes');
    assert.equal(answer.get('FirstBurstLength'), '65536');
    assert.equal(answer.get('IFMarker'), 'No');
    assert.equal(answer.has('MaxRecvDataSegmentLength'), false, 'declarations are not answered');
    assert.equal(result.peerMaxRecv, 262144);
    assert.equal(result.initialR2T, true);
    // the proposer side refuses an answer above its offer
    const mine = defaultParams();
    assert.throws(() => applyAnswers([['MaxBurstLength', '999999']], mine, defaultParams()));
    const got = defaultParams();
    applyAnswers([['HeaderDigest', 'None'], ['MaxRecvDataSegmentLength', '8192']], { ...mine, headerDigest: true }, got);
    assert.equal(got.headerDigest, false);
    assert.equal(got.peerMaxRecv, 8192);
    const crc = defaultParams();
    respond([['HeaderDigest', 'CRC32C,None']], { ...defaultParams(), headerDigest: true }, crc);
    assert.equal(crc.headerDigest, true);
  });

  it('answers CHAP as MD5(identifier, secret, challenge) and reads hex in either case and base64', () => {
    const challenge = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
    const expect = createHash('md5').update(Buffer.from([7])).update('secret').update(challenge).digest();
    assert.deepEqual(chapResponse(7, 'secret', challenge), expect);
    assert.deepEqual(decodeBinary('0xABcd'), Buffer.from([0xab, 0xcd]));
    assert.deepEqual(decodeBinary('0bq80='), Buffer.from([0xab, 0xcd]));
    assert.throws(() => decodeBinary('abcd'));
  });
});
