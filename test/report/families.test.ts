// The check families of the CI formats: every check of the catalogue is in
// exactly one family, and every family exists.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHECKS, type CheckId } from '../../src/engine/catalogue.js';
import { FAMILIES, FAMILY_OF, familyOf } from '../../src/report/families.js';

test('every check is in exactly one family, and every family has a check', () => {
  const checks = Object.keys(CHECKS).sort();
  assert.deepEqual(Object.keys(FAMILY_OF).sort(), checks, 'the table names each check once, and no other');
  const ids = FAMILIES.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length, 'family ids are unique');
  for (const c of checks) assert.ok(ids.includes(familyOf(c as CheckId)), `${c}: a known family`);
  for (const id of ids) assert.ok(Object.values(FAMILY_OF).includes(id), `${id} has a check`);
});

test('families a kernel developer recognises', () => {
  assert.equal(familyOf('unmap-size-mismatch'), 'unmap');
  assert.equal(familyOf('sync-sg-count-mismatch'), 'sg');
  assert.equal(familyOf('cacheline-overlap'), 'cacheline');
  assert.equal(familyOf('page-freed-while-mapped'), 'memory');
  assert.equal(familyOf('leak-at-unbind'), 'leak');
  assert.equal(familyOf('free-cpu-address-mismatch'), 'coherent');
});
