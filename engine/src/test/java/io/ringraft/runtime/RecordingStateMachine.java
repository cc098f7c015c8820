package io.ringraft.runtime;

import io.ringraft.LogId;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;

/** A state machine that records every command it applies (as a long) and answers with the index. */
class RecordingStateMachine implements RaftStateMachine
{
    private final List<Long> applied = new ArrayList<>();
    private volatile long lastApplied;
    private volatile int snapshotsInstalled;

    @Override
    public LogId lastApplied()
    {
        return LogId.ZERO;
    }

    @Override
    public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
        final MutableDirectBuffer response)
    {
        synchronized (applied)
        {
            applied.add(length >= 8 ? payload.getLong(offset) : -length);
        }
        response.putLong(0, index);
        return 8;
    }

    @Override
    public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
    {
        this.lastApplied = lastAppliedIndex;
    }

    @Override
    public void buildSnapshot(final SnapshotWriter writer)
    {
        final List<Long> copy = commands();
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
        for (final long c : copy)
        {
            buffer.putLong(0, c);
            writer.write(buffer, 0, 8);
        }
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
        snapshotsInstalled++;
        synchronized (applied)
        {
            applied.clear();
            for (long pos = 0; pos < reader.size(); pos += 8)
            {
                reader.read(pos, buffer, 0, 8);
                applied.add(buffer.getLong(0));
            }
        }
    }

    List<Long> commands()
    {
        synchronized (applied)
        {
            return new ArrayList<>(applied);
        }
    }

    int snapshotsInstalled()
    {
        return snapshotsInstalled;
    }

    long lastAppliedIndex()
    {
        return lastApplied;
    }
}
