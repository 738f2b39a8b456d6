import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/** Lets each node find live rooms whose heartbeat stopped without scanning the table. */
export class RoomSilenceIndex1764201600000 implements MigrationInterface {
  name = 'RoomSilenceIndex1764201600000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'live_room',
      new TableIndex({
        name: 'idx_live_room_silence',
        columnNames: ['live_status', 'heartbeat_at'],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('live_room', 'idx_live_room_silence');
  }
}
