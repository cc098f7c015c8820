package io.ringraft.runtime;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

import java.nio.ByteBuffer;

/**
 * A node's counters, in Agrona counters (the format Aeron's tooling reads): written by the node's
 * threads with ordered stores, readable from any thread.
 */
public final class RaftCounters implements AutoCloseable
{
    /** Counter type id of ringraft counters (distinct from Aeron's own). */
    public static final int TYPE_ID = 1_001;

    private final CountersManager manager;
    final AtomicCounter term;
    final AtomicCounter role;
    final AtomicCounter leader;
    final AtomicCounter lastLogIndex;
    final AtomicCounter committed;
    final AtomicCounter applied;
    final AtomicCounter backPressure;
    final AtomicCounter sendsRetried;
    final AtomicCounter sendsDropped;
    final AtomicCounter errors;

    RaftCounters(final long nodeId, final int maxCounters)
    {
        final int valuesLength = maxCounters * CountersManager.COUNTER_LENGTH;
        final UnsafeBuffer values = new UnsafeBuffer(ByteBuffer.allocateDirect(valuesLength));
        final UnsafeBuffer meta = new UnsafeBuffer(ByteBuffer.allocateDirect(valuesLength * (CountersManager.METADATA_LENGTH /
            CountersManager.COUNTER_LENGTH)));
        manager = new CountersManager(meta, values);
        final String prefix = "ringraft node " + nodeId + " ";
        term = manager.newCounter(prefix + "term", TYPE_ID);
        role = manager.newCounter(prefix + "role", TYPE_ID);
        leader = manager.newCounter(prefix + "leader", TYPE_ID);
        lastLogIndex = manager.newCounter(prefix + "last log index", TYPE_ID);
        committed = manager.newCounter(prefix + "committed index", TYPE_ID);
        applied = manager.newCounter(prefix + "applied index", TYPE_ID);
        backPressure = manager.newCounter(prefix + "ingress back-pressure events", TYPE_ID);
        sendsRetried = manager.newCounter(prefix + "sends retried", TYPE_ID);
        sendsDropped = manager.newCounter(prefix + "sends dropped", TYPE_ID);
        errors = manager.newCounter(prefix + "errors", TYPE_ID);
    }

    /** @return a new counter, e.g. the match index of a peer */
    AtomicCounter newCounter(final String label)
    {
        return manager.newCounter(label, TYPE_ID);
    }

    /** @return the counters, for tools that list them */
    public CountersManager manager()
    {
        return manager;
    }

    @Override
    public void close()
    {
        term.close();
    }
}
