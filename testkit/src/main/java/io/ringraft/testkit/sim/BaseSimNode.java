package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.EngineConfig;
import io.ringraft.engine.TestControl;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.testkit.history.OpKind;
import io.ringraft.testkit.kv.KvCommand;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.Map;

/**
 * What the two kinds of {@link SimNode} share: the node's identity and settings, its skewed local
 * clock, its durable state (a {@link SimLogStorage} and a snapshot store that survive a crash, and
 * that a replaced disk loses), its up/down bookkeeping and its test switches.
 */
abstract class BaseSimNode implements SimNode
{
    final SimCluster cluster;
    final long id;
    /** The node's protocol settings, with its {@link TestControl}. */
    final EngineConfig config;
    final long snapshotEvery;
    final int snapshotChunkBytes;
    private final long clockOffset;
    private final double clockRate;
    SimLogStorage storage = new SimLogStorage();
    InMemorySnapshotStore snapshots = new InMemorySnapshotStore();
    KvStateMachine stateMachine;
    boolean up;
    int crashes;
    int snapshotsInstalled;

    BaseSimNode(final SimCluster cluster, final long id, final EngineConfig config, final long clockOffset, final double clockRate,
        final long snapshotEvery, final int snapshotChunkBytes)
    {
        this.cluster = cluster;
        this.id = id;
        this.config = config;
        this.clockOffset = clockOffset;
        this.clockRate = clockRate;
        this.snapshotEvery = snapshotEvery;
        this.snapshotChunkBytes = snapshotChunkBytes;
    }

    @Override
    public final long id()
    {
        return id;
    }

    @Override
    public final boolean isUp()
    {
        return up;
    }

    @Override
    public final int crashes()
    {
        return crashes;
    }

    @Override
    public final long localClock(final long simNanos)
    {
        return clockOffset + (long)(simNanos * clockRate);
    }

    /**
     * @param localNanos a time on this node's clock
     * @return the first simulated time at which the node's clock reads {@code localNanos} or later
     */
    final long simTimeOf(final long localNanos)
    {
        long sim = (long)Math.ceil((localNanos - clockOffset) / clockRate);
        while (localClock(sim) < localNanos)
        {
            sim++;
        }
        return sim;
    }

    @Override
    public final SimLogStorage log()
    {
        return storage;
    }

    @Override
    public final KvStateMachine stateMachine()
    {
        return stateMachine;
    }

    @Override
    public final int snapshotsInstalled()
    {
        return snapshotsInstalled;
    }

    @Override
    public final TestControl testControl()
    {
        return config.testControl();
    }

    @Override
    public final void replaceDisk()
    {
        requireDown();
        storage = new SimLogStorage();
        snapshots = new InMemorySnapshotStore();
    }

    @Override
    public final void seed(final NodeState state, final Membership voters)
    {
        if (up || crashes > 0 || storage.lastLogId().index() > 0 || snapshots.latest() != null)
        {
            throw new IllegalStateException("node " + id + " can start from a hand-built state only before it ever ran");
        }
        storage.saveVote(state.vote());
        final LogId point = state.snapshot();
        if (point != null)
        {
            final KvStateMachine builder = new KvStateMachine();
            final ExpandableArrayBuffer response = new ExpandableArrayBuffer(64);
            long index = point.index() - state.snapshotData().size();
            for (final Map.Entry<String, String> e : state.snapshotData().entrySet())
            {
                final byte[] put = new KvCommand(OpKind.PUT, 0, ++index, e.getKey(), e.getValue(), null).encode();
                builder.apply(index, point.term(), new UnsafeBuffer(put), 0, put.length, response);
            }
            builder.onBatchEnd(point.index(), point.term());
            try (SnapshotWriter writer = snapshots.create(new SnapshotMeta(point, voters, "N" + id + "-initial-" + point, -1, 0)))
            {
                builder.buildSnapshot(writer);
                writer.commit();
            }
            storage.purgePrefix(point);
        }
        for (final Entry entry : state.entries(term -> Entry.membership(term, 1, voters)))
        {
            cluster.checker().onAppend(this, entry);
            storage.append(entry);
        }
        storage.flush();
    }

    /** @throws IllegalStateException unless the node is up */
    final void requireUp()
    {
        if (!up)
        {
            throw new IllegalStateException("node " + id + " is down");
        }
    }

    /** @throws IllegalStateException unless the node is down */
    final void requireDown()
    {
        if (up)
        {
            throw new IllegalStateException("node " + id + " is up");
        }
    }

    /** @return the metrics of the node while down: its durable state */
    final NodeMetrics downMetrics()
    {
        final SnapshotMeta latest = snapshots.latest();
        return new NodeMetrics(id, false, null, storage.readVote().term(), storage.readVote(), Vote.NO_NODE, storage.lastLogId(),
            storage.durableLastLogId(), 0, 0, null, storage.lastPurgedLogId(), latest == null ? null : latest.lastIncluded(), Map.of());
    }
}
