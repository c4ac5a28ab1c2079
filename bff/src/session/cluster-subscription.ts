import { Redis, type Cluster } from 'ioredis';

/**
 * Listens on `channel` on a Redis Cluster over a connection of our own to one node: a Cluster
 * forwards every PUBLISH to every node, so any node hears them all.
 *
 * Not ioredis' own cluster subscription (`Cluster#subscribe`, or a duplicated Cluster): when its
 * connection drops, its ClusterSubscriber picks a node and subscribes again by itself, and the
 * Cluster emits no event for it (only `-node` when a node leaves the slot map), so messages
 * published meanwhile would be missed unnoticed. Here every lost connection, to whichever node,
 * calls `onDown` (the session cache goes off until its heartbeat comes back), and a new connection
 * is opened to the next node, so a node that stays down is left behind.
 *
 * Resolves with a function that unsubscribes and closes the connection.
 */
export function subscribeOnClusterNode(
  cluster: Cluster,
  channel: string,
  onMessage: (message: string) => void,
  onDown: () => void,
): () => Promise<void> {
  let connection: Redis | undefined;
  let retry: NodeJS.Timeout | undefined;
  let turn = 0;
  let failures = 0;
  let stopped = false;

  const again = () => {
    if (stopped || retry) return;
    failures++;
    retry = setTimeout(open, Math.min(failures * 100, 1000));
  };

  function open() {
    retry = undefined;
    if (stopped) return;
    const nodes = cluster.nodes('all');
    const node = nodes[turn++ % Math.max(1, nodes.length)];
    if (!node) return again(); // the Cluster has not found its nodes yet
    const { host, port, username, password, tls, connectTimeout } = node.options;
    // No retry strategy: a lost connection ends, and the next one may go to another node.
    const subscriber = new Redis({
      host,
      port,
      username,
      password,
      tls,
      connectTimeout,
      enableOfflineQueue: false,
      autoResubscribe: false,
      retryStrategy: () => null,
    });
    connection = subscriber;
    subscriber.on('error', () => {});
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) onMessage(message);
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).then(
        () => (failures = 0),
        () => subscriber.disconnect(),
      );
    });
    subscriber.on('close', onDown);
    subscriber.once('end', () => {
      if (connection !== subscriber) return;
      connection = undefined;
      again();
    });
  }

  // A node that leaves the cluster no longer hears its PUBLISHes: move to another one.
  const onNodeLeft = (left: Redis) => {
    if (connection && left.options.host === connection.options.host && left.options.port === connection.options.port)
      connection.disconnect();
  };
  cluster.on('-node', onNodeLeft);
  open();

  return async () => {
    stopped = true;
    clearTimeout(retry);
    cluster.off('-node', onNodeLeft);
    const last = connection;
    connection = undefined;
    await last?.quit().catch(() => last.disconnect());
  };
}
