import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSkillFile, readSkillsFolder } from '../contract/skills/catalog';
import { SKILLS, skillFile, skillsFolder } from './helpers';

describe('skills folder', () => {
  it('indexes the example skills with their metadata and other files', () => {
    const index = readSkillsFolder(SKILLS);
    assert.deepEqual(index.skills.map((s) => s.name), ['refund-requests', 'ticket-triage', 'troubleshooting']);
    const refunds = index.skills[0]!;
    assert.deepEqual(refunds.allowedTools, ['lookup_order']);
    assert.deepEqual(refunds.files, ['references/policy.md']);
    assert.equal(refunds.metadata?.owner, 'finance-ops');
    assert.match(refunds.description, /refund request/);
    const troubleshooting = index.skills[2]!;
    assert.deepEqual([troubleshooting.allowedTools, troubleshooting.files], [['service_status', 'create_ticket'], ['references/checks.md']]);
  });

  it('splits a SKILL.md into front matter and the body the runtime serves', () => {
    const { data, body } = parseSkillFile(skillFile('x'));
    assert.equal((data as { name: string }).name, 'x');
    assert.match(body, /^\n# x/);
  });

  it('ignores hidden folders and loose files beside the skills', () => {
    const dir = skillsFolder({ 'a/SKILL.md': skillFile('a'), '.git/config': '', 'README.md': 'about' });
    assert.deepEqual(readSkillsFolder(dir).skills.map((s) => s.name), ['a']);
  });
});
