// What the cluster and crash tests share: thaw processes started like an operator would (the
// real binary, THAW_BIN), its command line for setup, a platform client (API key) and a staff
// client (session cookie and CSRF token, as a browser holds them), events that make holds, and
// the record of every write thaw acknowledged.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The thaw binary under test (scripts/test sets THAW_BIN). */
export const bin = process.env.THAW_BIN || `${process.env.CARGO_TARGET_DIR || `${os.homedir()}/.cache/thaw/target`}/debug/thaw`;
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const PASSWORD = 'cluster-test-password';

/** A whole number of seconds from the environment, or `fallback`. */
export function envNumber(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  assert.ok(Number.isFinite(n) && n > 0, `${name} must be a positive number, not '${v}'`);
  return n;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The environment for thaw: ours without the THAW_* settings of whoever runs the test. */
export function thawEnv(extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('THAW_')));
  return { ...env, THAW_LOG: 'info,sqlx=warn', ...extra };
}

export function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/** Runs `thaw ARGS` to completion (setup commands: migrate, admin …); returns its stdout. */
export function thawCli(args, env, input) {
  assert.ok(fs.existsSync(bin), `no thaw binary at ${bin} (set THAW_BIN)`);
  return execFileSync(bin, args, { env: thawEnv(env), input, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8' });
}

/**
 * Creates the staff and the API key the tests work with, through the command line an operator
 * uses: a supervisor (works any case), an admin (registers webhooks) and a platform key.
 */
export function provision(env, tag) {
  thawCli(['migrate'], env);
  const staff = {};
  for (const role of ['supervisor', 'admin']) {
    const email = `${role}.${tag}@cluster.example`;
    thawCli(['admin', 'create-staff', '--email', email, '--role', role, '--password-stdin'], env, `${PASSWORD}\n`);
    staff[role] = email;
  }
  const out = thawCli(['admin', 'create-api-key', '--name', `cluster ${tag}`], env).trim().split('\n');
  return { staff, apiKey: out[out.length - 1].trim() };
}

/** A running `thaw serve`: its name, base URL, child process and log files. */
export class Server {
  constructor(name, dir, env) {
    Object.assign(this, { name, dir, env, runs: 0 });
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Starts the process (again, after a kill: the same command, nothing else) and waits for /readyz. */
  async start() {
    await this.launch();
    const started = Date.now();
    let ready = false;
    for (let i = 0; i < 600 && !ready; i++) {
      assert.ok(!exited(this.child), `thaw ${this.name} exited while starting: ${this.logs()}`);
      ready = await fetch(`${this.base}/readyz`).then((r) => r.status === 200, () => false);
      if (!ready) await sleep(100);
    }
    assert.ok(ready, `thaw ${this.name} is ready within a minute: ${this.logs()}`);
    this.readyAfterMs = Date.now() - started;
    return this;
  }

  /** Spawns `thaw serve` without waiting for it. */
  async launch() {
    this.port ??= await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.runs += 1;
    this.out = path.join(this.dir, `thaw.${this.runs}.out`);
    this.err = path.join(this.dir, `thaw.${this.runs}.err`);
    this.child = spawn(bin, ['serve', '--listen', `127.0.0.1:${this.port}`], {
      cwd: this.dir,
      env: thawEnv(this.env),
      stdio: ['ignore', fs.openSync(this.out, 'w'), fs.openSync(this.err, 'w')],
    });
    this.exit = new Promise((r) => this.child.once('exit', r));
  }

  get alive() {
    return this.child && !exited(this.child);
  }

  logs(lines = 30) {
    return `\n--- thaw ${this.name} ${this.err} ---\n${tail(this.err, lines)}${tail(this.out, lines)}`;
  }

  /** Waits until the process's log says `pattern` (e.g. that it listens on PostgreSQL). */
  async logged(pattern, ms = 10_000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (pattern.test(`${tail(this.err, 2000)}${tail(this.out, 2000)}`)) return;
      await sleep(100);
    }
    assert.fail(`thaw ${this.name} never logged ${pattern}: ${this.logs()}`);
  }

  /** SIGKILL: no shutdown, no flushing, transactions in flight cut off. */
  async kill() {
    this.child.kill('SIGKILL');
    await this.exit;
  }

  /** SIGTERM, then SIGKILL after ten seconds. */
  async stop() {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    await Promise.race([this.exit, sleep(10_000)]);
    if (this.alive) await this.kill();
  }
}

// ------------------------------------------------------------------ HTTP clients

/** fetch that never hangs a test and turns a refused or cut connection into `{ status: 0 }`. */
export async function request(url, init = {}) {
  const started = performance.now();
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(30_000), ...init });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: a page or a redirect
    }
    return { status: res.status, headers: res.headers, text, json, ms: performance.now() - started };
  } catch (e) {
    return { status: 0, error: String(e.cause?.code || e.cause || e) };
  }
}

/** "p50 / p99 ms" of a list of durations. */
export function percentiles(ms) {
  if (ms.length === 0) return 'none';
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(0);
  return `${at(0.5)} / ${at(0.99)} ms`;
}

/** The platform: JSON calls with its API key. */
export function platform(apiKey) {
  return (base, method, p, body) => request(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A staff member's browser: the session cookie and the CSRF token of its forms. */
export class StaffBrowser {
  constructor(email) {
    this.email = email;
    this.cookies = new Map();
    this.latencies = []; // of the desk actions on cases answered
  }

  get cookie() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(res) {
    for (const c of res.headers?.getSetCookie?.() || []) {
      const [pair] = c.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }

  async page(base, p) {
    const res = await request(`${base}${p}`, { headers: { cookie: this.cookie } });
    this.keep(res);
    return res;
  }

  /** Posts a form of the desk; answers 303 to where the desk goes next. */
  async form(base, p, fields) {
    const res = await request(`${base}${p}`, {
      method: 'POST',
      headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: this.csrf || '', ...fields }).toString(),
    });
    this.keep(res);
    return res;
  }

  /** Signs in through `base`'s sign-in page; the session then works on every process. */
  async signIn(base) {
    this.csrf = csrfIn((await this.page(base, '/desk/sign-in')).text);
    const res = await this.form(base, '/desk/sign-in', { email: this.email, password: PASSWORD, next: '/desk' });
    assert.equal(res.status, 303, `${this.email} signs in: ${res.status} ${res.text?.slice(0, 300)}`);
    this.csrf = csrfIn((await this.page(base, '/desk')).text);
    return this;
  }

  /** A JSON API call with the session (writes carry the CSRF token as a header). */
  api(base, method, p, body) {
    return request(`${base}${p}`, {
      method,
      headers: { cookie: this.cookie, 'x-csrf-token': this.csrf, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /**
   * A desk action on a case (a reply, a note, a status): 'done' when the desk went back to the
   * case with its notice, 'refused' when it came back refused (nothing changed), 'unknown' when
   * no answer came (the process died): the change may or may not have been saved.
   */
  async caseAction(base, number, action, fields) {
    const res = await this.form(base, `/desk/cases/${number}/${action}`, fields);
    if (res.ms !== undefined) this.latencies.push(res.ms);
    const where = res.headers?.get('location') || '';
    if (res.status === 303 && /[?&]notice=/.test(where)) return 'done';
    if (res.status === 303 && /[?&]refused=/.test(where)) return 'refused';
    if (res.status === 0 || res.status >= 500) return 'unknown';
    assert.fail(`${action} on ${number} through ${base}: ${res.status} ${where} ${res.text?.slice(0, 300)}`);
  }

  /**
   * Follows the desk's server-sent events on `base`: `changes` collects {at, caseId} until
   * `close()`.
   */
  follow(base) {
    const changes = [];
    const abort = new AbortController();
    const opened = fetch(`${base}/desk/live`, { headers: { cookie: this.cookie }, signal: abort.signal }).then(async (res) => {
      assert.equal(res.status, 200, 'the desk event stream opens');
      assert.match(res.headers.get('content-type') || '', /^text\/event-stream/);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            buffer += decoder.decode(value, { stream: true });
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = block.split('\n').find((l) => l.startsWith('data:'));
              if (/^event: ?change$/m.test(block) && data) changes.push({ at: Date.now(), caseId: data.slice(5).trim() });
            }
          }
        } catch {
          // closed
        }
      })();
    });
    return {
      opened,
      changes,
      close: () => abort.abort(),
      /** Waits until a change of `caseId` arrives after `since`. */
      async sees(caseId, since, what) {
        const until = Date.now() + 10_000;
        while (Date.now() < until) {
          if (changes.some((c) => c.caseId === caseId && c.at >= since)) return;
          await sleep(50);
        }
        assert.fail(`${what}: no change of ${caseId} on the event stream of ${base} within 10 s`);
      },
    };
  }
}

export function csrfIn(html) {
  const m = /name="csrf" value="([^"]+)"/.exec(html || '');
  assert.ok(m, `a CSRF token in the page: ${(html || '').slice(0, 300)}`);
  return m[1];
}

// ------------------------------------------------------------------ events

/** An address on the OFAC list shipped with thaw (data/ofac): a withdrawal to it is held. */
export const SANCTIONED_ETH = fs.readFileSync(path.join(ROOT, 'data/ofac/sanctioned_addresses_ETH.txt'), 'utf8')
  .split('\n').map((l) => l.trim()).find(Boolean);

const iso = (ms) => new Date(ms).toISOString();
const pick = (list) => list[crypto.randomInt(list.length)];
const SHANGHAI = { country: 'CN', city: 'Shanghai', lat: 31.2304, lon: 121.4737 };
const FRANKFURT = { country: 'DE', city: 'Frankfurt', lat: 50.1109, lon: 8.6821 };

/** How many accounts a run's events and cases spread over. */
export const ACCOUNTS = 200;

/** The platform's copies of the run's accounts (cases are opened only for known accounts). */
export async function createAccounts(call, base, prefix, extra = []) {
  const ids = [...Array.from({ length: ACCOUNTS }, (_, i) => `${prefix}-u${i}`), ...extra];
  for (let i = 0; i < ids.length; i += 20) {
    await Promise.all(ids.slice(i, i + 20).map(async (id) => {
      const res = await call(base, 'PUT', `/api/v1/accounts/${id}`, { locale: 'en', kyc_level: 2, created_at: '2024-03-01T08:00:00Z' });
      assert.equal(res.status, 201, `account ${id} is created: ${res.text}`);
    }));
  }
}

/**
 * Makes the platform's events for a run: unique ids under `prefix`, accounts from a pool, in
 * sequences that the shipped default policy answers with allows, holds and challenges.
 */
export function eventMaker(prefix, accounts = ACCOUNTS) {
  let n = 0;
  const id = () => `${prefix}-e${++n}`;
  const account = () => `${prefix}-u${crypto.randomInt(accounts)}`;
  const login = (acct, at, geo, ip) => ({ id: id(), account_id: acct, kind: 'login_succeeded', occurred_at: iso(at), ip, device_id: `dev-${acct}`, geo });
  return {
    /** One sequence of events of one account, to be sent in order. */
    sequence() {
      const now = Date.now();
      const acct = account();
      switch (crypto.randomInt(6)) {
        case 0: // an impossible-travel takeover: a hold on trading and withdrawals
          return [login(acct, now - 30 * 60_000, SHANGHAI, '101.80.1.1'), login(acct, now - 5 * 60_000, FRANKFURT, '46.4.1.1')];
        case 1: // a withdrawal to a sanctioned address: a compliance hold and, later, a case
          return [{ id: id(), account_id: acct, kind: 'withdrawal_requested', occurred_at: iso(now), amount: '1.5', asset: 'ETH', address: SANCTIONED_ETH, network: 'ETH' }];
        case 2: // a large withdrawal: held for an agent, and a case is opened for it
          return [{ id: id(), account_id: acct, kind: 'withdrawal_requested', occurred_at: iso(now), amount: '60000', asset: 'USDT', address: `0x${crypto.randomBytes(20).toString('hex')}`, network: 'ETH' }];
        case 3: // a risky device
          return [{ id: id(), account_id: acct, kind: 'device_flagged', occurred_at: iso(now), device_id: `dev-${acct}`, flags: [pick(['root', 'emulator', 'tor'])] }];
        default: // ordinary business
          return [
            login(acct, now - 60_000, SHANGHAI, '101.80.1.1'),
            { id: id(), account_id: acct, kind: 'deposit', occurred_at: iso(now), amount: String(10 + crypto.randomInt(900)), asset: 'USDT' },
            { id: id(), account_id: acct, kind: 'trade', occurred_at: iso(now), amount: String(1 + crypto.randomInt(90)), asset: 'USDT' },
          ];
      }
    },
    get sent() {
      return n;
    },
  };
}

// ------------------------------------------------------------------ what was acknowledged

/**
 * Every write thaw answered, and those whose answer never came (the process died): the tests
 * check the former are all stored and re-send the latter.
 */
export class Ledger {
  constructor() {
    this.events = new Map(); // id → { body, decision } for every 2xx answer
    this.unanswered = new Map(); // id → body, no answer (connection cut)
    this.cases = new Map(); // number → { id, certain, status, replies: [] }
    this.counts = { eventRequests: 0, batches: 0, sentTwice: 0, resent: 0, replayed: 0, caseActions: 0, refused: 0, unknownCaseActions: 0 };
    this.latencies = { event: [], batch: [], caseOpened: [] }; // of the requests answered
  }

  /** Sends `events` to `base`, one by one or as a batch, and records what was answered. */
  async send(call, base, events, asBatch) {
    if (asBatch) {
      this.counts.batches += 1;
      const res = await call(base, 'POST', '/api/v1/events/batch', { events });
      if (res.status === 200) {
        this.latencies.batch.push(res.ms);
        res.json.results.forEach((r, i) => this.answered(events[i], r.status, r.decision));
      } else {
        this.noAnswer(events, res);
      }
      return;
    }
    for (const e of events) {
      this.counts.eventRequests += 1;
      const res = await call(base, 'POST', '/api/v1/events', e);
      if (res.status === 200) {
        this.latencies.event.push(res.ms);
        this.answered(e, 200, res.json);
      } else {
        this.noAnswer([e], res);
      }
    }
  }

  answered(e, status, decision) {
    assert.equal(status, 200, `event ${e.id} is decided: ${JSON.stringify(decision)}`);
    assert.equal(decision.event_id, e.id);
    const before = this.events.get(e.id);
    if (before) assert.deepEqual(decision, before.decision, `event ${e.id} answered again gets the same decision`);
    this.events.set(e.id, { body: e, decision });
    this.unanswered.delete(e.id);
  }

  /**
   * The platform re-sends, one by one, what went unanswered: each must be decided now (once:
   * an event stored before its process died is replayed). Returns how many were re-sent and
   * replayed.
   */
  async resend(call, base) {
    const events = [...this.unanswered.values()];
    let replayed = 0;
    for (const e of events) {
      const res = await call(base, 'POST', '/api/v1/events', e);
      assert.equal(res.status, 200, `event ${e.id} re-sent: ${res.text}`);
      if (res.headers.get('idempotent-replayed') === 'true') replayed += 1;
      this.answered(e, 200, res.json);
    }
    this.counts.resent += events.length;
    this.counts.replayed += replayed;
  }

  noAnswer(events, res) {
    // Only a cut connection (status 0) or a process failing may go unanswered; anything else is
    // a refusal the test did not expect.
    assert.ok(res.status === 0 || res.status >= 502, `events refused: ${res.status} ${res.text?.slice(0, 300)}`);
    for (const e of events) if (!this.events.has(e.id)) this.unanswered.set(e.id, e);
  }

  /** p50 / p99 of the answered requests of each kind, and of `desk`'s actions. */
  latencyReport(desk) {
    const l = this.latencies;
    return `latency p50 / p99: event ${percentiles(l.event)}, batch ${percentiles(l.batch)}, case opened ${percentiles(l.caseOpened)}, desk action ${percentiles(desk.latencies)}`;
  }

  /** A desk action's outcome on a case of this run. */
  caseAction(number, outcome, change) {
    this.counts.caseActions += 1;
    const c = this.cases.get(number);
    if (outcome === 'done') change(c);
    if (outcome === 'refused') this.counts.refused += 1;
    if (outcome === 'unknown') {
      this.counts.unknownCaseActions += 1;
      c.certain = false;
    }
  }
}

/**
 * Checks the database against the ledger through `query` (SQL → rows of text columns): every
 * answered event stored once with the decision answered, every answered hold stored, every
 * acknowledged case, message and status there. Returns figures for the report.
 */
export async function assertStored(ledger, query, run) {
  const stored = new Map((await query(
    `SELECT e.id, e.decision_id, e.decision, (SELECT COUNT(*) FROM events x WHERE x.id = e.id AND x.action <> '')
     FROM events e WHERE e.id LIKE '${run}-%'`,
  )).map(([id, decisionId, body, n]) => [id, { decisionId, body, n: Number(n) }]));
  assert.equal(stored.size, ledger.events.size, 'as many events stored as were sent (every one answered in the end)');
  const actions = {};
  const answeredHolds = new Set();
  for (const [id, { decision }] of ledger.events) {
    const s = stored.get(id);
    assert.ok(s, `answered event ${id} is stored`);
    assert.equal(s.n, 1, `event ${id} has exactly one decision`);
    assert.equal(s.decisionId, decision.id, `event ${id}: the stored decision is the one answered`);
    assert.deepEqual(JSON.parse(s.body), decision, `event ${id}: the stored decision is the answer`);
    actions[decision.action] = (actions[decision.action] || 0) + 1;
    for (const h of decision.holds) answeredHolds.add(h.id);
  }
  assert.ok(actions.hold > 0 && actions.allow > 0, `the load made holds and allowed events: ${JSON.stringify(actions)}`);
  const storedHolds = new Set((await query(`SELECT id FROM holds WHERE account_id LIKE '${run}-%'`)).map(([id]) => id));
  for (const h of answeredHolds) assert.ok(storedHolds.has(h), `answered hold ${h} is stored`);

  const statuses = new Map((await query('SELECT id, status FROM cases')).map(([id, status]) => [id, status]));
  const messages = new Map();
  for (const [caseId, body] of await query('SELECT case_id, body FROM case_messages')) {
    const key = `${caseId} ${body}`;
    messages.set(key, (messages.get(key) || 0) + 1);
  }
  let replies = 0;
  for (const [number, c] of ledger.cases) {
    assert.ok(statuses.has(c.id), `acknowledged case ${number} is stored`);
    if (c.certain) assert.equal(statuses.get(c.id), c.status, `case ${number} ends in the status last acknowledged`);
    for (const body of c.replies) {
      assert.equal(messages.get(`${c.id} ${body}`), 1, `case ${number}: acknowledged message "${body}" is stored once`);
      replies += 1;
    }
  }
  return { actions, answeredHolds, replies };
}

/**
 * One case's life on the desk, each step through a server `pickServer` chooses: the platform
 * opens it, staff reply, ask the holder, and (often) resolve it.
 */
export async function caseLife({ call, staff, ledger, prefix, serial, pickServer }) {
  const tag = `${prefix}-k${serial}`;
  const opened = await call(pickServer(), 'POST', '/api/v1/cases', {
    account_id: `${prefix}-u${crypto.randomInt(ACCOUNTS)}`,
    category: 'other',
    subject: `Question ${tag}`,
    body: `Where is my deposit? (${tag})`,
    language: 'en',
  });
  if (opened.status === 0 || opened.status >= 502) return;
  assert.equal(opened.status, 201, `the case opens: ${opened.text?.slice(0, 300)}`);
  ledger.latencies.caseOpened.push(opened.ms);
  const number = opened.json.number;
  ledger.cases.set(number, { id: opened.json.id, certain: true, status: opened.json.status, replies: [], resolved: false });
  const steps = [
    ['message', { kind: 'reply', body: `Reply ${tag}-1`, status: '' }, (c) => { c.replies.push(`Reply ${tag}-1`); if (c.status === 'new') c.status = 'open'; }],
    ['status', { status: 'pending_customer' }, (c) => { c.status = 'pending_customer'; }],
    ['message', { kind: 'note', body: `Note ${tag}-2`, status: '' }, (c) => { c.replies.push(`Note ${tag}-2`); }],
  ];
  if (serial % 2 === 0) steps.push(['status', { status: 'resolved' }, (c) => { c.status = 'resolved'; c.resolved = true; }]);
  for (const [action, fields, change] of steps) {
    const outcome = await staff.caseAction(pickServer(), number, action, fields);
    ledger.caseAction(number, outcome, change);
  }
}

// ------------------------------------------------------------------ the webhook receiver

/** Starts tests/webhooks/receiver.py; resolves to { url, log, stop, entries() }. */
export async function startReceiver(dir, secret, failFirst, delayMs) {
  const log = path.join(dir, 'receiver.log');
  const child = spawn('python3', [path.join(ROOT, 'tests/webhooks/receiver.py'), secret, log, String(failFirst), String(delayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}/hooks`,
    entries: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
    stop: () => child.kill('SIGTERM'),
  };
}

/**
 * Whether process `pid` has a connection open to `port` on this machine right now (Linux: the
 * established connections to the port in /proc/net/tcp, matched with the sockets among the
 * process's open files). The receiver closes every connection after its answer, so an open one
 * is a request in flight.
 */
export async function connectedTo(pid, port) {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = (await fs.promises.readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    // sl, local address, remote address, state (01: established), …, inode
    .filter((f) => f.length > 9 && f[2].endsWith(hexPort) && f[3] === '01')
    .map((f) => `socket:[${f[9]}]`);
  if (inodes.length === 0) return false;
  const fds = await fs.promises.readdir(`/proc/${pid}/fd`).catch(() => []);
  for (const fd of fds) {
    const target = await fs.promises.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (inodes.includes(target)) return true;
  }
  return false;
}

/** Runs `fn` with the logs of `servers` shown when it fails. */
export async function withLogs(servers, fn) {
  try {
    return await fn();
  } catch (e) {
    for (const s of servers) if (s.out) console.error(s.logs(60));
    throw e;
  }
}
