import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, contentDigest } from '../../contract/digest/content';
import { idempotencyKeyFor } from '../../functions/core/tools/executor';

describe('content digests', () => {
  it('write the same value the same way whatever order its keys came in', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"y":0,"z":1}]},"b":1}');
    assert.equal(canonicalJson({ a: undefined, b: new Date(0) }), '{"b":"1970-01-01T00:00:00.000Z"}');
  });

  it('keep array order and part boundaries meaningful', () => {
    assert.notEqual(contentDigest([1, 2]), contentDigest([2, 1]));
    assert.notEqual(contentDigest('a', 'bc'), contentDigest('ab', 'c'));
    assert.notEqual(contentDigest('run', 'tool', undefined), contentDigest('run', 'tool', null));
  });

  it('give a write tool one key per run, tool and input', () => {
    const key = idempotencyKeyFor('job-1', 'create_ticket', { title: 'Printer', tags: ['a', 'b'], priority: 2 });
    assert.equal(key, idempotencyKeyFor('job-1', 'create_ticket', { priority: 2, tags: ['a', 'b'], title: 'Printer' }));
    assert.notEqual(key, idempotencyKeyFor('job-2', 'create_ticket', { priority: 2, tags: ['a', 'b'], title: 'Printer' }));
    assert.notEqual(key, idempotencyKeyFor('job-1', 'update_ticket', { priority: 2, tags: ['a', 'b'], title: 'Printer' }));
    assert.notEqual(key, idempotencyKeyFor('job-1', 'create_ticket', { priority: 3, tags: ['a', 'b'], title: 'Printer' }));
  });
});
