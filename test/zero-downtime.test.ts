/**
 * Zero downtime with alternating-users: while 20 rotations run back to back (each a real
 * `keyturn rotate` process), a client keeps connecting with whatever the file consumer last
 * wrote. It must see no failed login.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, SPAWN_MS } from './helpers/cli.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';

describe('alternating-users under a connecting client', () => {
  let fx: RotationFixture;
  let file: string;
  beforeAll(async () => {
    file = join(mkdtempSync(join(tmpdir(), 'keyturn-zd-')), 'db.json');
    fx = await rotationFixture('postgres', 'alternating-users', { secretExtra: `    consumers:\n      - { type: file, path: ${file} }\n` });
  });
  afterAll(async () => fx.close());

  // 21 rotation processes, one after the other (see SPAWN_MS).
  it('sees 0 failed logins across 20 back-to-back rotations', { timeout: 21 * SPAWN_MS }, async () => {
    // Deliver the first value so the client has something to read.
    const first = spawnSync(process.execPath, [BIN, 'rotate', fx.path], { env: { PATH: process.env.PATH ?? '', ...fx.env }, encoding: 'utf8' });
    expect(first.status, `${first.stderr}\n${first.stdout}`).toBe(0);
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const users = new Set<string>();
    const client = (async () => {
      while (!stop) {
        const cred = JSON.parse(readFileSync(file, 'utf8')) as { username: string; password: string };
        users.add(cred.username);
        if (await fx.logsIn(cred)) ok += 1;
        else failures.push(cred.username);
      }
    })();
    const rotations: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'rotate', fx.path], { env: { PATH: process.env.PATH ?? '', ...fx.env }, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });
      rotations.push(r ?? -1);
    }
    stop = true;
    await client;
    expect(rotations).toEqual(Array(20).fill(0));
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(users).toEqual(new Set([fx.username, `${fx.username}_clone`]));
    console.log(`zero downtime: ${ok} logins, ${failures.length} failed, across 20 rotations`);
  });
});
