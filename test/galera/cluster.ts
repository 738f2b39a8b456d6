/**
 * The 3-node Galera cluster of `.ci/galera.sh` (SQL ports 3311-3313), as the Galera specs use
 * it: a fresh database on the cluster, the DATABASE_URL a service node gets when it is attached
 * to database node N (that node first, the others after it to fail over to), and killing and
 * restarting a database node.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { FreshDatabase } from '../utils/test-app';

const HOSTS = (process.env.GALERA_HOSTS ?? '127.0.0.1:3311,127.0.0.1:3312,127.0.0.1:3313').split(
  ',',
);
const SCRIPT = join(__dirname, '..', '..', '.ci', 'galera.sh');
let counter = 0;

export const DB_NODES = HOSTS.length;

/** A new database on the cluster (created through node 1, replicated to all). */
export async function freshGaleraDatabase(): Promise<FreshDatabase & { name: string }> {
  const name = `relay_galera_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = await createConnection(`mysql://root@${HOSTS[0]}/`);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  return {
    name,
    url: urlOn(0, name),
    drop: async () => {
      const c = await createConnection(`mysql://root@${HOSTS[0]}/`);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

/** DATABASE_URL of a service node attached to database node `node` (0-based), with failover. */
export function urlOn(node: number, database: string): string {
  const order = HOSTS.map((_, i) => HOSTS[(node + i) % HOSTS.length]);
  return `mysql://root@${order.join(',')}/${database}`;
}

async function galera(...args: string[]): Promise<void> {
  await promisify(execFile)('bash', [SCRIPT, ...args], { timeout: 240_000 });
}

/** `kill -9` of database node `node` (0-based); answers when the process is gone. */
export const killDbNode = (node: number) => galera('kill', String(node + 1));

/** Starts database node `node` again and waits until it has rejoined (IST) and is Synced. */
export const restartDbNode = (node: number) => galera('restart', String(node + 1));
