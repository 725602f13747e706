#!/usr/bin/env node
// Makes the facts-only extract of the XenAPI datamodel reference that the conformance
// tests read (test/datamodel/fixtures/xenapi-facts.json): class, field, message, parameter,
// enum and error names, types, qualifiers, defaults, roles and lifecycle states (with the
// release that removed an element), and
// nothing else (no descriptions or documentation text). The reference itself is xapi's
// published datamodel dump (xenapi.json, from the xen-api repository's doc/data/); its
// path is the first argument, so the repository needs it only when the extract is remade.
//
//   node scripts/extract-xenapi-facts.mjs PATH/TO/xenapi.json [OUT] [--source TEXT]
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const args = process.argv.slice(2);
const sourceAt = args.indexOf('--source');
const source = sourceAt >= 0 ? args.splice(sourceAt, 2)[1] : undefined;
const [input, out = 'test/datamodel/fixtures/xenapi-facts.json'] = args;
if (!input) {
  console.error('usage: extract-xenapi-facts.mjs PATH/TO/xenapi.json [OUT] [--source "where it came from"]');
  process.exit(2);
}

const raw = readFileSync(input);
const ref = JSON.parse(raw.toString('utf8'));
// The release that removed an element is kept: Islet presents itself as XenServer 6.0.2, which
// still had what later releases removed.
const state = (x) => {
  const removedIn = x.lifecycle?.transitions?.find((t) => t.transition === 'removed')?.release;
  return { state: x.lifecycle?.state ?? '', ...(removedIn ? { removedIn } : {}) };
};

const classes = ref.map((c) => ({
  name: c.name,
  lifecycle: state(c),
  fields: c.fields.map((f) => ({
    name: f.name,
    type: f.type,
    qualifier: f.qualifier,
    ...(f.default !== undefined ? { default: f.default } : {}),
    lifecycle: state(f),
  })),
  messages: c.messages.map((m) => ({
    name: m.name,
    params: m.params.map((p) => ({ name: p.name, type: p.type })),
    result: [m.result[0]],
    errors: m.errors.map((e) => ({ name: e.name })),
    roles: m.roles,
    implicit: m.implicit,
    lifecycle: state(m),
  })),
  enums: c.enums.map((e) => ({ name: e.name, values: e.values.map((v) => ({ name: v.name })) })),
}));

const provenance = {
  what: 'Facts-only extract of the XenAPI datamodel (names, types, qualifiers, defaults, roles, errors, lifecycle states; no descriptions)',
  reference: source ?? `xapi's published datamodel dump (${basename(input)})`,
  referenceSha256: createHash('sha256').update(raw).digest('hex'),
  generator: 'scripts/extract-xenapi-facts.mjs',
};

// One class per line keeps the file diffable when the reference moves on.
const body = classes.map((c) => `  ${JSON.stringify(c)}`).join(',\n');
writeFileSync(out, `{\n"provenance": ${JSON.stringify(provenance, null, 2)},\n"classes": [\n${body}\n]\n}\n`);
console.log(`${out}: ${classes.length} classes, ${classes.reduce((n, c) => n + c.messages.length, 0)} messages, from ${input}`);
