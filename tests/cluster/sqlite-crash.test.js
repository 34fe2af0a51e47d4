// Crash safety on SQLite: `thaw serve` on a SQLite file takes events and case work from
// concurrent clients and is killed with SIGKILL part-way, several times at different moments;
// each time the database passes SQLite's integrity check and the same command brings the
// service back with no manual step. In the end every write thaw acknowledged is there: events
// with the decisions answered, holds, cases, messages and statuses, and the staff session.
// Rounds alternate `sqlite_synchronous` full and normal (both must survive a killed process).
//
// Needs python3 (its sqlite3 module reads the file) and the thaw binary (THAW_BIN). Load:
// THAW_CRASH_ROUNDS (default 3) kills, each after up to THAW_CRASH_LOAD_SECS (default 5)
// seconds of THAW_CRASH_WORKERS (default 8) clients.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  Ledger, Server, StaffBrowser, assertStored, caseLife, createAccounts, envNumber, eventMaker, platform, provision, sleep, withLogs,
} from './support.mjs';

const ROUNDS = envNumber('THAW_CRASH_ROUNDS', 3);
const LOAD_MS = envNumber('THAW_CRASH_LOAD_SECS', 5) * 1000;
const WORKERS = envNumber('THAW_CRASH_WORKERS', 8);
const run = `cr${crypto.randomBytes(3).toString('hex')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thaw-crash-'));
const dbFile = path.join(tmp, 'thaw.db');
let server;
let starter;

const python = promisify(execFile);
/** Rows of a query on a database file (by default the main one), read by Python's sqlite3. */
async function query(sql, file = dbFile) {
  const script = 'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nfor r in c.execute(sys.argv[2]):\n    print("\\t".join("" if v is None else str(v) for v in r))';
  const { stdout } = await python('python3', ['-c', script, file, sql], { maxBuffer: 256 << 20 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

after(async () => {
  await server?.stop();
  await starter?.stop();
  if (!process.env.THAW_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

test('SQLite: killed while it creates its database, the next start completes it', async (t) => {
  // Killed a few moments after it was started on a new file: while it creates the file,
  // applies the migrations (all in one transaction) or builds its search index.
  const file = path.join(tmp, 'fresh.db');
  starter = new Server('fresh', path.join(tmp, 'fresh'), { THAW_DATABASE_URL: `sqlite://${file}` });
  const seen = [];
  for (const ms of [30, 80, 150, 250, 400, 700]) {
    await starter.launch();
    await sleep(ms);
    await starter.kill();
    const exists = fs.existsSync(file);
    const [[tables]] = exists ? await query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'", file) : [['0']];
    const [[migrations]] = tables === '1' ? await query('SELECT COUNT(*) FROM schema_migrations', file) : [['0']];
    if (exists) {
      const [[integrity]] = await query('PRAGMA integrity_check', file);
      assert.equal(integrity, 'ok', `killed after ${ms} ms: the database passes its integrity check`);
    }
    seen.push(`${ms} ms: ${migrations} migrations`);
  }
  await starter.start();
  const [[all]] = await query('SELECT COUNT(*) FROM schema_migrations', file);
  for (const s of seen) {
    const n = Number(/: (\d+) migrations/.exec(s)[1]);
    assert.ok(n === 0 || n === Number(all), `migrations are applied all or none, never ${n} of ${all} (${s})`);
  }
  assert.equal(Number((await query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'jobs'", file))[0][0]), 1, 'the schema is there');
  await starter.stop();
  t.diagnostic(`killed at ${seen.join(', ')}; then ready after ${starter.readyAfterMs} ms with ${all} migrations`);
});

test('SQLite: killed with SIGKILL under load, it restarts by itself with every acknowledged write', { timeout: ROUNDS * (LOAD_MS + 90_000) + 120_000 }, async (t) => {
  const env = { THAW_DATABASE_URL: `sqlite://${dbFile}` };
  const { staff, apiKey } = provision(env, run);
  const call = platform(apiKey);
  const ledger = new Ledger();
  const maker = eventMaker(run);
  let desk;
  let caseSerial = 0;
  const rounds = [];
  server = new Server('sqlite', path.join(tmp, 'server'), env);
  for (let round = 1; round <= ROUNDS; round++) {
    const synchronous = round % 2 ? 'full' : 'normal';
    server.env = { ...env, THAW_SQLITE_SYNCHRONOUS: synchronous };
    await server.start();
    await withLogs([server], async () => {
      const base = server.base;
      // The session made in round 1 is itself an acknowledged write: it still works after kills.
      if (!desk) {
        await createAccounts(call, base, run);
        desk = await new StaffBrowser(staff.supervisor).signIn(base);
      }
      assert.equal((await desk.page(base, '/desk')).status, 200, `round ${round}: the staff session of round 1 is still valid`);
      // The platform re-sends what went unanswered when the last process died.
      await ledger.resend(call, base);
      const killAfter = round === 1 ? Math.min(800, LOAD_MS) : 300 + crypto.randomInt(Math.max(1, LOAD_MS - 300));
      const pickServer = () => base;
      const worker = async () => {
        while (server.alive) {
          if (crypto.randomInt(100) < 25) {
            await caseLife({ call, staff: desk, ledger, prefix: run, serial: ++caseSerial, pickServer });
          } else {
            const events = crypto.randomInt(100) < 25 ? Array.from({ length: 4 }, () => maker.sequence()).flat() : maker.sequence();
            await ledger.send(call, base, events, events.length > 3);
          }
        }
      };
      const killer = async () => {
        await sleep(killAfter);
        await server.kill();
      };
      await Promise.all([killer(), ...Array.from({ length: WORKERS }, worker)]);
      const [[integrity]] = await query('PRAGMA integrity_check');
      assert.equal(integrity, 'ok', `round ${round}: the database passes its integrity check after SIGKILL`);
      rounds.push({ round, synchronous, killAfter, readyAfterMs: server.readyAfterMs, answered: ledger.events.size, unanswered: ledger.unanswered.size });
    });
  }

  // The same command once more: the service comes up, and the platform re-sends what went
  // unanswered (each is decided once: stored before the kill, it is replayed).
  server.env = env;
  await server.start();
  await withLogs([server], async () => {
    await ledger.resend(call, server.base);
    const { actions, answeredHolds, replies } = await assertStored(ledger, query, run);
    await server.stop();
    const [[integrity]] = await query('PRAGMA integrity_check');
    assert.equal(integrity, 'ok', 'the database passes its integrity check at the end');

    for (const r of rounds) {
      t.diagnostic(`round ${r.round} (synchronous=${r.synchronous}): ready after ${r.readyAfterMs} ms, killed after ${r.killAfter} ms; ${r.answered} events answered so far, ${r.unanswered} unanswered at the kill`);
    }
    t.diagnostic(`events: ${maker.sent} sent, ${ledger.events.size} answered and stored once with their decisions (${ledger.counts.resent} unanswered at a kill and re-sent after the restart: ${ledger.counts.replayed} of them had been stored and were replayed); ${JSON.stringify(actions)}; holds ${answeredHolds.size}`);
    t.diagnostic(ledger.latencyReport(desk));
    t.diagnostic(`cases: ${ledger.cases.size} opened, ${ledger.counts.caseActions} desk actions (${ledger.counts.unknownCaseActions} unanswered), ${replies} acknowledged messages stored once; integrity_check ok after every kill`);
  });
});
