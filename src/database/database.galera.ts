import { QueryRunner } from 'typeorm';

/**
 * Whether the server is a node of a Galera cluster with replication on. SHOW VARIABLES, not
 * `@@wsrep_on`: MySQL and a MariaDB built without wsrep know no such variable and would fail.
 */
export async function isGalera(runner: Pick<QueryRunner, 'query'>): Promise<boolean> {
  const rows = (await runner.query("SHOW VARIABLES LIKE 'wsrep_on'")) as {
    Value?: string;
  }[];
  return rows.length > 0 && String(rows[0].Value).toUpperCase() === 'ON';
}
