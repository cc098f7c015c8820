package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.Counter;

/**
 * The counters of one {@link AeronRaftNetwork}, allocated on the media driver's counters file
 * (type id {@link #TYPE_ID}, labels starting "ringraft transport node=N"), so AeronStat and other
 * Aeron tooling read them from outside the process. Each counter has a single writer: the sending
 * thread for send results, the polling thread for received and dropped frames. After the network is
 * closed the getters return the final values. If the Aeron client stops under the network (a conductor not
 * run within the driver's timeout in invoker mode), its counters read 0 and count nothing from then on,
 * rather than touch memory Aeron has unmapped.
 */
public final class TransportCounters implements AutoCloseable
{
    /** The Aeron counter type id of every ringraft transport counter. */
    public static final int TYPE_ID = 1701;

    private static final DropReason[] REASONS = DropReason.values();

    private final Counter sent;
    private final Counter received;
    private final Counter backPressured;
    private final Counter notConnected;
    private final Counter endpointsRefused;
    private final Counter introductions;
    private final Counter[] dropped = new Counter[REASONS.length];
    private final long[] finalDropped = new long[REASONS.length];
    private long finalSent;
    private long finalReceived;
    private long finalBackPressured;
    private long finalNotConnected;
    private long finalEndpointsRefused;
    private long finalIntroductions;
    private volatile boolean closed;

    TransportCounters(final Aeron aeron, final long nodeId)
    {
        final String prefix = "ringraft transport node=" + nodeId + " ";
        sent = aeron.addCounter(TYPE_ID, prefix + "messages sent");
        received = aeron.addCounter(TYPE_ID, prefix + "messages received");
        backPressured = aeron.addCounter(TYPE_ID, prefix + "sends back-pressured");
        notConnected = aeron.addCounter(TYPE_ID, prefix + "sends not connected");
        endpointsRefused = aeron.addCounter(TYPE_ID, prefix + "member endpoints refused");
        introductions = aeron.addCounter(TYPE_ID, prefix + "introductions from non-members delivered");
        for (final DropReason reason : REASONS)
        {
            dropped[reason.ordinal()] = aeron.addCounter(TYPE_ID, prefix + "frames dropped " + reason);
        }
    }

    /*
     * An Aeron client whose conductor stops (its owner did not run it within the driver's timeout in invoker
     * mode, or the driver went away) closes its counters and unmaps their memory: touching one then crashes
     * the JVM. So every access checks first; counts from then on are lost, and a closed counter reads 0.
     */
    private static void increment(final Counter counter)
    {
        if (!counter.isClosed())
        {
            counter.incrementOrdered();
        }
    }

    private static long read(final Counter counter)
    {
        return counter.isClosed() ? 0 : counter.get();
    }

    void onSent()
    {
        increment(sent);
    }

    void onReceived()
    {
        increment(received);
    }

    void onBackPressured()
    {
        increment(backPressured);
    }

    void onNotConnected()
    {
        increment(notConnected);
    }

    void onEndpointRefused()
    {
        increment(endpointsRefused);
    }

    void onIntroductionFromNonMember()
    {
        increment(introductions);
    }

    void onDropped(final DropReason reason)
    {
        increment(dropped[reason.ordinal()]);
    }

    /** @return messages handed to Aeron */
    public long sent()
    {
        return closed ? finalSent : read(sent);
    }

    /** @return messages decoded and delivered to a poll handler */
    public long received()
    {
        return closed ? finalReceived : read(received);
    }

    /** @return sends that returned {@link io.ringraft.network.RaftNetwork#BACK_PRESSURED} */
    public long backPressured()
    {
        return closed ? finalBackPressured : read(backPressured);
    }

    /** @return sends that returned {@link io.ringraft.network.RaftNetwork#NOT_CONNECTED} for a configured peer */
    public long notConnected()
    {
        return closed ? finalNotConnected : read(notConnected);
    }

    /** @return members whose endpoint (from the membership) could not be used: no publication was opened to them */
    public long endpointsRefused()
    {
        return closed ? finalEndpointsRefused : read(endpointsRefused);
    }

    /**
     * @return introductions ({@link io.ringraft.network.Introduce}) delivered from senders that are not
     *         peers: a leader this node's membership does not name reaching it (those beyond the rate
     *         limit are counted under {@link DropReason#INTRODUCTION_LIMITED})
     */
    public long introductionsFromNonMembers()
    {
        return closed ? finalIntroductions : read(introductions);
    }

    /**
     * @param reason a reason
     * @return frames dropped for that reason
     */
    public long dropped(final DropReason reason)
    {
        return closed ? finalDropped[reason.ordinal()] : read(dropped[reason.ordinal()]);
    }

    /** @return frames dropped for any reason */
    public long droppedTotal()
    {
        long total = 0;
        for (final DropReason reason : REASONS)
        {
            total += dropped(reason);
        }
        return total;
    }

    /** Keeps the final values and frees the counters on the driver. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        finalSent = read(sent);
        finalReceived = read(received);
        finalBackPressured = read(backPressured);
        finalNotConnected = read(notConnected);
        finalEndpointsRefused = read(endpointsRefused);
        finalIntroductions = read(introductions);
        for (final DropReason reason : REASONS)
        {
            finalDropped[reason.ordinal()] = read(dropped[reason.ordinal()]);
        }
        closed = true;
        sent.close();
        received.close();
        backPressured.close();
        notConnected.close();
        endpointsRefused.close();
        introductions.close();
        for (final Counter counter : dropped)
        {
            counter.close();
        }
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("TransportCounters{sent=").append(sent())
            .append(" received=").append(received())
            .append(" backPressured=").append(backPressured())
            .append(" notConnected=").append(notConnected())
            .append(" introductionsFromNonMembers=").append(introductionsFromNonMembers());
        for (final DropReason reason : REASONS)
        {
            final long n = dropped(reason);
            if (n > 0)
            {
                sb.append(" dropped.").append(reason).append('=').append(n);
            }
        }
        return sb.append('}').toString();
    }
}
