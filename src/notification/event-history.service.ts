import { Injectable } from '@nestjs/common';
import { ClientUser } from '../auth/client-user';
import { readPage } from '../common/page';
import { EventLog } from '../event-log/event-log.service';
import { RelayService } from '../relay/relay.service';
import { RelayEventListView, RelayEventsQuery } from './event-history.dto';
import { toEventView } from './event.view';

/** One relay's events, a page at a time, for any user of its app. */
@Injectable()
export class EventHistoryService {
  constructor(
    private readonly relays: RelayService,
    private readonly events: EventLog,
  ) {}

  /** In seq order; 404 as GET of the relay when it is not in the caller's app. */
  async ofRelay(
    user: ClientUser,
    relayId: string,
    query: RelayEventsQuery,
  ): Promise<RelayEventListView> {
    await this.relays.get(user, relayId);
    return readPage(
      { limit: query.limit, cursor: query.after },
      (afterId, limit) => this.events.ofRelay(relayId, afterId, limit),
      toEventView,
    );
  }
}
