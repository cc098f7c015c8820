package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Predicate;

/**
 * The simulated network between the nodes of a {@link SimCluster}: every message is delivered
 * after a random delay within bounds (so messages reorder), or lost, or duplicated, as the
 * current fault settings say; links can be cut one way or both; filters drop or hold chosen
 * messages. A link is checked when the message is sent and again when it arrives, so a partition
 * also stops messages already in flight.
 */
public final class SimNetwork
{
    private final SimCluster cluster;
    private final boolean[][] cut;
    private final List<Predicate<RaftMessage>> dropFilters = new ArrayList<>();
    private final List<Predicate<RaftMessage>> holdFilters = new ArrayList<>();
    private final List<RaftMessage> held = new ArrayList<>();
    private long minDelayNanos;
    private long maxDelayNanos;
    private double lossRate;
    private double duplicateRate;
    private double partialAppendRate;
    private long sent;
    private long delivered;
    private long dropped;
    private long duplicated;

    SimNetwork(final SimCluster cluster, final int nodeCount, final long minDelayNanos, final long maxDelayNanos)
    {
        this.cluster = cluster;
        this.cut = new boolean[nodeCount + 1][nodeCount + 1];
        delay(minDelayNanos, maxDelayNanos);
    }

    /**
     * Sets the bounds of the delivery delay.
     *
     * @param minNanos the shortest delay
     * @param maxNanos the longest delay, {@code >= minNanos}
     * @return this
     */
    public SimNetwork delay(final long minNanos, final long maxNanos)
    {
        if (minNanos < 0 || maxNanos < minNanos)
        {
            throw new IllegalArgumentException("delay bounds must satisfy 0 <= min <= max: " + minNanos + ", " + maxNanos);
        }
        this.minDelayNanos = minNanos;
        this.maxDelayNanos = maxNanos;
        return this;
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

    /** Restores every link and removes the drop and hold filters; held messages stay held. */
    public void healLinks()
    {
        for (final boolean[] row : cut)
        {
            Arrays.fill(row, false);
        }
        dropFilters.clear();
        holdFilters.clear();
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
     * @param filter messages it accepts are held back until {@link #releaseHeld()}
     * @return the filter, to pass to {@link #removeFilter}
     */
    public Predicate<RaftMessage> hold(final Predicate<RaftMessage> filter)
    {
        holdFilters.add(filter);
        return filter;
    }

    /**
     * @param filter a drop or hold filter
     */
    public void removeFilter(final Predicate<RaftMessage> filter)
    {
        dropFilters.remove(filter);
        holdFilters.remove(filter);
    }

    /** @return how many messages are held */
    public int heldCount()
    {
        return held.size();
    }

    /** Sends every held message now (each with a fresh delay), in the order they were held. */
    public void releaseHeld()
    {
        final List<RaftMessage> release = new ArrayList<>(held);
        held.clear();
        for (final RaftMessage message : release)
        {
            schedule(message);
        }
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

    void send(final RaftMessage sentMessage)
    {
        // Senders reuse their messages; the network keeps, delays and duplicates its own copy.
        final RaftMessage message = sentMessage.copy();
        sent++;
        cluster.trace(message.from(), "send", message);
        if (cut[(int)message.from()][(int)message.to()] || matches(dropFilters, message))
        {
            dropped++;
            return;
        }
        if (matches(holdFilters, message))
        {
            held.add(message);
            return;
        }
        final SplittableRandom random = cluster.random();
        if (lossRate > 0 && random.nextDouble() < lossRate)
        {
            dropped++;
            return;
        }
        RaftMessage toSend = message;
        if (partialAppendRate > 0 && message instanceof AppendEntriesRequest append && append.entries().size() > 1 &&
            random.nextDouble() < partialAppendRate)
        {
            final List<Entry> prefix = append.entries().toList().subList(0, random.nextInt(1, append.entries().size()));
            toSend = new AppendEntriesRequest(append.from(), append.to(), append.term(), append.prevLogId(),
                append.leaderCommit(), append.seq(), List.copyOf(prefix));
        }
        schedule(toSend);
        if (duplicateRate > 0 && random.nextDouble() < duplicateRate)
        {
            duplicated++;
            schedule(toSend);
        }
    }

    private void schedule(final RaftMessage message)
    {
        final long delay = minDelayNanos == maxDelayNanos ? minDelayNanos :
            cluster.random().nextLong(minDelayNanos, maxDelayNanos + 1);
        cluster.scheduleDelivery(delay, message);
    }

    boolean deliverable(final RaftMessage message)
    {
        if (cut[(int)message.from()][(int)message.to()])
        {
            dropped++;
            return false;
        }
        delivered++;
        return true;
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

    private static double checkRate(final double rate, final String name)
    {
        if (!(rate >= 0 && rate <= 1))
        {
            throw new IllegalArgumentException(name + " must be in [0, 1]: " + rate);
        }
        return rate;
    }
}
