package io.ringraft.network;

import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A network hub for several nodes in one JVM: each node gets a {@link RaftNetwork} endpoint with a
 * bounded lock-free inbox, and a send puts the (immutable) message straight into the addressee's
 * inbox, so nothing is copied or serialised.
 * <p>
 * Send results: {@link RaftNetwork#SENT} once the message is in the inbox (or was dropped by a fault
 * hook, as a lossy link would, silently); {@link RaftNetwork#BACK_PRESSURED} when the inbox is
 * full; {@link RaftNetwork#NOT_CONNECTED} when the addressee has no open endpoint;
 * {@link RaftNetwork#CLOSED} once the sending endpoint is closed.
 * <p>
 * Fault hooks for tests: {@link #isolate(long)} cuts a node off in both directions,
 * {@link #dropIf(Predicate)} drops any message a predicate selects (one-way cuts, dropping by
 * type), {@link #heal()} removes every fault. Endpoints, sends and fault hooks may be used from
 * any thread; lookups on the send path take no lock and allocate nothing.
 */
public final class InJvmNetwork
{
    private final int capacityPerNode;
    private final AtomicLong droppedByFaults = new AtomicLong();
    private final Object lock = new Object();

    // Copy-on-write: replaced whole under lock, read without a lock on every send.
    private volatile Long2ObjectHashMap<Endpoint> endpoints = new Long2ObjectHashMap<>();
    private volatile LongHashSet isolated = new LongHashSet();
    private volatile Predicate<RaftMessage> dropPredicate;

    /**
     * @param capacityPerNode the least number of messages each node's inbox holds before sends to
     *                        it are back-pressured (rounded up to a power of two)
     * @throws IllegalArgumentException if {@code capacityPerNode < 1}
     */
    public InJvmNetwork(final int capacityPerNode)
    {
        if (capacityPerNode < 1)
        {
            throw new IllegalArgumentException("capacityPerNode must be >= 1: " + capacityPerNode);
        }
        this.capacityPerNode = capacityPerNode;
    }

    /**
     * Opens the endpoint of a node. A node whose endpoint was closed may open a new one, which is
     * how a restart looks; messages sent to the old endpoint are gone.
     *
     * @param nodeId the node, {@code > 0}
     * @return the node's network endpoint, to be used by that node only
     * @throws IllegalArgumentException if {@code nodeId <= 0}
     * @throws IllegalStateException    if the node already has an open endpoint
     */
    public RaftNetwork endpoint(final long nodeId)
    {
        if (nodeId <= 0)
        {
            throw new IllegalArgumentException("node ids must be positive: " + nodeId);
        }
        synchronized (lock)
        {
            final Long2ObjectHashMap<Endpoint> current = endpoints;
            if (current.containsKey(nodeId))
            {
                throw new IllegalStateException("node " + nodeId + " already has an open endpoint");
            }
            final Endpoint endpoint = new Endpoint(nodeId, new ManyToOneConcurrentArrayQueue<>(capacityPerNode));
            final Long2ObjectHashMap<Endpoint> next = new Long2ObjectHashMap<>(current);
            next.put(nodeId, endpoint);
            endpoints = next;
            return endpoint;
        }
    }

    /**
     * Cuts a node off: every message it sends and every message sent to it is dropped, until
     * {@link #heal()}.
     *
     * @param nodeId the node to isolate
     */
    public void isolate(final long nodeId)
    {
        synchronized (lock)
        {
            final LongHashSet next = new LongHashSet();
            next.addAll(isolated);
            next.add(nodeId);
            isolated = next;
        }
    }

    /**
     * Drops, from now on, every message for which {@code predicate} is true (as well as those an
     * isolation drops). Replaces any earlier predicate.
     *
     * @param predicate selects the messages to drop; called on the sender's thread; null for none
     */
    public void dropIf(final Predicate<RaftMessage> predicate)
    {
        dropPredicate = predicate;
    }

    /** Removes every isolation and the drop predicate. Messages already dropped stay lost. */
    public void heal()
    {
        synchronized (lock)
        {
            isolated = new LongHashSet();
            dropPredicate = null;
        }
    }

    /** @return how many messages the fault hooks have dropped since this hub was made */
    public long droppedByFaults()
    {
        return droppedByFaults.get();
    }

    private int deliver(final RaftMessage message)
    {
        final Endpoint target = endpoints.get(message.to());
        if (target == null || target.closed)
        {
            return RaftNetwork.NOT_CONNECTED;
        }
        final LongHashSet cut = isolated;
        final Predicate<RaftMessage> drop = dropPredicate;
        if ((!cut.isEmpty() && (cut.contains(message.from()) || cut.contains(message.to()))) ||
            (drop != null && drop.test(message)))
        {
            droppedByFaults.incrementAndGet();
            return RaftNetwork.SENT;
        }
        return target.inbox.offer(message) ? RaftNetwork.SENT : RaftNetwork.BACK_PRESSURED;
    }

    private void remove(final Endpoint endpoint)
    {
        synchronized (lock)
        {
            final Long2ObjectHashMap<Endpoint> current = endpoints;
            if (current.get(endpoint.nodeId) == endpoint)
            {
                final Long2ObjectHashMap<Endpoint> next = new Long2ObjectHashMap<>(current);
                next.remove(endpoint.nodeId);
                endpoints = next;
            }
        }
    }

    private final class Endpoint implements RaftNetwork
    {
        private final long nodeId;
        private final ManyToOneConcurrentArrayQueue<RaftMessage> inbox;
        private volatile boolean closed;

        private Endpoint(final long nodeId, final ManyToOneConcurrentArrayQueue<RaftMessage> inbox)
        {
            this.nodeId = nodeId;
            this.inbox = inbox;
        }

        /**
         * {@inheritDoc}
         *
         * @throws IllegalArgumentException if {@code message.from()} is not this endpoint's node
         */
        @Override
        public int send(final RaftMessage message)
        {
            Objects.requireNonNull(message, "message");
            if (closed)
            {
                return CLOSED;
            }
            if (message.from() != nodeId)
            {
                throw new IllegalArgumentException("endpoint of node " + nodeId + " cannot send a message from " +
                    message.from() + ": " + message);
            }
            return deliver(message);
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            int delivered = 0;
            while (delivered < limit && !closed)
            {
                final RaftMessage message = inbox.poll();
                if (message == null)
                {
                    break;
                }
                handler.onMessage(message);
                delivered++;
            }
            return delivered;
        }

        @Override
        public void close()
        {
            if (!closed)
            {
                closed = true;
                remove(this);
                inbox.clear();
            }
        }

        @Override
        public String toString()
        {
            return "InJvmNetwork.Endpoint{node=" + nodeId + (closed ? " closed" : "") + "}";
        }
    }
}
