// The dev console: Preact with htm templates, loaded as ES modules with no build step, reading the
// dev server's own routes (GET /agents, /dev/runs, /dev/dead-letters) and calling the API's.
import { h, render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const LOAD_SKILL = new Set(['load_skill', 'read_skill_file']);

async function api(method, path, body) {
  const response = await fetch(path, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: response.status, body: await response.json() };
}

const usd = (n) => `$${(n ?? 0).toFixed(6)}`;
const json = (v) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

function App() {
  const [agents, setAgents] = useState([]);
  const [selected, setSelected] = useState(undefined);
  const [runs, setRuns] = useState([]);
  const [runId, setRunId] = useState(undefined);
  const [deadLetters, setDeadLetters] = useState([]);
  const [approvals, setApprovals] = useState([]);
  const [jobs, setJobs] = useState([]);

  const refresh = useCallback(async () => {
    const [a, r, d, w, j] = await Promise.all([api('GET', '/agents'), api('GET', '/dev/runs'), api('GET', '/dev/dead-letters'), api('GET', '/dev/approvals'), api('GET', '/dev/jobs')]);
    setJobs(j.body.jobs);
    setAgents(a.body.agents);
    setRuns(r.body.runs);
    setDeadLetters(d.body.deadLetters);
    setApprovals(w.body.approvals);
  }, []);

  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 1000);
    return () => clearInterval(timer);
  }, [refresh]);

  const agent = agents.find((a) => a.name === (selected ?? agents[0]?.name));
  return html`
    <header><h1>serverless-agents</h1><span>dev console · ${agents.length} agent(s) · the deployed API's routes on this machine</span></header>
    <main>
      <div>
        <section><h2>Agents</h2><${AgentList} agents=${agents} selected=${agent?.name} onSelect=${setSelected} /></section>
        <section><h2>Dead letters</h2><${DeadLetters} letters=${deadLetters} onRedrive=${async (id) => { await api('POST', `/dev/dead-letters/${encodeURIComponent(id)}/redrive`); refresh(); }} /></section>
      </div>
      <div>
        ${agent ? html`<${AgentPanel} agent=${agent} onRun=${(id) => { setRunId(id); refresh(); }} />` : html`<section class="empty">No agents</section>`}
        <section><h2>Run</h2><${Run} runId=${runId} runs=${runs} onSelect=${setRunId} /></section>
      </div>
      <div>
        <section><h2>Waiting for approval</h2><${Approvals} approvals=${approvals} onDecide=${async (a, decision) => { await api('POST', `/agents/${a.agent}/jobs/${encodeURIComponent(a.jobId)}/approvals`, { decision, callId: a.callId }); refresh(); }} /></section>
        <section><h2>Jobs</h2><${Jobs} jobs=${jobs} onSelect=${setRunId} /></section>
        <section><h2>Runs</h2><${Runs} runs=${runs} selected=${runId} onSelect=${setRunId} /></section>
      </div>
    </main>`;
}

function AgentList({ agents, selected, onSelect }) {
  return html`<ul class="list" data-testid="agents">
    ${agents.map((a) => html`<li class=${a.name === selected ? 'selected' : ''} onClick=${() => onSelect(a.name)} data-agent=${a.name}>
      <div class="name">${a.name}</div>
      <div class="meta">${a.cohort} · ${a.triggers.join(', ')}</div>
      <div class="meta" title=${a.mode}>${a.mode.startsWith('replaying') ? 'offline: replaying its transcript' : a.mode.startsWith('no model') ? 'no model: no credentials, no transcript' : a.mode}</div>
    </li>`)}
  </ul>`;
}

function AgentPanel({ agent, onRun }) {
  const [input, setInput] = useState('');
  const [answer, setAnswer] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const takes = (t) => agent.triggers.includes(t);
  async function send(route) {
    setBusy(true);
    try {
      const reply = await api('POST', `/agents/${agent.name}/${route}`, { input });
      setAnswer({ route, ...reply });
      // A job's run id is its job id.
      const id = reply.body.runId ?? reply.body.jobId;
      if (id) onRun(id);
    } finally {
      setBusy(false);
    }
  }
  return html`<section data-testid="agent">
    <h2>${agent.name}</h2>
    <div>${agent.description}</div>
    <div class="meta">route: ${agent.route.join(' → ')} · version ${agent.version}</div>
    <div class="meta">${agent.routes.join(' · ')}</div>
    <div>${agent.tools.map((t) => html`<span class="badge" title=${t.description}>${t.kind}: ${t.name}</span>`)}${agent.skills.map((s) => html`<span class="badge">skill: ${s}</span>`)}</div>
    <textarea data-testid="input" placeholder="Ask ${agent.name}…" value=${input} onInput=${(e) => setInput(e.currentTarget.value)}></textarea>
    <div>
      ${takes('api') && html`<button data-testid="invoke" disabled=${busy || !input} onClick=${() => send('invocations')}>Run</button>`}
      ${takes('job') && html`<button class="secondary" disabled=${busy || !input} onClick=${() => send('jobs')}>Queue as a job</button>`}
      ${agent.triggers.filter((t) => t === 'schedule').length > 0 && html`<button class="secondary" onClick=${() => api('POST', `/dev/agents/${agent.name}/schedules/0`)}>Fire its schedule</button>`}
    </div>
    ${answer && html`<div class="answer" data-testid="answer">
      <span class=${`badge ${answer.status < 300 ? 'ok' : 'bad'}`}>${answer.status}</span>
      ${answer.body.stopReason && html`<span class="badge">${answer.body.stopReason}</span>`}
      <pre>${answer.body.structuredOutput !== undefined ? json(answer.body.structuredOutput) : answer.body.output ?? json(answer.body)}</pre>
    </div>`}
  </section>`;
}

function Jobs({ jobs, onSelect }) {
  if (!jobs.length) return html`<div class="empty" data-testid="jobs">No jobs yet</div>`;
  return html`<table data-testid="jobs"><tbody>
    ${jobs.map((j) => html`<tr onClick=${() => onSelect(j.jobId)} style="cursor:pointer">
      <td><span class="name">${j.agent}</span><div class="meta">${j.jobId}</div></td>
      <td><span class=${`badge ${j.status}`}>${j.status}</span>${j.deliveries ? html`<div class="meta">${j.deliveries} ${j.deliveries === 1 ? "delivery" : "deliveries"}</div>` : "" }</td>
    </tr>`)}
  </tbody></table>`;
}

function Runs({ runs, selected, onSelect }) {
  if (!runs.length) return html`<div class="empty">No runs yet</div>`;
  return html`<table data-testid="runs"><tbody>
    ${runs.map((r) => html`<tr class=${r.runId === selected ? 'selected' : ''} onClick=${() => onSelect(r.runId)} style="cursor:pointer">
      <td><span class="name">${r.agent}</span><div class="meta">${r.trigger} · ${new Date(r.startedAt).toLocaleTimeString()}</div></td>
      <td><span class=${`badge ${r.outcome}`}>${r.outcome}</span></td>
      <td class="meta">${r.steps} step(s)<br/>${usd(r.costUsd)}</td>
    </tr>`)}
  </tbody></table>`;
}

function Run({ runId, runs, onSelect }) {
  const [records, setRecords] = useState([]);
  const [saved, setSaved] = useState(undefined);
  useEffect(() => setSaved(undefined), [runId]);
  useEffect(() => {
    if (!runId) return;
    api('GET', `/dev/runs/${encodeURIComponent(runId)}`).then((r) => setRecords(r.body.records ?? []));
  }, [runId, runs.length]);
  if (!runId) return html`<div class="empty">Run an agent, or pick a run</div>`;
  const run = [...records].reverse().find((r) => r.type === 'run');
  const steps = records.filter((r) => r.type === 'step' && (!run || r.attempt === run.attempt));
  // The chain in order: by hop, then by start.
  const chain = run ? runs.filter((r) => r.correlationId === run.correlationId).sort((a, b) => (a.hop ?? 0) - (b.hop ?? 0) || a.startedAt.localeCompare(b.startedAt)) : [];
  return html`<div data-testid="timeline">
    ${run && html`<div class="meta">${run.agent} · run ${run.runId} · ${run.trigger} · ${run.durationMs} ms · ${usd(run.costUsd)}
      <button class="secondary" data-testid="save" onClick=${async () => setSaved((await api('POST', `/dev/runs/${encodeURIComponent(run.runId)}/transcript`)).body)}>Save as transcript</button></div>`}
    ${saved && html`<div class="meta" data-testid="saved">${saved.path ? `saved: ${saved.path} (replay: npm run agent -- --transcript ${saved.path} …)` : saved.message}</div>`}
    ${chain.length > 1 && html`<table class="chain" data-testid="chain"><tbody>
      ${chain.map((c) => html`<tr>
        <td>${c.hop ? `${'→ '.repeat(c.hop)}${c.kind} from ${c.parentAgent}` : 'started the chain'}</td>
        <td><a href="#" onClick=${(e) => { e.preventDefault(); onSelect(c.runId); }}>${c.agent}</a></td>
        <td><span class=${`badge ${c.outcome}`}>${c.outcome}</span></td>
        <td class="meta">${c.output.slice(0, 120)}</td>
      </tr>`)}
    </tbody></table>`}
    <div class="timeline">
      ${steps.map((s) => html`<${Step} step=${s} />`)}
      ${run && html`<div class="event stop" data-testid="stop"><span class="what">Stop: ${run.stopReason}</span> <span class=${`badge ${run.outcome}`}>${run.outcome}</span>
        ${run.error && html`<pre>${run.error}</pre>`}
        ${(run.children ?? []).map((c) => html`<div class="meta">sent ${c.agent} (${c.kind}): ${c.status}</div>`)}</div>`}
    </div>
  </div>`;
}

function Step({ step }) {
  const failed = step.attempts.filter((a) => a.outcome !== 'ok');
  return html`<div>
    <div class="event model" data-testid="model-step">
      <span class="what">Model turn ${step.step}</span> · ${step.provider}/${step.model} · ${step.durationMs} ms · in ${step.usage.inputTokens} out ${step.usage.outputTokens} · ${usd(step.costUsd)}
      ${failed.map((a) => html`<div class="meta"><span class="badge error">${a.outcome}</span> ${a.provider}/${a.model} #${a.attempt} ${a.errorKind ?? ''} ${a.message ?? ''}</div>`)}
    </div>
    ${step.toolCalls.map((c) => html`<div class=${`event ${LOAD_SKILL.has(c.name) ? 'skill' : 'tool'}`} data-testid=${LOAD_SKILL.has(c.name) ? 'skill' : 'tool'}>
      <span class="what">${LOAD_SKILL.has(c.name) ? `Skill: ${c.input?.name ?? ''}` : `Tool: ${c.name}`}</span> <span class=${`badge ${c.status}`}>${c.status}</span> <span class="meta">${Math.round(c.durationMs)} ms</span>
      ${c.approval && html` <span class=${`badge ${c.approval.decision === 'approved' ? 'ok' : 'bad'}`} data-testid="decision">${c.approval.decision}${c.approval.by ? ` by ${c.approval.by}` : ''}</span>`}
      <pre>${json(c.input)}</pre><${Long} text=${c.content} />
    </div>`)}
    ${step.validation && html`<div class="event validation" data-testid="validation"><span class="what">Validation</span> <span class=${`badge ${step.validation.ok ? 'ok' : 'bad'}`}>${step.validation.ok ? 'passed' : 'failed'}</span>
      ${step.validation.problems.map((p) => html`<div class="meta">${p.kind} ${p.path}: ${p.message}</div>`)}</div>`}
  </div>`;
}

/** A tool's output: shown whole when short, folded when long (a skill's instructions). */
function Long({ text }) {
  if (text.length <= 400) return html`<pre>${text}</pre>`;
  return html`<details><summary class="meta">output, ${text.length} characters</summary><pre>${text}</pre></details>`;
}

function Approvals({ approvals, onDecide }) {
  if (!approvals.length) return html`<div class="empty" data-testid="approvals">None</div>`;
  return html`<ul class="list" data-testid="approvals">${approvals.map((a) => html`<li>
    <div class="name">${a.agent} · ${a.tool}</div>
    <div class="meta">job ${a.jobId} · approvers ${a.approvers.join(', ')} · until ${new Date(a.expiresAt).toLocaleString()}</div>
    <pre>${json(a.input)}</pre>
    <button data-testid="approve" onClick=${() => onDecide(a, 'approve')}>Approve</button><button class="secondary" data-testid="reject" onClick=${() => onDecide(a, 'reject')}>Reject</button>
  </li>`)}</ul>`;
}

function DeadLetters({ letters, onRedrive }) {
  if (!letters.length) return html`<div class="empty" data-testid="dead-letters">None</div>`;
  return html`<ul class="list" data-testid="dead-letters">${letters.map((l) => html`<li>
    <div class="name">${l.agent} · ${l.run.trigger} ${l.run.jobId ?? l.run.runId}</div>
    <div class="meta">${l.deliveries} deliveries · ${l.error}</div>
    <button class="secondary" onClick=${() => onRedrive(l.id)}>Redrive</button>
  </li>`)}</ul>`;
}

render(html`<${App} />`, document.getElementById('app'));
