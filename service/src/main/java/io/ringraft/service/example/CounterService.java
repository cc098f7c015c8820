package io.ringraft.service.example;

import io.ringraft.service.Cluster;
import io.ringraft.service.ClusteredService;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * An example service: a counter with timers, small enough to read in one go and checked by the
 * exactly-once and timer tests. Commands (little-endian):
 * <pre>
 * INCREMENT 1  i64 delta                 response: i64 the new value
 * SCHEDULE  2  i64 timer id, i64 delay ns response: i64 the deadline (cluster time + delay)
 * CANCEL    3  i64 timer id               response: u8 1 if it was scheduled
 * </pre>
 * A query (any bytes) answers {@value #QUERY_LONGS} longs: value, increments applied, timers
 * fired, timers fired twice, cluster-time regressions seen, last cluster time. Every callback
 * checks that cluster time never goes backwards.
 */
public final class CounterService implements ClusteredService
{
    /** Adds a delta. */
    public static final byte INCREMENT = 1;
    /** Schedules a timer. */
    public static final byte SCHEDULE = 2;
    /** Cancels a timer. */
    public static final byte CANCEL = 3;
    /** Longs in a query's answer. */
    public static final int QUERY_LONGS = 6;

    private final LongHashSet fired = new LongHashSet();
    private Cluster cluster;
    private long value;
    private long increments;
    private long timersFired;
    private long duplicateFires;
    private long regressions;
    private long lastClusterTimeNs;
    private volatile long[] published = new long[QUERY_LONGS];

    @Override
    public void onStart(final Cluster cluster)
    {
        this.cluster = cluster;
    }

    @Override
    public int onCommand(final long sessionId, final long sequence, final long clusterTimeNs, final DirectBuffer command, final int offset,
        final int length, final MutableDirectBuffer response, final int responseOffset)
    {
        observe(clusterTimeNs);
        if (length < 9)
        {
            return 0;
        }
        final byte op = command.getByte(offset);
        final long a = command.getLong(offset + 1);
        switch (op)
        {
            case INCREMENT:
                value += a;
                increments++;
                publish();
                response.putLong(responseOffset, value);
                return 8;
            case SCHEDULE:
            {
                final long deadline = clusterTimeNs + (length >= 17 ? command.getLong(offset + 9) : 0);
                cluster.scheduleTimer(a, deadline);
                response.putLong(responseOffset, deadline);
                return 8;
            }
            case CANCEL:
                response.putByte(responseOffset, (byte)(cluster.cancelTimer(a) ? 1 : 0));
                return 1;
            default:
                return 0;
        }
    }

    @Override
    public void onTimer(final long timerId, final long clusterTimeNs)
    {
        observe(clusterTimeNs);
        timersFired++;
        if (!fired.add(timerId))
        {
            duplicateFires++;
        }
        publish();
    }

    @Override
    public int onQuery(final DirectBuffer query, final int offset, final int length, final MutableDirectBuffer response,
        final int responseOffset)
    {
        final long[] p = published;
        for (int i = 0; i < QUERY_LONGS; i++)
        {
            response.putLong(responseOffset + i * 8, p[i]);
        }
        return QUERY_LONGS * 8;
    }

    @Override
    public void onTakeSnapshot(final SnapshotWriter writer)
    {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[QUERY_LONGS * 8 + 4 + fired.size() * 8]);
        final long[] fields = fields();
        for (int i = 0; i < QUERY_LONGS; i++)
        {
            b.putLong(i * 8, fields[i]);
        }
        b.putInt(QUERY_LONGS * 8, fired.size());
        int cursor = QUERY_LONGS * 8 + 4;
        for (final long id : fired.toArray(new Long[0]))
        {
            b.putLong(cursor, id);
            cursor += 8;
        }
        writer.write(b, 0, cursor);
    }

    @Override
    public void onLoadSnapshot(final SnapshotReader reader)
    {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[(int)reader.size()]);
        int read = 0;
        while (read < b.capacity())
        {
            final int n = reader.read(read, b, read, b.capacity() - read);
            if (n <= 0)
            {
                throw new IllegalStateException("counter snapshot ended at " + read + " of " + b.capacity() + " bytes");
            }
            read += n;
        }
        value = b.getLong(0);
        increments = b.getLong(8);
        timersFired = b.getLong(16);
        duplicateFires = b.getLong(24);
        regressions = b.getLong(32);
        lastClusterTimeNs = b.getLong(40);
        fired.clear();
        final int count = b.getInt(QUERY_LONGS * 8);
        for (int i = 0; i < count; i++)
        {
            fired.add(b.getLong(QUERY_LONGS * 8 + 4 + i * 8));
        }
        publish();
    }

    /** @return the current value (apply thread's view, published after each change) */
    public long value()
    {
        return published[0];
    }

    /** @return the query fields: value, increments, timers fired, duplicate fires, regressions, last cluster time */
    public long[] fields()
    {
        return new long[] {value, increments, timersFired, duplicateFires, regressions, lastClusterTimeNs};
    }

    private void observe(final long clusterTimeNs)
    {
        if (clusterTimeNs < lastClusterTimeNs)
        {
            regressions++;
        }
        lastClusterTimeNs = Math.max(lastClusterTimeNs, clusterTimeNs);
    }

    private void publish()
    {
        published = fields();
    }

    /**
     * Encodes a command.
     *
     * @param op an op of this class
     * @param a  its first argument (delta or timer id)
     * @param b  its second argument (delay ns for SCHEDULE, else ignored)
     * @return the command bytes
     */
    public static byte[] command(final byte op, final long a, final long b)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[17]);
        buffer.putByte(0, op);
        buffer.putLong(1, a);
        buffer.putLong(9, b);
        return buffer.byteArray();
    }
}
