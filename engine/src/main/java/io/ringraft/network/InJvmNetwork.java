package io.ringraft.network;

import io.ringraft.EntryBatch;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A network hub for several nodes in one JVM: each node gets a {@link RaftNetwork} endpoint with
 * bounded lock-free inboxes.
 * <p>
 * AppendEntries and its response, the messages of every write, are copied into the addressee's
 * many-to-one ring buffer (Agrona) in a compact binary form, and read back where they lie into
 * one reused message per endpoint: sending and receiving them allocates nothing, and senders may
 * reuse their message objects, as they do. A delivered message is valid only during
 * {@link RaftNetwork.MessageHandler#onMessage}. The other messages (votes, snapshots, reads,
 * TimeoutNow) are immutable and travel by reference through a second inbox, polled first so that
 * a stream of appends cannot hold them back; the two inboxes may reorder messages between them,
 * which the protocol tolerates as it tolerates any reordering.
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
    /** The ring size of each endpoint unless given: its largest message is an eighth of it. */
    public static final int DEFAULT_RING_BYTES = 2 * 1024 * 1024;

    private final int capacityPerNode;
    private final int ringBytes;
    private final AtomicLong droppedByFaults = new AtomicLong();
    private final Object lock = new Object();

    // Copy-on-write: replaced whole under lock, read without a lock on every send.
    private volatile Long2ObjectHashMap<Endpoint> endpoints = new Long2ObjectHashMap<>();
    private volatile LongHashSet isolated = new LongHashSet();
    private volatile Predicate<RaftMessage> dropPredicate;

    /**
     * A hub whose endpoints have rings of {@link #DEFAULT_RING_BYTES}.
     *
     * @param capacityPerNode the least number of messages other than AppendEntries (and its
     *                        response) each node's inbox holds before sends to it are
     *                        back-pressured (rounded up to a power of two)
     * @throws IllegalArgumentException if {@code capacityPerNode < 1}
     */
    public InJvmNetwork(final int capacityPerNode)
    {
        this(capacityPerNode, DEFAULT_RING_BYTES);
    }

    /**
     * @param capacityPerNode the least number of messages other than AppendEntries (and its
     *                        response) each node's inbox holds before sends to it are back-pressured
     * @param ringBytes       the size of each node's ring for AppendEntries and its responses, a
     *                        power of two {@code >= 64 KiB}; sends that find it full are
     *                        back-pressured, and its largest message is an eighth of it
     * @throws IllegalArgumentException if {@code capacityPerNode < 1} or {@code ringBytes} is not
     *                                  a power of two of at least 64 KiB
     */
    public InJvmNetwork(final int capacityPerNode, final int ringBytes)
    {
        if (capacityPerNode < 1)
        {
            throw new IllegalArgumentException("capacityPerNode must be >= 1: " + capacityPerNode);
        }
        if (ringBytes < 64 * 1024 || !BitUtil.isPowerOfTwo(ringBytes))
        {
            throw new IllegalArgumentException("ringBytes must be a power of two >= 65536: " + ringBytes);
        }
        this.capacityPerNode = capacityPerNode;
        this.ringBytes = ringBytes;
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
            final Endpoint endpoint = new Endpoint(nodeId, new ManyToOneConcurrentArrayQueue<>(capacityPerNode), ringBytes);
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
        if (message instanceof AppendEntriesRequest request)
        {
            return target.put(request);
        }
        if (message instanceof AppendEntriesResponse response)
        {
            return target.put(response);
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
        // The binary form of the two messages carried in the ring.
        private static final int REQUEST = 1;
        private static final int RESPONSE = 2;
        private static final int FROM = 0;
        private static final int TO = 8;
        private static final int TERM = 16;
        private static final int PREV_TERM = 24;
        private static final int PREV_INDEX = 32;
        private static final int COMMIT = 40;
        private static final int SEQ = 48;
        private static final int COUNT = 56;
        private static final int REQUEST_HEADER = 60;
        private static final int MATCH = 24;
        private static final int CONFLICT_TERM = 32;
        private static final int CONFLICT_INDEX = 40;
        private static final int SUCCESS = 56;
        private static final int RESPONSE_LENGTH = 57;

        private final long nodeId;
        private final ManyToOneConcurrentArrayQueue<RaftMessage> inbox;
        private final RingBuffer ring;
        private final AppendEntriesRequest received = new AppendEntriesRequest();
        private final AppendEntriesResponse receivedResponse = new AppendEntriesResponse();
        private final org.agrona.concurrent.MessageHandler ringReader = this::onRingMessage;
        private MessageHandler handler;
        private volatile boolean closed;

        private Endpoint(final long nodeId, final ManyToOneConcurrentArrayQueue<RaftMessage> inbox, final int ringBytes)
        {
            this.nodeId = nodeId;
            this.inbox = inbox;
            this.ring = new ManyToOneRingBuffer(new UnsafeBuffer(
                BufferUtil.allocateDirectAligned(ringBytes + RingBufferDescriptor.TRAILER_LENGTH, BitUtil.CACHE_LINE_LENGTH)));
        }

        /** Copies a request into this endpoint's ring (on the sender's thread). */
        private int put(final AppendEntriesRequest request)
        {
            final EntryBatch entries = request.entries();
            final int length = REQUEST_HEADER + entries.encodedLength();
            checkLength(length, request);
            final int at = ring.tryClaim(REQUEST, length);
            if (at <= 0)
            {
                return BACK_PRESSURED;
            }
            final MutableDirectBuffer out = ring.buffer();
            out.putLong(at + FROM, request.from());
            out.putLong(at + TO, request.to());
            out.putLong(at + TERM, request.term());
            out.putLong(at + PREV_TERM, request.prevLogTerm());
            out.putLong(at + PREV_INDEX, request.prevLogIndex());
            out.putLong(at + COMMIT, request.leaderCommit());
            out.putLong(at + SEQ, request.seq());
            out.putInt(at + COUNT, entries.size());
            entries.copyTo(out, at + REQUEST_HEADER);
            ring.commit(at);
            return SENT;
        }

        /** Copies a response into this endpoint's ring (on the sender's thread). */
        private int put(final AppendEntriesResponse response)
        {
            final int at = ring.tryClaim(RESPONSE, RESPONSE_LENGTH);
            if (at <= 0)
            {
                return BACK_PRESSURED;
            }
            final MutableDirectBuffer out = ring.buffer();
            out.putLong(at + FROM, response.from());
            out.putLong(at + TO, response.to());
            out.putLong(at + TERM, response.term());
            out.putLong(at + MATCH, response.matchIndex());
            out.putLong(at + CONFLICT_TERM, response.conflictTerm());
            out.putLong(at + CONFLICT_INDEX, response.conflictIndex());
            out.putLong(at + SEQ, response.seq());
            out.putByte(at + SUCCESS, (byte)(response.success() ? 1 : 0));
            ring.commit(at);
            return SENT;
        }

        private void checkLength(final int length, final RaftMessage message)
        {
            if (length > ring.maxMsgLength())
            {
                throw new IllegalArgumentException("message of " + length + " bytes exceeds the in-JVM network's largest message of " +
                    ring.maxMsgLength() + " bytes (an eighth of ringBytes): " + message);
            }
        }

        private void onRingMessage(final int type, final MutableDirectBuffer buffer, final int at, final int length)
        {
            if (type == REQUEST)
            {
                received.set(buffer.getLong(at + FROM), buffer.getLong(at + TO), buffer.getLong(at + TERM),
                    buffer.getLong(at + PREV_TERM), buffer.getLong(at + PREV_INDEX), buffer.getLong(at + COMMIT), buffer.getLong(at + SEQ))
                    .entries().wrap(buffer, at + REQUEST_HEADER, buffer.getInt(at + COUNT), EntryBatch.ENTRY_HEADER_LENGTH);
                handler.onMessage(received);
            }
            else
            {
                handler.onMessage(receivedResponse.set(buffer.getLong(at + FROM), buffer.getLong(at + TO), buffer.getLong(at + TERM),
                    buffer.getByte(at + SUCCESS) != 0, buffer.getLong(at + MATCH), buffer.getLong(at + CONFLICT_TERM),
                    buffer.getLong(at + CONFLICT_INDEX), buffer.getLong(at + SEQ)));
            }
        }

        /**
         * {@inheritDoc}
         *
         * @throws IllegalArgumentException if {@code message.from()} is not this endpoint's node,
         *                                  or an AppendEntries is longer than {@link #maxMessageLength()}
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

        /**
         * {@inheritDoc}
         * <p>
         * An AppendEntries or its response is valid only during {@code onMessage}.
         */
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
            if (delivered < limit && !closed)
            {
                this.handler = handler;
                try
                {
                    delivered += ring.read(ringReader, limit - delivered);
                }
                finally
                {
                    this.handler = null;
                }
            }
            return delivered;
        }

        /** @return the longest AppendEntries the ring carries, an eighth of its size */
        @Override
        public int maxMessageLength()
        {
            return ring.maxMsgLength();
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
