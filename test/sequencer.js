const Sequencer = require('@jest/test-sequencer').default;

/**
 * Jest's order (failed first, then longest first), except that a spec which kills a database
 * node runs last: its cluster is slow for a while after the node rejoins, and the timer spec's
 * lateness bound should measure the cluster, not its recovery.
 */
class NodeDeathLast extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const last = (test) => /node-death/.test(test.path);
    return [...sorted.filter((t) => !last(t)), ...sorted.filter(last)];
  }
}

module.exports = NodeDeathLast;
