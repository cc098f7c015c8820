package io.ringraft.bench.core;

import io.ringraft.LogId;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/** The cheapest state machine that still reads each command: sums the first long of each. For benchmarks. */
public final class CountingStateMachine implements RaftStateMachine
{
    private final UnsafeBuffer snapshotBuffer = new UnsafeBuffer(new byte[16]);
    private long count;
    private long sum;

    @Override
    public LogId lastApplied()
    {
        return LogId.ZERO;
    }

    @Override
    public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
        final MutableDirectBuffer response)
    {
        count++;
        sum += payload.getLong(offset);
        return 0;
    }

    @Override
    public void buildSnapshot(final SnapshotWriter writer)
    {
        snapshotBuffer.putLong(0, count);
        snapshotBuffer.putLong(8, sum);
        writer.write(snapshotBuffer, 0, 16);
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
    {
        reader.read(0, snapshotBuffer, 0, 16);
        count = snapshotBuffer.getLong(0);
        sum = snapshotBuffer.getLong(8);
    }
}
