package io.ringraft.transport.aeron;

import io.ringraft.LogId;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/** For the cluster tests that look at the network and the log only: applies nothing; a snapshot is empty. */
final class NoopStateMachine implements RaftStateMachine
{
    @Override
    public LogId lastApplied()
    {
        return LogId.ZERO;
    }

    @Override
    public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
        final MutableDirectBuffer response)
    {
        return 0;
    }

    @Override
    public void buildSnapshot(final SnapshotWriter writer)
    {
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
    {
    }
}
