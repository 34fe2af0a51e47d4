// Several processes on one PostgreSQL: three `thaw serve` processes share a database; the
// platform's events and the desk's case work go to all of them at once; one is killed with
// SIGKILL mid-load, the others carry on. Afterwards: every event answered 2xx is stored exactly
// once with the decision that was answered; every webhook delivery reached the receiver (an
// independent one that checks signatures and fails its first requests, so retries happen)
// exactly once, including those the killed process had claimed; an SLA timer set before the
// kill fired on a survivor; a desk page's event stream on one process heard of changes made
// through another, before and after the kill.
//
// Needs THAW_TEST_POSTGRES_URL (a superuser of a cluster: the test creates and drops a
// database in it), psql and python3 on the PATH, and the thaw binary (THAW_BIN). Load:
// THAW_CLUSTER_LOAD_SECS (default 20) seconds by THAW_CLUSTER_WORKERS (default 12) clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  Ledger, Server, StaffBrowser, assertStored, caseLife, connectedTo, createAccounts, envNumber, eventMaker, platform, provision, sleep, startReceiver, withLogs,
} from './support.mjs';

const pgUrl = process.env.THAW_TEST_POSTGRES_URL;
const LOAD_MS = envNumber('THAW_CLUSTER_LOAD_SECS', 20) * 1000;
const WORKERS = envNumber('THAW_CLUSTER_WORKERS', 12);
/** The lease of a claimed job (thaw_jobs::LEASE_MS): a dead process's jobs wait this long. */
const LEASE_MS = 60_000;
const SECRET = `whsec_${crypto.randomBytes(16).toString('hex')}`;
const run = `cl${crypto.randomBytes(3).toString('hex')}`;

let tmp;
let dbName;
let dbUrl;
let receiver;
const servers = [];

const psqlAsync = promisify(execFile);
/** Rows of a query on the test database, each an array of its columns' text. */
async function query(sql) {
  const { stdout } = await psqlAsync('psql', [dbUrl, '-X', '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { maxBuffer: 256 << 20 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

function admin(sql) {
  execFileSync('psql', [pgUrl, '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

before(async () => {
  assert.ok(pgUrl, 'THAW_TEST_POSTGRES_URL must name a PostgreSQL cluster (a superuser; scripts/test exports it)');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thaw-cluster-'));
  dbName = `thaw_cluster_${crypto.randomBytes(6).toString('hex')}`;
  admin(`CREATE DATABASE ${dbName}`);
  const u = new URL(pgUrl);
  u.pathname = `/${dbName}`;
  dbUrl = u.toString();
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  receiver?.stop();
  if (dbName) {
    try {
      admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } catch (e) {
      console.error(`could not drop ${dbName}: ${e.stderr || e}`);
    }
  }
  if (tmp && !process.env.THAW_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

test('three processes on one PostgreSQL: one killed mid-load, nothing lost, nothing sent twice', { timeout: LOAD_MS + 300_000 }, async (t) => {
  const env = { THAW_DATABASE_URL: dbUrl };
  const { staff, apiKey } = provision(env, run);
  // Cases of the category `other` (those the test opens) on the around-the-clock calendar with a
  // one-minute first response: the SLA clock reports a case at 80 % (48 s) and at breach (60 s).
  const slaFile = path.join(tmp, 'sla.toml');
  fs.writeFileSync(slaFile, '[[policy]]\ncategories = ["other"]\ncalendar = "24x7"\nfirst_response = "1m"\nnext_reply = "1m"\nresolution = "8h"\non_warning = ["notify"]\non_breach = ["notify"]\n');
  receiver = await startReceiver(tmp, SECRET, 20, 25);
  const serverEnv = { ...env, THAW_DESK_SLA_FILE: slaFile, THAW_WEBHOOK_RETRY_BASE_MS: '200' };
  for (const name of ['A', 'B', 'C']) servers.push(new Server(name, path.join(tmp, name), serverEnv));
  await Promise.all(servers.map((s) => s.start()));
  await Promise.all(servers.map((s) => s.logged(/live updates: listening on PostgreSQL/)));
  const [A, B, C] = servers;

  await withLogs(servers, async () => {
    const call = platform(apiKey);
    await createAccounts(call, C.base, run, [`${run}-watched`, `${run}-probe`]);
    const admins = await new StaffBrowser(staff.admin).signIn(A.base);
    const hook = await admins.api(A.base, 'POST', '/api/v1/webhooks', { url: receiver.url, event_types: ['*'], secret: SECRET });
    assert.equal(hook.status, 201, `the webhook endpoint is registered: ${hook.text}`);
    const endpointId = hook.json.id;
    // Signed in through B; the session is in the database, so it works on every process.
    const desk = await new StaffBrowser(staff.supervisor).signIn(B.base);

    // A desk page's event stream on A hears of a case changed through B.
    const stream = desk.follow(A.base);
    await stream.opened;
    const watched = await call(C.base, 'POST', '/api/v1/cases', { account_id: `${run}-watched`, category: 'other', subject: 'Watched', body: 'A case the desk watches live.', language: 'en' });
    assert.equal(watched.status, 201, watched.text);
    let since = Date.now();
    assert.equal(await desk.caseAction(B.base, watched.json.number, 'message', { kind: 'note', body: 'Seen through B', status: '' }), 'done');
    await stream.sees(watched.json.id, since, 'a note written through B reaches the event stream of A');

    // ---- the load: events and case work on every live process; B is killed part-way.
    const ledger = new Ledger();
    const maker = eventMaker(run);
    let alive = [A, B, C];
    const pickServer = () => alive[crypto.randomInt(alive.length)].base;
    const started = Date.now();
    const deadline = started + LOAD_MS;
    let caseSerial = 0;
    const worker = async () => {
      while (Date.now() < deadline) {
        if (crypto.randomInt(100) < 20) {
          await caseLife({ call, staff: desk, ledger, prefix: run, serial: ++caseSerial, pickServer });
        } else if (crypto.randomInt(100) < 25) {
          const events = Array.from({ length: 4 }, () => maker.sequence()).flat();
          await ledger.send(call, pickServer(), events, true);
        } else if (crypto.randomInt(100) < 10) {
          // A platform that gave up waiting and re-sent the same events to another process: both
          // get the one decision.
          const events = maker.sequence();
          await Promise.all([ledger.send(call, pickServer(), events, false), ledger.send(call, pickServer(), events, false)]);
          ledger.counts.sentTwice += events.length;
        } else {
          await ledger.send(call, pickServer(), maker.sequence(), false);
        }
      }
    };
    const killer = async () => {
      // B dies 40 % into the load. Shortly before, an SLA timer is set through it: a case
      // opened on B that nobody answers, its first response due in a minute.
      const killAt = started + LOAD_MS * 0.4;
      await sleep(killAt - 20_000 - Date.now());
      const probe = await call(B.base, 'POST', '/api/v1/cases', { account_id: `${run}-probe`, category: 'other', subject: 'Nobody answers this', body: 'Waiting for the desk.', language: 'en' });
      assert.equal(probe.status, 201, probe.text);
      await sleep(killAt - Date.now());
      // Kill B while it has a webhook request in flight (and so a claimed job, often with more
      // claimed behind it): watch its sockets for a connection to the receiver, freeze it
      // (SIGSTOP: it does nothing more), check that it holds a claimed webhook job, and kill it;
      // if it finished that job meanwhile, let it go on and watch again.
      const claimedByB = `locked_by LIKE '${B.child.pid}-%' AND done_at IS NULL`;
      let killedAt;
      const until = Date.now() + 60_000;
      while (!killedAt) {
        assert.ok(Date.now() < until, 'within a minute, B is caught holding a webhook job');
        if (!(await connectedTo(B.child.pid, receiver.port))) {
          await sleep(2);
          continue;
        }
        B.child.kill('SIGSTOP');
        const stoppedAt = Date.now();
        const [[claimed]] = await query(`SELECT COUNT(*) FROM jobs WHERE ${claimedByB} AND kind = 'webhook'`);
        if (Number(claimed) > 0) {
          await B.kill();
          killedAt = stoppedAt;
        } else {
          B.child.kill('SIGCONT');
        }
      }
      alive = [A, C];
      await sleep(300); // PostgreSQL notices the closed connections and rolls back what B had open
      // (The recurring inactivity sweep is never done, only rescheduled: left out.)
      const orphans = await query(`SELECT id, kind, payload FROM jobs WHERE ${claimedByB} AND kind <> 'inactivity_sweep'`);
      return { killedAt, probe: probe.json, orphans, worker: `${B.child.pid}-` };
    };
    const [kill] = await Promise.all([killer(), ...Array.from({ length: WORKERS }, worker)]);
    const loadMs = Date.now() - started;
    assert.ok(kill.orphans.some((j) => j[1] === 'webhook'), 'B was killed holding claimed webhook jobs (the case under test)'); // (checked before the kill)

    // The platform re-sends what went unanswered, to the survivors: each is decided once.
    await ledger.resend(call, pickServer());
    assert.equal(ledger.unanswered.size, 0);

    // After the kill, the stream on A hears of a change made through C.
    since = Date.now();
    assert.equal(await desk.caseAction(C.base, watched.json.number, 'message', { kind: 'note', body: 'Seen through C', status: '' }), 'done');
    await stream.sees(watched.json.id, since, 'after the kill, a note written through C reaches the event stream of A');
    stream.close();

    // ---- let the survivors finish: deliveries (those B held come free when its lease runs out)
    // and the probe's SLA timer.
    const orphanIds = kill.orphans.map((j) => `'${j[0]}'`).join(',');
    const pending = async () => {
      const [[deliveries]] = await query(`SELECT COUNT(*) FROM webhook_deliveries WHERE status <> 'delivered'`);
      const [[jobs]] = await query(`SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND (kind = 'webhook' OR id IN (${orphanIds}))`);
      const [[breached]] = await query(`SELECT COUNT(*) FROM case_timeline WHERE case_id = '${kill.probe.id}' AND kind = 'sla_breached'`);
      return { deliveries: Number(deliveries), jobs: Number(jobs), breached: Number(breached) };
    };
    const waitUntil = Math.max(kill.killedAt + LEASE_MS, Date.now()) + 90_000;
    let left = await pending();
    while ((left.deliveries || left.jobs || !left.breached) && Date.now() < waitUntil) {
      await sleep(500);
      left = await pending();
    }
    assert.deepEqual(left, { deliveries: 0, jobs: 0, breached: 1 }, 'every delivery made, every job done, the SLA breach reported');
    const settledAt = Date.now();

    // ---- every answered event is stored once with its decision; every acknowledged case change is there.
    const { actions, answeredHolds, replies } = await assertStored(ledger, query, run);
    const twice = await query('SELECT hold_id FROM cases WHERE hold_id IS NOT NULL GROUP BY hold_id HAVING COUNT(*) > 1');
    assert.deepEqual(twice, [], 'no hold got two automatic cases from two processes');

    // ---- the SLA timer set before the kill fired after it, on a survivor, once.
    const sla = await query(`SELECT kind, at FROM case_timeline WHERE case_id = '${kill.probe.id}' AND kind LIKE 'sla_%' ORDER BY at`);
    // (A sweep that comes late, behind a long round, finds the target breached and reports only
    // the breach.)
    assert.match(sla.map(([k]) => k).join(' '), /^(sla_warning )?sla_breached$/, 'the probe was breached once (after at most one warning)');
    for (const [kind, at] of sla) assert.ok(Number(at) > kill.killedAt, `${kind} fired after B was killed`);

    // ---- webhooks: each delivery reached the receiver once, signed; those B held, too.
    // (Timers keep making deliveries: those recorded as delivered now must have been received,
    // and whatever was received must be a delivery thaw recorded.)
    const delivered = new Set((await query(`SELECT id FROM webhook_deliveries WHERE endpoint_id = '${endpointId}' AND status = 'delivered'`)).map(([id]) => id));
    const log = receiver.entries();
    const requests = log;
    assert.ok(requests.every((e) => e.valid), 'every request carried a valid signature');
    assert.ok(requests.some((e) => e.status === 500), 'the receiver failed some requests (retries happened)');
    const received = new Map();
    for (const e of requests.filter((r) => r.status === 200)) {
      if (!received.has(e.delivery)) received.set(e.delivery, []);
      received.get(e.delivery).push(e);
    }
    const recorded = new Set((await query(`SELECT id FROM webhook_deliveries WHERE endpoint_id = '${endpointId}'`)).map(([id]) => id));
    for (const id of delivered) assert.ok(received.has(id), `delivery ${id}, recorded as delivered, was received`);
    for (const id of received.keys()) assert.ok(recorded.has(id), `received delivery ${id} is one thaw recorded`);
    // A delivery is sent again only when the process that sent it died before it could record
    // the answer (at-least-once; README): B had at most one request in flight when killed.
    const orphanDeliveries = kill.orphans.filter((j) => j[1] === 'webhook').map((j) => j[2]);
    const resentAfterCrash = [...received.values()].filter((list) => list.length > 1);
    for (const list of resentAfterCrash) {
      // The first copy is B's request in flight (frozen, then killed): the receiver may log it a
      // moment after the kill. The second comes from a survivor once B's lease ran out.
      assert.ok(list.length === 2 && list[1].at > kill.killedAt && orphanDeliveries.includes(list[0].delivery),
        `delivery ${list[0].delivery} received ${list.length} times: ${JSON.stringify(list.map((e) => e.at))}, kill at ${kill.killedAt}`);
    }
    assert.ok(resentAfterCrash.length <= 1, `at most the one request B had in flight is received twice, not ${resentAfterCrash.length}`);
    const byType = (type, pickId) => new Set(requests.filter((e) => e.status === 200 && e.event === type).map((e) => pickId(e.body.data)));
    const decisionsMade = byType('decision.made', (d) => d.id);
    for (const [id, { decision }] of ledger.events) {
      if (decision.action !== 'allow') assert.ok(decisionsMade.has(decision.id), `decision.made of event ${id} delivered`);
    }
    const holdsCreated = byType('hold.created', (d) => d.id);
    for (const h of answeredHolds) assert.ok(holdsCreated.has(h), `hold.created of ${h} delivered`);
    const casesOpened = byType('case.opened', (d) => d.id);
    const casesResolved = byType('case.resolved', (d) => d.id);
    for (const [number, c] of ledger.cases) {
      assert.ok(casesOpened.has(c.id), `case.opened of ${number} delivered`);
      if (c.resolved) assert.ok(casesResolved.has(c.id), `case.resolved of ${number} delivered`);
    }
    assert.ok(byType('case.sla_breached', (d) => d.case.id).has(kill.probe.id), 'case.sla_breached of the probe delivered');
    for (const d of orphanDeliveries) assert.ok(received.has(d), `delivery ${d}, claimed by B when it died, arrived`);
    const takenOver = await query(`SELECT COUNT(*) FROM jobs WHERE id IN (${orphanIds}) AND locked_by NOT LIKE '${kill.worker}%'`);
    assert.equal(Number(takenOver[0][0]), kill.orphans.length, 'every job B held was finished by a survivor');

    t.diagnostic(`load ${(loadMs / 1000).toFixed(1)} s by ${WORKERS} clients on 3 processes, B killed after ${((kill.killedAt - started) / 1000).toFixed(1)} s`);
    t.diagnostic(`events: ${maker.sent} sent (${ledger.counts.eventRequests} single requests, ${ledger.counts.batches} batches, ${ledger.counts.sentTwice} sent to two processes at once), ${ledger.events.size} answered 2xx and stored once; ${ledger.counts.resent} unanswered when B died, re-sent to a survivor (${ledger.counts.replayed} of them B had stored: replayed)`);
    t.diagnostic(`decisions: ${JSON.stringify(actions)}; holds ${answeredHolds.size}`);
    t.diagnostic(ledger.latencyReport(desk));
    t.diagnostic(`cases: ${ledger.cases.size} opened through the API, ${ledger.counts.caseActions} desk actions (${ledger.counts.refused} refused, ${ledger.counts.unknownCaseActions} unanswered), ${replies} acknowledged messages stored once`);
    t.diagnostic(`webhooks: ${delivered.size} deliveries, ${requests.length} requests (${requests.filter((e) => e.status === 500).length} failed on purpose), duplicates ${resentAfterCrash.length} (sent again after the crash); ${kill.orphans.length} jobs held by B taken over`);
    t.diagnostic(`settled ${((settledAt - kill.killedAt) / 1000).toFixed(1)} s after the kill (lease ${LEASE_MS / 1000} s)`);

    // B comes back with the same command, nothing else, and takes events again.
    await B.start();
    const [again] = maker.sequence();
    assert.equal((await call(B.base, 'POST', '/api/v1/events', again)).status, 200, 'the restarted B decides an event');
    t.diagnostic(`B restarted with the same command: ready after ${B.readyAfterMs} ms`);
  });
});
