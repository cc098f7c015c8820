package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.Counter;

/**
 * The counters of one {@link AeronRaftNetwork}, allocated on the media driver's counters file
 * (type id {@link #TYPE_ID}, labels starting "ringraft transport node=N"), so AeronStat and other
 * Aeron tooling read them from outside the process. Each counter has a single writer: the sending
 * thread for send results, the polling thread for received and dropped frames. After the network is
 * closed the getters return the final values.
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
    private final Counter[] dropped = new Counter[REASONS.length];
    private final long[] finalDropped = new long[REASONS.length];
    private long finalSent;
    private long finalReceived;
    private long finalBackPressured;
    private long finalNotConnected;
    private long finalEndpointsRefused;
    private volatile boolean closed;

    TransportCounters(final Aeron aeron, final long nodeId)
    {
        final String prefix = "ringraft transport node=" + nodeId + " ";
        sent = aeron.addCounter(TYPE_ID, prefix + "messages sent");
        received = aeron.addCounter(TYPE_ID, prefix + "messages received");
        backPressured = aeron.addCounter(TYPE_ID, prefix + "sends back-pressured");
        notConnected = aeron.addCounter(TYPE_ID, prefix + "sends not connected");
        endpointsRefused = aeron.addCounter(TYPE_ID, prefix + "member endpoints refused");
        for (final DropReason reason : REASONS)
        {
            dropped[reason.ordinal()] = aeron.addCounter(TYPE_ID, prefix + "frames dropped " + reason);
        }
    }

    void onSent()
    {
        sent.incrementOrdered();
    }

    void onReceived()
    {
        received.incrementOrdered();
    }

    void onBackPressured()
    {
        backPressured.incrementOrdered();
    }

    void onNotConnected()
    {
        notConnected.incrementOrdered();
    }

    void onEndpointRefused()
    {
        endpointsRefused.incrementOrdered();
    }

    void onDropped(final DropReason reason)
    {
        dropped[reason.ordinal()].incrementOrdered();
    }

    /** @return messages handed to Aeron */
    public long sent()
    {
        return closed ? finalSent : sent.get();
    }

    /** @return messages decoded and delivered to a poll handler */
    public long received()
    {
        return closed ? finalReceived : received.get();
    }

    /** @return sends that returned {@link io.ringraft.network.RaftNetwork#BACK_PRESSURED} */
    public long backPressured()
    {
        return closed ? finalBackPressured : backPressured.get();
    }

    /** @return sends that returned {@link io.ringraft.network.RaftNetwork#NOT_CONNECTED} for a configured peer */
    public long notConnected()
    {
        return closed ? finalNotConnected : notConnected.get();
    }

    /** @return members whose endpoint (from the membership) could not be used: no publication was opened to them */
    public long endpointsRefused()
    {
        return closed ? finalEndpointsRefused : endpointsRefused.get();
    }

    /**
     * @param reason a reason
     * @return frames dropped for that reason
     */
    public long dropped(final DropReason reason)
    {
        return closed ? finalDropped[reason.ordinal()] : dropped[reason.ordinal()].get();
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
        finalSent = sent.get();
        finalReceived = received.get();
        finalBackPressured = backPressured.get();
        finalNotConnected = notConnected.get();
        finalEndpointsRefused = endpointsRefused.get();
        for (final DropReason reason : REASONS)
        {
            finalDropped[reason.ordinal()] = dropped[reason.ordinal()].get();
        }
        closed = true;
        sent.close();
        received.close();
        backPressured.close();
        notConnected.close();
        endpointsRefused.close();
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
            .append(" notConnected=").append(notConnected());
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
