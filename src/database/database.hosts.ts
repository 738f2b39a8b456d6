import { Logger } from '@nestjs/common';
import { connect, Socket } from 'node:net';

export interface DatabaseHost {
  host: string;
  port: number;
}

/** A MySQL/MariaDB DATABASE_URL taken apart; `hosts` in the order given, at least one. */
export interface DatabaseTarget {
  user: string;
  password: string;
  hosts: DatabaseHost[];
  database: string;
}

const DEFAULT_PORT = 3306;

/**
 * `mysql://user:password@h1:3311,h2:3312,h3/database`: the nodes of one cluster, the first
 * preferred. The WHATWG URL parser refuses a comma-separated host list, so the authority is
 * split here; user and password are percent-decoded as in any URL. Answers a sentence saying
 * what is wrong for a URL it cannot read.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget | string {
  const match =
    /^(?:mysql|mariadb):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/([^/?#]*))?(?:[?#].*)?$/.exec(
      url,
    );
  if (match === null) return 'expected mysql://user:password@host:port[,host:port...]/database';
  const [, user = '', password = '', authority, database = ''] = match;
  const hosts: DatabaseHost[] = [];
  for (const part of authority.split(',')) {
    const host = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(part);
    if (host === null) return `cannot read the host "${part}"`;
    const port = host[2] === undefined ? DEFAULT_PORT : Number(host[2]);
    if (port < 1 || port > 65535) return `port out of range in "${part}"`;
    hosts.push({ host: host[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  return {
    user: decodeURIComponent(user),
    password: decodeURIComponent(password),
    hosts,
    database: decodeURIComponent(database),
  };
}

/** What a socket of a ring answers when the server behind it is found unusable. */
const downHandlers = new WeakMap<object, () => void>();

/**
 * Where the pool's new connections go when DATABASE_URL names several hosts: to the current
 * host until it fails, then to the next one, round the list. A connection that cannot be made,
 * or that the server drops with an error (its node died), moves the ring on, but only if it was
 * to the current host, so that the many connections a dead node drops at once move it one step.
 * The pool discards broken connections itself, so within one retry every new unit of work runs
 * on the next host. The ring does not go back by itself: the node it left may be rejoining, and
 * one host for all of this process's connections keeps its reads and writes on one node.
 */
export class HostRing {
  private current = 0;
  private readonly logger = new Logger('Database');

  constructor(private readonly hosts: readonly DatabaseHost[]) {}

  /** mysql2's `stream` factory: a socket to the current host. */
  readonly socket = (): Socket => {
    const index = this.current;
    const { host, port } = this.hosts[index];
    const socket = connect(port, host);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const down = () => this.failed(index);
    socket.on('error', down);
    downHandlers.set(socket, down);
    return socket;
  };

  get host(): DatabaseHost {
    return this.hosts[this.current];
  }

  private failed(index: number): void {
    if (index !== this.current) return;
    this.current = (index + 1) % this.hosts.length;
    const from = this.hosts[index];
    const to = this.hosts[this.current];
    this.logger.warn(
      `database host ${from.host}:${from.port} failed; new connections go to ${to.host}:${to.port}`,
    );
  }
}

/**
 * Tells the ring behind a connection's socket that its server is unusable although it answers
 * (a Galera node that left the cluster's primary component answers every statement with 1047).
 * Does nothing for a socket no ring made.
 */
export function hostDown(stream: unknown): void {
  if (typeof stream === 'object' && stream !== null) downHandlers.get(stream)?.();
}
