package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * The simulated network between the nodes of a {@link SimCluster}: every message is delivered
 * after a random delay within bounds (so messages reorder), or lost, or duplicated, as the
 * current fault settings say; links can be cut one way or both; filters drop, hold or rewrite
 * chosen messages. A link is checked when the message is sent and again when it arrives, so a
 * partition also stops messages already in flight.
 * <p>
 * What a sent message goes through, in order: a cut link or a drop filter drops it; rewrite
 * filters replace it (e.g. by a prefix of its entries, {@link #firstEntries}); a hold filter holds
 * it (see {@link #held()}); random loss, partial appends and duplication apply; it is delivered
 * after a delay drawn from its link's bounds if set ({@link #delay(long, long, long, long)}), else
 * its type's ({@link #delay(MessageType, long, long)}), else the global ones.
 * <p>
 * Counters: {@link #sent(long, MessageType)} by sender, {@link #delivered(long, MessageType)} and
 * {@link #dropped(long, MessageType)} by receiver; node 0 and a null type mean all.
 */
public final class SimNetwork
{
    private static final int TYPES = MessageType.values().length;

    private final SimCluster cluster;
    private final boolean[][] cut;
    private final long[][] linkDelay;
    private final long[][] typeDelay = new long[TYPES][];
    private final List<Predicate<RaftMessage>> dropFilters = new ArrayList<>();
    private final List<Predicate<RaftMessage>> holdFilters = new ArrayList<>();
    private final List<Rewrite> rewrites = new ArrayList<>();
    private final List<HeldMessage> held = new ArrayList<>();
    private final long[][] sentBy;
    private final long[][] deliveredTo;
    private final long[][] droppedTo;
    private long minDelayNanos;
    private long maxDelayNanos;
    private double lossRate;
    private double duplicateRate;
    private double partialAppendRate;
    private boolean streams;
    private long[] streamTailNanos;
    private long sent;
    private long delivered;
    private long dropped;
    private long duplicated;

    SimNetwork(final SimCluster cluster, final int nodeCount, final long minDelayNanos, final long maxDelayNanos)
    {
        this.cluster = cluster;
        this.cut = new boolean[nodeCount + 1][nodeCount + 1];
        this.linkDelay = new long[(nodeCount + 1) * (nodeCount + 1)][];
        this.sentBy = new long[nodeCount + 1][TYPES];
        this.deliveredTo = new long[nodeCount + 1][TYPES];
        this.droppedTo = new long[nodeCount + 1][TYPES];
        this.streamTailNanos = new long[(nodeCount + 1) * (nodeCount + 1)];
        delay(minDelayNanos, maxDelayNanos);
    }

    /**
     * Sets the bounds of the delivery delay of every message whose link and type have no bounds of their own.
     *
     * @param minNanos the shortest delay
     * @param maxNanos the longest delay, {@code >= minNanos}
     * @return this
     */
    public SimNetwork delay(final long minNanos, final long maxNanos)
    {
        checkDelay(minNanos, maxNanos);
        this.minDelayNanos = minNanos;
        this.maxDelayNanos = maxNanos;
        return this;
    }

    /**
     * Sets the delay bounds of one link (one way), which win over the type's and the global ones.
     *
     * @param from     the sender
     * @param to       the receiver
     * @param minNanos the shortest delay
     * @param maxNanos the longest delay, {@code >= minNanos}
     * @return this
     */
    public SimNetwork delay(final long from, final long to, final long minNanos, final long maxNanos)
    {
        checkDelay(minNanos, maxNanos);
        linkDelay[link(from, to)] = new long[] {minNanos, maxNanos};
        return this;
    }

    /**
     * Sets the delay bounds of one type of message, which win over the global ones.
     *
     * @param type     the type
     * @param minNanos the shortest delay
     * @param maxNanos the longest delay, {@code >= minNanos}
     * @return this
     */
    public SimNetwork delay(final MessageType type, final long minNanos, final long maxNanos)
    {
        checkDelay(minNanos, maxNanos);
        typeDelay[type.ordinal()] = new long[] {minNanos, maxNanos};
        return this;
    }

    /** Removes every per-link and per-type delay: every message takes the global bounds again. */
    public void clearDelays()
    {
        Arrays.fill(linkDelay, null);
        Arrays.fill(typeDelay, null);
    }

    /**
     * @param rate the probability that a message is lost, in [0, 1]
     * @return this
     */
    public SimNetwork lossRate(final double rate)
    {
        this.lossRate = checkRate(rate, "lossRate");
        return this;
    }

    /**
     * Makes every link an ordered, reliable stream, as an Aeron publication is: random loss no
     * longer loses a message but delays it by a repair (the receiver notices the gap when a later
     * packet arrives, asks the sender again and gets it one more delay later; each attempt may be
     * lost again), every message behind it on the link waits for it (head-of-line blocking), a
     * message never overtakes an earlier one on its link, and duplicates are discarded. Cut links,
     * filters and partial appends are unchanged. Off by default (a datagram network).
     *
     * @param on true for streams
     * @return this
     */
    public SimNetwork reliableStreams(final boolean on)
    {
        this.streams = on;
        Arrays.fill(streamTailNanos, 0);
        return this;
    }

    /**
     * @param rate the probability that a message is delivered twice, in [0, 1]
     * @return this
     */
    public SimNetwork duplicateRate(final double rate)
    {
        this.duplicateRate = checkRate(rate, "duplicateRate");
        return this;
    }

    /**
     * @param rate the probability that an AppendEntries with several entries delivers only a
     *             prefix of them, in [0, 1]
     * @return this
     */
    public SimNetwork partialAppendRate(final double rate)
    {
        this.partialAppendRate = checkRate(rate, "partialAppendRate");
        return this;
    }

    /**
     * Cuts the link from one node to another (one way).
     *
     * @param from the sender
     * @param to   the receiver
     */
    public void cut(final long from, final long to)
    {
        cut[(int)from][(int)to] = true;
    }

    /**
     * Restores the link from one node to another (one way).
     *
     * @param from the sender
     * @param to   the receiver
     */
    public void restore(final long from, final long to)
    {
        cut[(int)from][(int)to] = false;
    }

    /**
     * @param from the sender
     * @param to   the receiver
     * @return true if messages from {@code from} reach {@code to}
     */
    public boolean connected(final long from, final long to)
    {
        return !cut[(int)from][(int)to];
    }

    /** Restores every link; filters stay. */
    public void restoreLinks()
    {
        for (final boolean[] row : cut)
        {
            Arrays.fill(row, false);
        }
    }

    /** Restores every link and removes the drop, hold and rewrite filters; held messages stay held. */
    public void healLinks()
    {
        restoreLinks();
        dropFilters.clear();
        holdFilters.clear();
        rewrites.clear();
    }

    /** Back to a reliable network: no loss, duplication or partial appends. */
    public void reliable()
    {
        lossRate = 0;
        duplicateRate = 0;
        partialAppendRate = 0;
    }

    /**
     * @param filter messages it accepts are dropped, until removed
     * @return the filter, to pass to {@link #removeFilter}
     */
    public Predicate<RaftMessage> drop(final Predicate<RaftMessage> filter)
    {
        dropFilters.add(filter);
        return filter;
    }

    /**
     * @param filter messages it accepts are held back until released (see {@link #held()})
     * @return the filter, to pass to {@link #removeFilter}
     */
    public Predicate<RaftMessage> hold(final Predicate<RaftMessage> filter)
    {
        holdFilters.add(filter);
        return filter;
    }

    /**
     * Rewrites messages as they are sent: each message the filter accepts is replaced by what the
     * rewriter returns (null drops it), until removed.
     *
     * @param filter   which messages to rewrite
     * @param rewriter the new message, from the old (a copy the network owns)
     * @return the filter, to pass to {@link #removeFilter}
     */
    public Predicate<RaftMessage> rewrite(final Predicate<RaftMessage> filter, final UnaryOperator<RaftMessage> rewriter)
    {
        rewrites.add(new Rewrite(filter, rewriter));
        return filter;
    }

    /**
     * @param filter a drop, hold or rewrite filter
     */
    public void removeFilter(final Predicate<RaftMessage> filter)
    {
        dropFilters.remove(filter);
        holdFilters.remove(filter);
        rewrites.removeIf(r -> r.filter == filter);
    }

    /**
     * @param append an AppendEntries
     * @param count  how many of its first entries to keep, {@code 0 <= count <= size}
     * @return a copy that carries only its first {@code count} entries (a partial delivery)
     */
    public static AppendEntriesRequest firstEntries(final AppendEntriesRequest append, final int count)
    {
        if (count < 0 || count > append.entries().size())
        {
            throw new IllegalArgumentException("cannot keep " + count + " of the " + append.entries().size() + " entries of " + append);
        }
        final List<Entry> prefix = append.entries().toList().subList(0, count);
        return new AppendEntriesRequest(append.from(), append.to(), append.term(), append.prevLogId(), append.leaderCommit(),
            append.seq(), List.copyOf(prefix));
    }

    /** @return how many messages are held */
    public int heldCount()
    {
        return held.size();
    }

    /** @return the held messages, in the order they were held; each can be released, delayed or dropped on its own */
    public List<HeldMessage> held()
    {
        return List.copyOf(held);
    }

    /** Sends every held message now (each with a fresh delay), in the order they were held. */
    public void releaseHeld()
    {
        releaseHeld(m -> true);
    }

    /**
     * Sends the held messages the predicate accepts (each with a fresh delay), in the order they were held.
     *
     * @param which which to release
     * @return how many were released
     */
    public int releaseHeld(final Predicate<RaftMessage> which)
    {
        int released = 0;
        for (final HeldMessage message : held())
        {
            if (which.test(message.message))
            {
                message.release();
                released++;
            }
        }
        return released;
    }

    /** @return messages sent */
    public long sent()
    {
        return sent;
    }

    /** @return messages delivered */
    public long delivered()
    {
        return delivered;
    }

    /** @return messages dropped (lost, filtered or cut) */
    public long dropped()
    {
        return dropped;
    }

    /** @return messages duplicated */
    public long duplicated()
    {
        return duplicated;
    }

    /**
     * @param node the sender, or 0 for every node
     * @param type the type, or null for every type
     * @return how many such messages were sent (duplicates not counted again)
     */
    public long sent(final long node, final MessageType type)
    {
        return count(sentBy, node, type);
    }

    /**
     * @param node the receiver, or 0 for every node
     * @param type the type, or null for every type
     * @return how many such messages were handed to the receiver
     */
    public long delivered(final long node, final MessageType type)
    {
        return count(deliveredTo, node, type);
    }

    /**
     * @param node the receiver, or 0 for every node
     * @param type the type, or null for every type
     * @return how many such messages were dropped on the way (cut, filtered, lost, or a held message dropped)
     */
    public long dropped(final long node, final MessageType type)
    {
        return count(droppedTo, node, type);
    }

    void send(final RaftMessage sentMessage)
    {
        // Senders reuse their messages; the network keeps, delays and duplicates its own copy.
        RaftMessage message = sentMessage.copy();
        sent++;
        sentBy[(int)message.from()][MessageType.of(message).ordinal()]++;
        cluster.trace(message.from(), "send", message);
        if (cut[(int)message.from()][(int)message.to()] || matches(dropFilters, message))
        {
            countDropped(message);
            return;
        }
        for (int i = 0; i < rewrites.size() && message != null; i++)
        {
            if (rewrites.get(i).filter.test(message))
            {
                message = rewrites.get(i).rewriter.apply(message);
                cluster.trace(sentMessage.from(), "rewrite", message);
            }
        }
        if (message == null)
        {
            countDropped(sentMessage);
            return;
        }
        if (matches(holdFilters, message))
        {
            held.add(new HeldMessage(message));
            return;
        }
        final SplittableRandom random = cluster.random();
        if (streams)
        {
            sendOnStream(message, random);
            return;
        }
        if (lossRate > 0 && random.nextDouble() < lossRate)
        {
            countDropped(message);
            return;
        }
        RaftMessage toSend = message;
        if (partialAppendRate > 0 && message instanceof AppendEntriesRequest append && append.entries().size() > 1 &&
            random.nextDouble() < partialAppendRate)
        {
            toSend = firstEntries(append, random.nextInt(1, append.entries().size()));
        }
        schedule(toSend);
        if (duplicateRate > 0 && random.nextDouble() < duplicateRate)
        {
            duplicated++;
            schedule(toSend);
        }
    }

    private void sendOnStream(final RaftMessage message, final SplittableRandom random)
    {
        RaftMessage toSend = message;
        if (partialAppendRate > 0 && message instanceof AppendEntriesRequest append && append.entries().size() > 1 &&
            random.nextDouble() < partialAppendRate)
        {
            toSend = firstEntries(append, random.nextInt(1, append.entries().size()));
        }
        long delay = drawDelay(message);
        while (lossRate > 0 && random.nextDouble() < lossRate)
        {
            // lost: noticed when a later packet arrives, asked again (one delay back), resent (one delay on)
            delay += drawDelay(message) + drawDelay(message) + drawDelay(message);
        }
        final int link = link(message.from(), message.to());
        final long now = cluster.nowNanos();
        final long arrival = Math.max(now + delay, streamTailNanos[link]);
        streamTailNanos[link] = arrival;
        cluster.scheduleDelivery(arrival - now, toSend);
    }

    private void schedule(final RaftMessage message)
    {
        cluster.scheduleDelivery(drawDelay(message), message);
    }

    private long drawDelay(final RaftMessage message)
    {
        long[] bounds = linkDelay[link(message.from(), message.to())];
        if (bounds == null)
        {
            bounds = typeDelay[MessageType.of(message).ordinal()];
        }
        final long min = bounds == null ? minDelayNanos : bounds[0];
        final long max = bounds == null ? maxDelayNanos : bounds[1];
        return min == max ? min : cluster.random().nextLong(min, max + 1);
    }

    boolean deliverable(final RaftMessage message)
    {
        if (cut[(int)message.from()][(int)message.to()])
        {
            countDropped(message);
            return false;
        }
        delivered++;
        deliveredTo[(int)message.to()][MessageType.of(message).ordinal()]++;
        return true;
    }

    private void countDropped(final RaftMessage message)
    {
        dropped++;
        droppedTo[(int)message.to()][MessageType.of(message).ordinal()]++;
    }

    private int link(final long from, final long to)
    {
        final int n = cut.length;
        if (from < 1 || from >= n || to < 1 || to >= n)
        {
            throw new IllegalArgumentException("no link " + from + "->" + to + " in a cluster of " + (n - 1));
        }
        return (int)from * n + (int)to;
    }

    private static long count(final long[][] counts, final long node, final MessageType type)
    {
        long total = 0;
        for (int id = node == 0 ? 1 : (int)node; id <= (node == 0 ? counts.length - 1 : node); id++)
        {
            for (int t = 0; t < TYPES; t++)
            {
                total += type == null || type.ordinal() == t ? counts[id][t] : 0;
            }
        }
        return total;
    }

    private static boolean matches(final List<Predicate<RaftMessage>> filters, final RaftMessage message)
    {
        for (int i = 0; i < filters.size(); i++)
        {
            if (filters.get(i).test(message))
            {
                return true;
            }
        }
        return false;
    }

    private static void checkDelay(final long minNanos, final long maxNanos)
    {
        if (minNanos < 0 || maxNanos < minNanos)
        {
            throw new IllegalArgumentException("delay bounds must satisfy 0 <= min <= max: " + minNanos + ", " + maxNanos);
        }
    }

    private static double checkRate(final double rate, final String name)
    {
        if (!(rate >= 0 && rate <= 1))
        {
            throw new IllegalArgumentException(name + " must be in [0, 1]: " + rate);
        }
        return rate;
    }

    private record Rewrite(Predicate<RaftMessage> filter, UnaryOperator<RaftMessage> rewriter)
    {
    }

    /** A message a hold filter holds back: release it, with a fresh or a chosen delay, cut it short, or drop it. */
    public final class HeldMessage
    {
        private RaftMessage message;

        private HeldMessage(final RaftMessage message)
        {
            this.message = message;
        }

        /** @return the message */
        public RaftMessage message()
        {
            return message;
        }

        /** @return its type */
        public MessageType type()
        {
            return MessageType.of(message);
        }

        /** @return true while it is held */
        public boolean isHeld()
        {
            return held.contains(this);
        }

        /** Sends it now with a fresh delay (the link's, the type's or the global bounds). */
        public void release()
        {
            take();
            cluster.trace(message.to(), "release", message);
            schedule(message);
        }

        /**
         * Sends it now to arrive exactly {@code delayNanos} later (0: in the next step).
         *
         * @param delayNanos the delay, {@code >= 0}
         */
        public void release(final long delayNanos)
        {
            if (delayNanos < 0)
            {
                throw new IllegalArgumentException("delay must be >= 0: " + delayNanos);
            }
            take();
            cluster.trace(message.to(), "release", message);
            cluster.scheduleDelivery(delayNanos, message);
        }

        /** Drops it: it is never delivered. */
        public void drop()
        {
            take();
            cluster.trace(message.to(), "drop-held", message);
            countDropped(message);
        }

        /**
         * Keeps only the first entries of this AppendEntries (it stays held).
         *
         * @param count how many of its entries to keep
         * @throws IllegalArgumentException if it is not an AppendEntries, or has fewer entries
         */
        public void keepFirstEntries(final int count)
        {
            if (!(message instanceof AppendEntriesRequest append))
            {
                throw new IllegalArgumentException("not an AppendEntries: " + message);
            }
            message = firstEntries(append, count);
        }

        private void take()
        {
            if (!held.remove(this))
            {
                throw new IllegalStateException("not held any more: " + message);
            }
        }

        @Override
        public String toString()
        {
            return String.valueOf(message);
        }
    }
}
